"""Source event ids already emitted, in SQLite under data_dir, so a repeat is dropped across restarts.

Ids move through three states: reserved (emitted, not yet acknowledged by the broker; memory only),
confirmed (acknowledged; buffered), flushed (on disk). A crash loses only reserved and buffered ids; their
source offsets are not committed either, so the events come again and are emitted again: at-least-once,
and downstream dedups by record_id.

Each id keeps a digest of its event's content, so the same id with other content (a "correction" that
re-uses the id) is told apart from a retry and refused instead of dropped. Ids stored before digests
existed have none and count as the same content.

The worker looks a batch's ids up on disk at once (``prefetch``: one query per system and up to 512 ids instead
of one per id, ≈ 2 µs an id instead of ≈ 5); ``lookup`` then answers them from memory until the next ``flush``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from services.ingest.service_layer.ports import NOT_SEEN

Key = tuple[str, str]
_PREFETCH_CHUNK = 512  # ids per query (SQLite's variables: 999 in old builds)


class SqliteDedupStore:
    def __init__(self, path: Path, flush_every: int = 500) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One connection; the lock makes it safe from the web server's worker threads as well.
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS emitted (system TEXT NOT NULL, event_id TEXT NOT NULL, "
            "first_seen REAL NOT NULL, PRIMARY KEY (system, event_id)) WITHOUT ROWID")
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(emitted)")}
        if "digest" not in columns:  # a store from before content digests
            self._db.execute("ALTER TABLE emitted ADD COLUMN digest TEXT")
        self._lock = threading.Lock()
        self._reserved: dict[Key, str | None] = {}
        self._confirmed: dict[Key, tuple[float, str | None]] = {}
        self._stored: dict[Key, str | object | None] = {}  # what ``prefetch`` read from disk: digest or NOT_SEEN
        self._flush_every = flush_every

    def seen(self, key: Key) -> bool:
        return self.lookup(key) is not NOT_SEEN

    def lookup(self, key: Key) -> str | object | None:
        """``NOT_SEEN``, else the digest stored with the id (None: stored before digests existed)."""
        with self._lock:
            if key in self._reserved:
                return self._reserved[key]
            if key in self._confirmed:
                return self._confirmed[key][1]
            if key in self._stored:
                return self._stored[key]
            row = self._db.execute("SELECT digest FROM emitted WHERE system = ? AND event_id = ?", key).fetchone()
            return NOT_SEEN if row is None else row[0]

    def prefetch(self, keys: Iterable[Key]) -> None:
        """Reads what the disk holds for these ids (a batch's) at once; ``lookup`` of each answers from memory until
        the next ``prefetch``, ``flush`` or ``prune`` (the only writers of the table: what they change is read again).
        Ids reserved or confirmed are answered from memory anyway."""
        by_system: dict[str, list[str]] = {}
        for system, event_id in keys:
            by_system.setdefault(system, []).append(event_id)
        with self._lock:
            self._stored = {}
            for system, ids in by_system.items():
                for start in range(0, len(ids), _PREFETCH_CHUNK):
                    chunk = ids[start:start + _PREFETCH_CHUNK]
                    # as many marks as the next power of two (the last id repeated): a few statements, each prepared
                    # once and kept by sqlite3's statement cache, instead of one per length
                    marks = 1 << (len(chunk) - 1).bit_length()
                    rows = self._db.execute(f"SELECT event_id, digest FROM emitted WHERE system = ? "  # noqa: S608
                                            f"AND event_id IN ({','.join('?' * marks)})",
                                            (system, *chunk, *[chunk[-1]] * (marks - len(chunk)))).fetchall()
                    # only once the disk has answered: an id whose query failed is asked again by ``lookup``
                    self._stored.update(dict.fromkeys(((system, event_id) for event_id in chunk), NOT_SEEN))
                    self._stored.update(((system, event_id), digest) for event_id, digest in rows)

    def reserve(self, key: Key, digest: str | None = None) -> None:
        with self._lock:
            self._reserved[key] = digest

    def release(self, key: Key) -> None:
        with self._lock:
            self._reserved.pop(key, None)

    def confirm(self, key: Key) -> None:
        self.confirm_all([key])

    def confirm_all(self, keys: list[Key]) -> None:
        """``confirm`` for each key (a batch's): one lock and one clock read."""
        now = time.time()
        with self._lock:
            for key in keys:
                self._confirmed[key] = (now, self._reserved.pop(key, None))
            full = len(self._confirmed) >= self._flush_every
        if full:
            self.flush()

    def flush(self) -> int:
        with self._lock:
            rows = [(s, e, t, d) for (s, e), (t, d) in self._confirmed.items()]
            self._confirmed.clear()
            self._stored = {}
            if rows:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT OR IGNORE INTO emitted (system, event_id, first_seen, digest) "
                                     "VALUES (?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
            return len(rows)

    def prune(self, older_than_s: float) -> int:
        """Forgets ids first seen before the cut-off (source topics keep 30 days; sources resend rarely)."""
        with self._lock:
            self._stored = {}
            cursor = self._db.execute("DELETE FROM emitted WHERE first_seen < ?", (time.time() - older_than_s,))
            return cursor.rowcount

    def close(self) -> None:
        self.flush()
        with self._lock:
            self._db.close()


class MemoryDedupStore:
    """The same contract without a disk, for tests and benchmarks."""

    def __init__(self) -> None:
        self.reserved: set[Key] = set()
        self.confirmed: set[Key] = set()
        self.digests: dict[Key, str | None] = {}

    def seen(self, key: Key) -> bool:
        return key in self.reserved or key in self.confirmed

    def lookup(self, key: Key) -> str | object | None:
        return self.digests.get(key) if self.seen(key) else NOT_SEEN

    def prefetch(self, keys: Iterable[Key]) -> None:
        pass  # every id is in memory

    def reserve(self, key: Key, digest: str | None = None) -> None:
        self.reserved.add(key)
        self.digests[key] = digest

    def release(self, key: Key) -> None:
        self.reserved.discard(key)
        if key not in self.confirmed:
            self.digests.pop(key, None)

    def confirm(self, key: Key) -> None:
        self.reserved.discard(key)
        self.confirmed.add(key)

    def confirm_all(self, keys: list[Key]) -> None:
        for key in keys:
            self.confirm(key)

    def flush(self) -> int:
        return 0
