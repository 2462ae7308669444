"""SQLite persistence of linkage state (via SQLAlchemy) with a transactional outbox (the service layer's Store).

Each batch's state changes and the messages they cause are written in one transaction; messages leave the
outbox only after the broker acknowledged them, so a crash between the two re-sends rather than loses.

``load`` brings persons, births, reviews and the deletion records into memory and attaches the state to the store
for the rest: source facts and processed records (rows of ``state``) and the dependency index (``deps``, written
in the batch's transaction with the rows) are read when a change reaches them (issue 19: they are most of
linkage's state and grow with every record); of the persons, only the children and merged aliases stay after the
load has built the indexes from all of them: the adults' ``person`` rows are read when something names them. Reads
go through the batches' connection, in one read transaction per batch: the first read of a batch begins it and the
batch's ``commit`` ends it before its write transaction begins, so every read sees what was committed (only this
connection writes) and the write takes its snapshot after the checkpoints of the batch's time (below).

With ``write_behind`` (the worker's default) the batch's transaction is written by a thread of its own, over a
connection of its own, while the next batch is matched: reads then see the transactions still in hand through what
was handed over (``row``, ``holders``), and a batch's messages wait for ``durable()`` (docs/linkage.md,
"Write-behind").
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
from collections import defaultdict, deque
from collections.abc import Callable, Collection, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from sqlalchemy import Engine, create_engine, event, text

from services.linkage.domain.state import ON_DEMAND, TABLES, LinkageState
from services.linkage.service_layer.ports import Message

# The outbox's value column is NOT NULL (older databases): a tombstone is stored as b"" with this marker header.
TOMBSTONE = "tsunagu.outbox.tombstone"
WAL_CHECKPOINT_PAGES = 10_000
# With checkpoints on their own thread (``Checkpointer``), the batches' connection checkpoints only past this many
# pages of WAL: a backstop for a checkpointer that fell behind (a PASSIVE checkpoint that ran while a batch wrote
# leaves the WAL to grow; the writer's own checkpoint, with no write beside it, lets the next write start it over).
# SQLite starts the WAL over only in a write transaction whose snapshot was taken when every frame had been copied
# (its read mark 0): so a batch's write transaction begins afresh, never inside the batch's reads, which began
# before the thread's round had copied the last commit. Written in the reads' transaction (twentieth pass), the WAL
# started over almost only after this backstop's checkpoint in the batches' COMMIT, fsyncs included: ≈ 4 % of linkage's
# samples at scale 1.0, 0.1 % since (issue 19, twenty-first pass). A PASSIVE round must still end before the next
# batch writes, which with batches back to back is seldom: until the twenty-fourth pass this backstop finished
# nearly every checkpoint; since, the thread finishes them past ``FINISH_FROM_PAGES`` and this is the backstop again.
WAL_BACKSTOP_PAGES = 40_000
# Past this many pages the checkpoint thread finishes its round itself (``Checkpointer._finish``): with batches back
# to back a PASSIVE round nearly never ends before the next batch writes, so until the twenty-fourth pass the WAL
# grew to the backstop every few seconds and the batches' COMMIT finished the checkpoint, syncing a database file
# holding every page the thread had copied since the last sync: at scale 1.0 ≈ 0.6 s every ≈ 6 s in `fdatasync`
# and the copy, on the batches' thread (issue 19).
FINISH_FROM_PAGES = WAL_BACKSTOP_PAGES // 4
# How long the thread's finishing checkpoint waits for the batch in hand to commit (or a reader on an older snapshot,
# another process's, to end); the batches wait for it meanwhile, and it gives up and tries at the next round.
FINISH_WAIT_S = 1.0
# How long ``Checkpointer.stop`` waits for the round in hand (a copy of the WAL's pages, at most a few seconds).
STOP_WAIT_S = 30.0
# The batches' page cache grows with the database, to this share of it (up to ``cache_max_kib``), looked at every
# CACHE_EVERY commits: each row's B-tree descents otherwise read their pages from the file once the interior pages
# no longer fit (scale 1.0, ≈ 4.7 GB of state: `pread` in the batches' writes ≈ 4 % of linkage's samples with
# 16 MiB, 0.6 % with the cache grown; the on-demand reads' own leaf pages stay a read each; issue 19, twenty-first
# pass). 1/64: the interior pages of the state's B-trees are ≈ 1–2 % of the file.
CACHE_SHARE = 64
CACHE_EVERY = 256
# Longest a read of the whole database, the end, or a batch's messages wait for the writer thread's transactions
# (``write_behind``; one batch's takes ≈ 40 ms, its lock waits at most the connection's 5 s busy timeout): past it
# the store is taken as failed and the worker stops, to start again from what was committed.
WRITE_WAIT_S = 120.0

log = logging.getLogger("tsunagu.linkage.store")


def wal_restarts(path: str | Path) -> int:
    """SQLite's own count of the times the WAL of the database at ``path`` started over: its header's checkpoint
    sequence (bytes 12–15, one more at each start), 0 while there is no WAL."""
    try:
        with open(f"{path}-wal", "rb") as wal:
            head = wal.read(16)
    except FileNotFoundError:
        return 0
    return int.from_bytes(head[12:16], "big") if len(head) == 16 else 0


class Checkpointer:
    """SQLite's WAL checkpoints on a thread of their own, every ``interval_s``, over a connection of their own.

    A checkpoint copies the pages changed since the last into the database file and syncs both files; on the batches'
    connection (SQLite's automatic checkpoint) it ran inside a batch's ``COMMIT``, ≈ 9 % of the worker's wall time at
    scale 0.05 with the CPU of matching waiting for it. Here the sqlite3 module lets go of the GIL while SQLite
    works, so a checkpoint runs beside the next batch's matching. PASSIVE: it waits for no reader and no writer and
    never blocks the batches (WAL mode lets a checkpoint and a writer run together). A failure is logged with its
    type (no values) and the next round tries again; the batches' connection keeps a backstop
    (``WAL_BACKSTOP_PAGES``).

    The WAL starts over only when a write begins with every page copied, so a round begins right after a batch's
    commit (``committed``; or one more interval later when none comes): it then has the next batch's matching to copy
    the pages in before that batch writes. Once the WAL holds ``finish_from_pages``, the round finishes the
    checkpoint itself (``_finish``) rather than leave it to the backstop in a batch's ``COMMIT``."""

    def __init__(self, path: str, interval_s: float, on_round: Callable[[bool, int], None] | None = None,
                 finish_from_pages: int = FINISH_FROM_PAGES) -> None:
        self.path = path
        self.interval_s = interval_s
        self.finish_from_pages = finish_from_pages
        self.finished = 0  # rounds that finished a checkpoint the batches' writes kept a PASSIVE one from finishing
        # told each round's outcome (True: ok) and the WAL's pages then, from this thread: the worker's metrics
        self.on_round = on_round
        self.rounds = 0  # checkpoints run
        self.pages = 0  # the WAL's pages at the last round (SQLite's count: it falls when the WAL started over)
        self.restarts = 0  # the times the WAL started over since the thread began, at the last round (``wal_restarts``)
        self.most_pages = 0  # the largest WAL a round found
        self._stop = threading.Event()
        self._commit = threading.Event()
        self._thread = threading.Thread(target=self._run, name="linkage-wal-checkpoint", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def committed(self) -> None:
        """A batch's transaction was committed (the batches' thread): the round that is due begins now."""
        self._commit.set()

    def stop(self) -> None:
        self._stop.set()
        self._commit.set()
        self._thread.join(timeout=STOP_WAIT_S)  # the round in hand: a FULL checkpoint waits at most FINISH_WAIT_S
        if self._thread.is_alive():
            log.warning("WAL checkpoint thread still in a round after %.0f s; left to end with the process",
                        STOP_WAIT_S)

    def _run(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=FINISH_WAIT_S)
        database = os.open(self.path, os.O_RDONLY)  # to write out the pages copied, before a finish (``_finish``)
        first = wal_restarts(self.path)
        try:
            while not self._stop.wait(self.interval_s):  # the thread's lifetime: until ``stop``, one round a period
                self._commit.clear()
                self._commit.wait(self.interval_s)  # the next commit, at most one more interval
                if self._stop.is_set():
                    break
                try:
                    _busy, pages, _copied = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if pages >= self.finish_from_pages:
                        busy, pages, _copied = self._finish(db, database)
                        self.finished += not busy
                    self.rounds += 1
                    ok = True
                    self.pages, self.most_pages = pages, max(self.most_pages, pages)
                    self.restarts = wal_restarts(self.path) - first
                except (sqlite3.Error, OSError) as exc:
                    log.warning("WAL checkpoint failed (%s); tried again in %.1f s", type(exc).__name__,
                                self.interval_s)
                    ok = False
                if self.on_round is not None:
                    self.on_round(ok, self.pages)
        finally:
            os.close(database)
            db.close()

    @staticmethod
    def _finish(db: sqlite3.Connection, database: int) -> tuple[int, int, int]:
        """Ends a checkpoint with every page copied and the database file synced, so that the next batch's write
        starts the WAL over. A PASSIVE checkpoint syncs the database file only when no write came during its copy;
        a FULL one keeps the writers out until it has copied the last page and synced. Before it, the pages copied
        so far are written out (``fdatasync`` on the file, under no lock) and those written meanwhile copied (PASSIVE
        again), so the batches wait only for the last few pages and two short syncs. Returns FULL's row (busy 1: the
        batch in hand, or a reader on an older snapshot, outlasted ``FINISH_WAIT_S``; the next round tries again)."""
        os.fdatasync(database)
        db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        busy, pages, copied = db.execute("PRAGMA wal_checkpoint(FULL)").fetchone()
        return int(busy), int(pages), int(copied)


OutboxRow = tuple[int, str, bytes | None, bytes, str]  # seq, topic, key, value (b"": a tombstone), headers


def _outbox_row(seq: int, m: Message) -> OutboxRow:
    if m[2] is None:
        headers = orjson.dumps({**m[3], TOMBSTONE: "1"}).decode()
    else:
        headers = orjson.dumps(m[3]).decode() if m[3] else "{}"  # read back by json.loads: the same headers
    return seq, m[0], m[1], m[2] if m[2] is not None else b"", headers


# A batch's transaction as one statement per kind of change, the rows bound as one JSON array (``WriteBehind``): SQLite
# works through the array without the GIL, where ``executemany`` takes it back for every row's parameters.
_UPSERT_ROWS = ("INSERT INTO state (tbl, k, v) SELECT value->>0, value->>1, value->>2 FROM json_each(?) WHERE true "
                "ON CONFLICT (tbl, k) DO UPDATE SET v = excluded.v")
_DELETE_ROWS = "DELETE FROM state WHERE (tbl, k) IN (SELECT value->>0, value->>1 FROM json_each(?))"
_DROP_TOKENS = "DELETE FROM deps WHERE token IN (SELECT value FROM json_each(?))"
_REMOVE_DEPS = "DELETE FROM deps WHERE (token, k) IN (SELECT value->>0, value->>1 FROM json_each(?))"
_ADD_DEPS = "INSERT OR IGNORE INTO deps (token, k) SELECT value->>0, value->>1 FROM json_each(?)"
# key and value as the bytes they are (CAST of the UTF-8 text: the same bytes as a bound ``bytes``)
_OUTBOX_ROWS = ("INSERT INTO outbox (seq, topic, k, v, h) SELECT value->>0, value->>1, CAST(value->>2 AS BLOB), "
                "CAST(value->>3 AS BLOB), value->>4 FROM json_each(?)")
_OUTBOX_ROW = "INSERT INTO outbox (seq, topic, k, v, h) VALUES (?, ?, ?, ?, ?)"
_CLEAR_OUTBOX = "DELETE FROM outbox WHERE seq IN (SELECT value FROM json_each(?))"


def _array(rows: Collection[Any]) -> str | None:
    return orjson.dumps(rows).decode() if rows else None


def _outbox_json(rows: list[OutboxRow]) -> str | None:
    """The outbox rows as one JSON array, key and value as text; None when one is not UTF-8 (a dead letter keeps
    the source's bytes as they came): then the rows go one by one (``executemany``)."""
    try:
        return _array([(seq, topic, key.decode() if key is not None else None, value.decode(), headers)
                       for seq, topic, key, value, headers in rows])
    except UnicodeDecodeError:
        return None


class _Write(NamedTuple):
    """One transaction handed to the writer thread, and what the batches read of it until it is committed."""
    done: Future[None]
    rows: dict[tuple[str, str], str | None]  # (table, key) → the row's JSON, None: deleted
    dropped: frozenset[str]  # tokens whose holders all went, then (token → keys) removed, then added
    removed: dict[str, set[str]]
    added: dict[str, set[str]]


def _by_token(pairs: list[tuple[str, str]]) -> dict[str, set[str]]:
    grouped: defaultdict[str, set[str]] = defaultdict(set)
    for token, key in pairs:
        grouped[token].add(key)
    return grouped


def _from_outbox(topic: str, key: bytes | None, value: bytes, h: str) -> Message:
    headers = json.loads(h)
    return topic, key, None if headers.pop(TOMBSTONE, None) else value, headers


class SqliteStore:
    def __init__(self, url: str, cache_kib: int = 16384, checkpoint_interval_s: float = 0.0,
                 on_checkpoint: Callable[[bool, int], None] | None = None, cache_max_kib: int = 0,
                 write_behind: bool = False) -> None:
        """``checkpoint_interval_s`` > 0 (a file database): WAL checkpoints on a thread of their own
        (``Checkpointer``, each round's outcome told to ``on_checkpoint``) every that many seconds; 0: in the
        batches' ``COMMIT``, SQLite's own way. ``cache_max_kib`` above ``cache_kib``: the page cache grows with
        the database (``CACHE_SHARE``) up to it. ``write_behind`` (a file database): each batch's transaction is
        written by a thread of its own while the next batch is matched (``commit``, ``durable``)."""
        path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else None
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, future=True)

        @event.listens_for(self.engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        with self.engine.begin() as conn:
            conn.execute(text("CREATE TABLE IF NOT EXISTS state (tbl TEXT NOT NULL, k TEXT NOT NULL, "
                              "v TEXT NOT NULL, PRIMARY KEY (tbl, k))"))
            conn.execute(text("CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                              "topic TEXT NOT NULL, k BLOB, v BLOB NOT NULL, h TEXT NOT NULL DEFAULT '{}')"))
            has_deps = conn.execute(text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'deps'")).first()
            if has_deps is None:  # a store written before the index was stored: built from the source facts, once
                conn.execute(text("CREATE TABLE deps (token TEXT NOT NULL, k TEXT NOT NULL, "
                                  "PRIMARY KEY (token, k)) WITHOUT ROWID"))
                pairs = [{"t": token, "k": key} for key, v in
                         conn.execute(text("SELECT k, v FROM state WHERE tbl = 'source_fact'"))
                         for token in orjson.loads(v).get("deps", ())]
                if pairs:
                    conn.execute(text("INSERT OR IGNORE INTO deps (token, k) VALUES (:t, :k)"), pairs)
        # the state's own connection: on-demand reads (outside any transaction: they see what was committed) and
        # the batches' transactions (sqlite3 itself: SQLAlchemy's per-row parameter handling cost more than the
        # writes); its page cache holds the hot part of the indexes
        self._raw = self.engine.raw_connection()
        db: Any = self._raw.driver_connection
        self._db = db
        db.isolation_level = None  # transactions begun and ended below, explicitly
        db.execute(f"PRAGMA cache_size = -{int(cache_kib)}")
        # WAL checkpoints every 10 000 pages (≈ 40 MiB of WAL) instead of SQLite's 1 000: the batches rewrite the
        # same index pages again and again, and a checkpoint copies each page once however often it changed
        # (COMMIT's CPU at scale 0.05: 3.8 → 1.6 s; docs/linkage.md, "Worker CPU, eighth pass")
        self.checkpointer: Checkpointer | None = None
        if checkpoint_interval_s > 0 and path not in (None, "", ":memory:"):
            db.execute(f"PRAGMA wal_autocheckpoint = {WAL_BACKSTOP_PAGES}")
            self.checkpointer = Checkpointer(str(path), checkpoint_interval_s, on_checkpoint)
            self.checkpointer.start()
        else:
            db.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
        self._holders_sql: dict[int, str] = {}
        self.cache_kib, self._cache_max_kib, self._commits = int(cache_kib), max(int(cache_max_kib), int(cache_kib)), 0
        self._page_kib = int(db.execute("PRAGMA page_size").fetchone()[0]) // 1024
        # the writer thread (``write_behind``): its own connection, the transactions it has in hand, oldest first
        self._writer: ThreadPoolExecutor | None = None
        self._wdb: sqlite3.Connection | None = None
        self._writes: deque[_Write] = deque()
        self._failed: BaseException | None = None
        self._next_seq = 0
        self.read_in_hand = 0  # rows read from a transaction the writer had not committed yet
        if write_behind and path not in (None, "", ":memory:"):
            wdb = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            wdb.execute("PRAGMA synchronous=NORMAL")
            # a statement of many rows keeps a statement journal (to undo itself alone): in memory, not a temp file
            wdb.execute("PRAGMA temp_store=MEMORY")
            wdb.execute(f"PRAGMA cache_size = -{int(cache_kib)}")
            wdb.execute(f"PRAGMA wal_autocheckpoint = "
                        f"{WAL_BACKSTOP_PAGES if self.checkpointer is not None else WAL_CHECKPOINT_PAGES}")
            self._wdb = wdb
            self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="linkage-writer")
            self._next_seq = int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()[0]) + 1
            self.end_reads()
        self._size_cache()

    def load(self, state: LinkageState) -> int:
        """Loads what stays in memory into ``state`` (fresh) and attaches it to the store for the rest."""
        self.flush()
        state.attach(self)
        rows = 0
        with self.engine.connect() as conn:
            for table in TABLES:  # persons first: the other tables' indexes refer to them
                if table in ON_DEMAND:
                    continue
                for key, value in conn.execute(text("SELECT k, v FROM state WHERE tbl = :t"), {"t": table}):
                    state.load_row(table, key, orjson.loads(value))  # orjson: one string per repeated key
                    rows += 1
        state.end_load()
        self.end_reads()  # the indexes' key filters read the store: not held open until the first batch
        return rows

    def loaded(self) -> LinkageState:
        """A fresh state from what is stored (for inspection and tests)."""
        state = LinkageState()
        self.load(state)
        return state

    # --- the state's on-demand reads (domain/state.py ``Backing``) --------------------------------------------
    def _reading(self) -> Any:
        """The connection, in a read transaction: the first read after a commit begins one (deferred: a shared
        lock, no write lock), the next ``commit`` or ``acknowledge`` ends it before it writes. One statement
        outside a transaction began and ended a read transaction of its own each time (two file locks, the WAL
        index checked; ≈ 0.7 reads per record, the locks ≈ 3 % of the worker's samples at scale 0.05; issue 19,
        twentieth pass). Only this connection writes, so the snapshot is always the last commit."""
        db = self._db
        if not db.in_transaction:
            db.execute("BEGIN")
        return db

    def end_reads(self) -> None:
        """Ends a read transaction that no write follows (a caller that only read): the WAL's checkpoints are not
        held at its snapshot."""
        if self._db.in_transaction:
            self._db.execute("COMMIT")

    def _begin_write(self) -> None:
        """A write transaction begun afresh: the batch's reads ended first (only this connection writes, so nothing
        they saw changed), so that its snapshot is taken now and, when the checkpoint thread has copied every page
        meanwhile, SQLite starts the WAL over from its first page (module header, ``WAL_BACKSTOP_PAGES``)."""
        db = self._db
        if db.in_transaction:
            db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")

    def row(self, table: str, key: str) -> Any | None:
        if self._writes:  # a transaction the writer has in hand holds the row as it will be
            self._reap()
            for write in reversed(self._writes):
                if (table, key) in write.rows:
                    self.read_in_hand += 1
                    value = write.rows[table, key]
                    return orjson.loads(value) if value is not None else None
        found = self._reading().execute("SELECT v FROM state WHERE tbl = ? AND k = ?", (table, key)).fetchone()
        return orjson.loads(found[0]) if found is not None else None

    def rows(self, table: str) -> Iterator[tuple[str, Any]]:
        self.flush()
        for key, value in self._reading().execute("SELECT k, v FROM state WHERE tbl = ? ORDER BY k", (table,)):
            yield key, orjson.loads(value)

    def rows_after(self, table: str, after: str, limit: int) -> list[tuple[str, Any]]:
        self.flush()
        found = self._reading().execute("SELECT k, v FROM state WHERE tbl = ? AND k > ? ORDER BY k LIMIT ?",
                                        (table, after, limit)).fetchall()
        return [(key, orjson.loads(value)) for key, value in found]

    def keys(self, table: str) -> Iterable[str]:
        self.flush()
        return (key for (key,) in self._reading().execute("SELECT k FROM state WHERE tbl = ?", (table,)))

    def count(self, table: str) -> int:
        self.flush()
        return int(self._reading().execute("SELECT COUNT(*) FROM state WHERE tbl = ?", (table,)).fetchone()[0])

    def tokens(self) -> Iterable[str]:
        self.flush()
        return (token for (token,) in self._reading().execute("SELECT DISTINCT token FROM deps"))

    def token_count(self) -> int:
        self.flush()
        return int(self._reading().execute("SELECT COUNT(DISTINCT token) FROM deps").fetchone()[0])

    def holders(self, tokens: Collection[str]) -> Iterable[tuple[str, str]]:
        if self._writes:
            self._reap()
        sql = self._holders_sql.get(len(tokens))
        if sql is None:
            marks = ", ".join("?" * len(tokens))  # placeholders only: the tokens are bound parameters
            sql = self._holders_sql[len(tokens)] = f"SELECT token, k FROM deps WHERE token IN ({marks})"  # noqa: S608
        found = self._reading().execute(sql, tuple(tokens)).fetchall()
        if not self._writes:
            return found
        holders = _by_token(found)  # with the changes of the transactions in hand on top, in their order
        for write in self._writes:
            for token in tokens:
                if token in write.dropped:
                    holders.pop(token, None)
                gone, more = write.removed.get(token), write.added.get(token)
                if gone and token in holders:
                    holders[token] -= gone
                if more:
                    holders[token] |= more
        return [(token, key) for token, keys in holders.items() for key in keys]

    def all_holders(self) -> Iterable[tuple[str, str]]:
        self.flush()
        return self._reading().execute("SELECT token, k FROM deps ORDER BY token, k").fetchall()

    def close(self) -> None:
        if self._writer is not None:
            try:
                self.flush()  # what the writer has in hand is committed before the connections close
            finally:
                self._writer.shutdown(wait=True)
                self._writer = None
                if self._wdb is not None:
                    self._wdb.close()
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self._raw.close()
        self.engine.dispose()

    def commit(self, state: LinkageState, messages: list[Message]) -> list[tuple[int, Message]]:
        """Persists what changed and the messages to send; returns the messages with their outbox sequence.
        Written behind (``write_behind``): handed to the writer thread and returned at once; until it is committed
        the rows and index changes are read from what was handed over (``row``, ``holders``), and the messages
        must not leave before ``durable()`` says so."""
        if self._failed is not None:
            raise self._failed
        dirty = state.take_dirty()
        dropped, removed, added = state.deps.take_changes()
        upserts = [(t, k, orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS).decode())
                   for t, rows in dirty.items() for k, v in rows.items() if v is not None]
        deletes = [(t, k) for t, rows in dirty.items() for k, v in rows.items() if v is None]
        if self._writer is not None:
            return self._write_behind(state, upserts, deletes, dropped, removed, added, messages)
        sent: list[tuple[int, Message]] = []
        db = self._db
        self._begin_write()
        try:
            if upserts:
                db.executemany("INSERT INTO state (tbl, k, v) VALUES (?, ?, ?) "
                               "ON CONFLICT (tbl, k) DO UPDATE SET v = excluded.v", upserts)
            if deletes:
                db.executemany("DELETE FROM state WHERE tbl = ? AND k = ?", deletes)
            if dropped:
                db.executemany("DELETE FROM deps WHERE token = ?", [(t,) for t in dropped])
            if removed:
                db.executemany("DELETE FROM deps WHERE token = ? AND k = ?", removed)
            if added:
                db.executemany("INSERT OR IGNORE INTO deps (token, k) VALUES (?, ?)", added)
            if messages:
                first = int(db.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()[0]) + 1
                sent = list(enumerate(messages, start=first))
                db.executemany("INSERT INTO outbox (seq, topic, k, v, h) VALUES (?, ?, ?, ?, ?)",
                               [_outbox_row(seq, m) for seq, m in sent])
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        if self.checkpointer is not None:
            self.checkpointer.committed()
        self._commits += 1
        if self._commits % CACHE_EVERY == 0:
            self._size_cache()
        state.committed()
        return sent

    def _write_behind(self, state: LinkageState, upserts: list[tuple[str, str, str]], deletes: list[tuple[str, str]],
                      dropped: list[str], removed: list[tuple[str, str]], added: list[tuple[str, str]],
                      messages: list[Message]) -> list[tuple[int, Message]]:
        assert self._writer is not None
        self._reap()
        sent = list(enumerate(messages, start=self._next_seq))
        self._next_seq += len(messages)
        outbox = [_outbox_row(seq, m) for seq, m in sent]
        outbox_json = _outbox_json(outbox)
        statements = [(sql, rows) for sql, rows in (
            (_UPSERT_ROWS, _array(upserts)), (_DELETE_ROWS, _array(deletes)), (_DROP_TOKENS, _array(dropped)),
            (_REMOVE_DEPS, _array(removed)), (_ADD_DEPS, _array(added)), (_OUTBOX_ROWS, outbox_json)) if rows]
        one_by_one = outbox if outbox and outbox_json is None else []
        rows: dict[tuple[str, str], str | None] = {(t, k): v for t, k, v in upserts}
        rows.update(((t, k), None) for t, k in deletes)
        done = self._writer.submit(self._write, statements, one_by_one)
        self._writes.append(_Write(done, rows, frozenset(dropped), _by_token(removed), _by_token(added)))
        self.end_reads()  # the next batch's reads take a snapshot of their own (the checkpoints are not held)
        self._commits += 1
        if self._commits % CACHE_EVERY == 0:
            self._size_cache()
        state.committed()
        return sent

    def _write(self, statements: list[tuple[str, str]], one_by_one: list[OutboxRow]) -> None:
        """The writer thread: one transaction. ``execute`` lets go of the GIL while SQLite works through a
        statement's rows, so the batches' thread matches meanwhile."""
        db = self._wdb
        assert db is not None
        db.execute("BEGIN IMMEDIATE")
        try:
            for sql, rows in statements:
                db.execute(sql, (rows,))
            if one_by_one:
                db.executemany(_OUTBOX_ROW, one_by_one)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        if self.checkpointer is not None:
            self.checkpointer.committed()

    def _reap(self) -> None:
        """Forgets the transactions the writer has committed (the next read sees them in the database); raises what
        made one fail, then and ever after: what the batches applied since is not in the database."""
        if self._failed is not None:
            raise self._failed
        writes, reaped = self._writes, False
        while writes and writes[0].done.done():
            error = writes[0].done.exception()
            if error is not None:
                self._failed = error
                log.error("linkage state not written (%s): the worker stops; what was committed is read again",
                          type(error).__name__)
                raise error
            writes.popleft()
            reaped = True
        if reaped:
            self.end_reads()  # a snapshot from before the commit would miss what was just forgotten

    def flush(self) -> None:
        """Waits for every transaction handed to the writer (a read of the whole database, a restart, the end)."""
        if not self._writes:
            return
        for write in list(self._writes):
            try:
                write.done.result(timeout=WRITE_WAIT_S)
            except TimeoutError as exc:
                self._failed = TimeoutError(f"linkage's writer thread did not commit a batch's transaction within "
                                            f"{WRITE_WAIT_S:.0f} s")
                log.error("%s: the worker stops; what was committed is read again", self._failed)
                raise self._failed from exc
            except BaseException:
                break  # raised by ``_reap``
        self._reap()

    def durable(self) -> Future[None] | None:
        """The last transaction handed to the writer, to wait for before its messages leave; None when every commit
        is in the database."""
        if self._failed is not None:
            raise self._failed
        return self._writes[-1].done if self._writes else None

    def _size_cache(self) -> None:
        """The page cache at ``CACHE_SHARE`` of the database's size, between ``cache_kib`` and ``cache_max_kib``
        (never shrunk: what it holds stays useful)."""
        if self._cache_max_kib <= self.cache_kib:
            return
        pages = int(self._db.execute("PRAGMA page_count").fetchone()[0])
        want = min(self._cache_max_kib, pages * self._page_kib // CACHE_SHARE)
        if want > self.cache_kib:
            if self._writer is not None and self._wdb is not None:
                # only the writer's: the batches' reads begin a read transaction after each commit, and SQLite
                # empties a connection's page cache when another connection wrote since its last one
                self._writer.submit(self._wdb.execute, f"PRAGMA cache_size = -{want}")
            else:
                self._db.execute(f"PRAGMA cache_size = -{want}")
            self.cache_kib = want

    def pending(self) -> list[tuple[int, Message]]:
        self.flush()
        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT seq, topic, k, v, h FROM outbox ORDER BY seq")).all()
        return [(int(seq), _from_outbox(topic, key, value, h)) for seq, topic, key, value, h in rows]

    def acknowledge(self, seqs: list[int]) -> None:
        """The broker has these outbox entries: one transaction on the state's connection deletes them."""
        if not seqs:
            return
        if self._writer is not None:
            if self._failed is not None:
                raise self._failed
            self._reap()
            done = self._writer.submit(self._write, [(_CLEAR_OUTBOX, orjson.dumps(seqs).decode())], [])
            self._writes.append(_Write(done, {}, frozenset(), {}, {}))
            return
        db = self._db
        self._begin_write()
        try:
            db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
