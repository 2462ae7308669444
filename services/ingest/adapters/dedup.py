"""Source event ids already emitted, in SQLite under data_dir, so a repeat is dropped across restarts.

Ids move through three states: reserved (emitted, not yet acknowledged by the broker; memory only),
confirmed (acknowledged; buffered), flushed (on disk). A crash loses only reserved and buffered ids; their
source offsets are not committed either, so the events come again and are emitted again: at-least-once,
and downstream dedups by record_id.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

Key = tuple[str, str]


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
        self._lock = threading.Lock()
        self._reserved: set[Key] = set()
        self._confirmed: dict[Key, float] = {}
        self._flush_every = flush_every

    def seen(self, key: Key) -> bool:
        with self._lock:
            if key in self._reserved or key in self._confirmed:
                return True
            row = self._db.execute("SELECT 1 FROM emitted WHERE system = ? AND event_id = ?", key).fetchone()
            return row is not None

    def reserve(self, key: Key) -> None:
        with self._lock:
            self._reserved.add(key)

    def release(self, key: Key) -> None:
        with self._lock:
            self._reserved.discard(key)

    def confirm(self, key: Key) -> None:
        with self._lock:
            self._reserved.discard(key)
            self._confirmed[key] = time.time()
            full = len(self._confirmed) >= self._flush_every
        if full:
            self.flush()

    def flush(self) -> int:
        with self._lock:
            rows = [(s, e, t) for (s, e), t in self._confirmed.items()]
            self._confirmed.clear()
            if rows:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT OR IGNORE INTO emitted VALUES (?, ?, ?)", rows)
                self._db.execute("COMMIT")
            return len(rows)

    def prune(self, older_than_s: float) -> int:
        """Forgets ids first seen before the cut-off (source topics keep 30 days; sources resend rarely)."""
        with self._lock:
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

    def seen(self, key: Key) -> bool:
        return key in self.reserved or key in self.confirmed

    def reserve(self, key: Key) -> None:
        self.reserved.add(key)

    def release(self, key: Key) -> None:
        self.reserved.discard(key)

    def confirm(self, key: Key) -> None:
        self.reserved.discard(key)
        self.confirmed.add(key)

    def flush(self) -> int:
        return 0
