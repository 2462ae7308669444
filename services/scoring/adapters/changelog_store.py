"""Scoring's per-child state: a dict in memory, each change also written to a compacted changelog topic
(``<APP_ID>-child-state-changelog``, partitioned like ``linkage.facts.v1``), from which an instance loads the state
of the partitions it is given. The handlers' StateStore (service_layer/handlers.py), privacy's ForgettingStore and
opt-out's OptOutStore.

Writes are collected while a batch runs and sent by ``flush`` when it ends, one message per child with its state as
it is then (a child's facts arrive together in a backlog: one write instead of one per fact); the worker waits for
the broker's acknowledgement before it commits the batch's input offsets, so the changelog is never behind what the
group has committed. A deletion (削除) is a tombstone, sent even if the child was written in the same batch.

The changelog keeps the format the Faust table wrote (key: the child id as a JSON string; value: the state as
JSON; a tombstone's value null), so a deployment's existing changelog loads unchanged.

Children not used lately are kept **cold**: their state compressed in a spill file on the worker's local disk
(``SpillFile``), with their id, partition and what the clock checks first: nothing of a cold child is in memory,
so the store does not grow with the city beyond the hot set (docs/scoring.md "Memory"). The spill file is a cache
of the changelog, private to the process and gone with it: a restart, a rebalance or a new instance loads the
state from the changelog as before.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson
import zstandard
from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger("tsunagu.scoring")

_DELETED = object()  # pending marker: a tombstone is to be sent

Send = Callable[..., Awaitable[Any]]  # AIOKafkaProducer.send: (topic, value, key=, partition=) → future
TRAIN_SAMPLES = 1000  # states a dictionary of the cold codec is learnt from (≈ 5 MB of JSON, ≈ 0.3 s)
TRAIN_ROUNDS = 4  # dictionaries learnt: from the first 1 000 states, every 10th of the next 10 000, … every 1 000th
DICTIONARY_BYTES = 16 * 1024
LOAD_ROWS = 1000  # rows written to the spill file per transaction while the changelog is loaded
READ_AHEAD_ROWS = 500  # children's rows read by one query (``ChangelogStore.read_ahead``)


class ColdCodec:
    """How a cold child's JSON is kept: zstd (level 1) with a dictionary learnt from this store's own states (every
    state repeats the same keys, kinds, codes and days): 650–1 150 bytes a child instead of ≈ 1 400 with zlib, and
    ≈ 4× faster than zlib both ways. The first dictionary is learnt from the first ``train_samples`` states
    compressed; as those are a drain's first children, with the first kinds of facts, another is learnt from every
    10th of the next 10 × ``train_samples``, and so on ``rounds`` times; states are compressed with the latest, and
    each is decompressed with the one its frame names (none: without). In memory only: the changelog carries plain
    JSON."""

    def __init__(self, train_samples: int = TRAIN_SAMPLES, rounds: int = TRAIN_ROUNDS) -> None:
        self.train_samples, self.rounds = train_samples, rounds
        self.dictionaries = 0  # learnt so far
        self._samples: list[bytes] | None = [] if train_samples > 0 and rounds > 0 else None
        self._every, self._seen = 1, 0  # a sample every ``_every`` states compressed in this round
        self._compressor = zstandard.ZstdCompressor(level=1)
        self._decompressors = {0: zstandard.ZstdDecompressor()}  # by the frame's dictionary id (0: none)

    def compress(self, blob: bytes) -> bytes:
        samples = self._samples
        if samples is not None:
            self._seen += 1
            if self._seen % self._every == 0:
                samples.append(blob)
                if len(samples) >= self.train_samples:
                    self._train(samples)
        return self._compressor.compress(blob)

    def decompress(self, blob: bytes) -> bytes:
        decompressors = self._decompressors
        chosen = decompressors[zstandard.get_frame_parameters(blob).dict_id] if len(decompressors) > 1 \
            else decompressors[0]
        data: bytes = chosen.decompress(blob)
        return data

    def _train(self, samples: list[bytes]) -> None:
        round_ = len(self._decompressors)  # this dictionary's id: 1, 2, … (0 is no dictionary)
        self._samples = [] if round_ < self.rounds else None
        self._every, self._seen = self._every * 10, 0
        try:
            dictionary = zstandard.train_dictionary(DICTIONARY_BYTES, list[bytes | bytearray | memoryview](samples),
                                                    dict_id=round_)
        except zstandard.ZstdError:  # too few distinct samples to learn from: go on as before
            log.info("cold states: no compression dictionary could be learnt (round %d)", round_)
            self._samples = None
            return
        self._compressor = zstandard.ZstdCompressor(level=1, dict_data=dictionary)
        self._decompressors[round_] = zstandard.ZstdDecompressor(dict_data=dictionary)
        self.dictionaries += 1


class SpillFile:
    """Where cold children are kept: a private SQLite database on the worker's local disk — SQLite's *temporary*
    database, created in its temporary directory (``SQLITE_TMPDIR``, else ``TMPDIR``, ``/var/tmp``, ``/usr/tmp``,
    ``/tmp``) and unlinked as soon as it is opened, so nothing is left behind when the process ends, killed or not.
    Its page cache is bounded (``cache_kib``); the rest is on disk (and in the operating system's page cache, outside
    the process's RSS). Nothing in it has to outlive the process: the changelog is the state, loaded again on every
    assignment. Opened at the first write.

    One row a child: the number the store gave it when it was first held (``id``: the order children are swept in),
    its id, its partition, what the clock checks first (``d``, ``k``, ``n``), and its changelog message compressed
    (``raw``: as read from the changelog, not yet compressed). The index of cold children is here, not in Python
    dicts: a dict entry, the child's id string and its row number cost ≈ 0.25 KB a child in memory, and the
    allocators' memory they pinned among the hot states' churn more again (docs/scoring.md "Memory", smem3)."""

    def __init__(self, cache_kib: int = 4096) -> None:
        self.cache_kib = cache_kib
        self._db: sqlite3.Connection | None = None

    def _open(self) -> sqlite3.Connection:
        db = self._db
        if db is None:
            db = self._db = sqlite3.connect("", isolation_level=None)  # "": a temporary database on disk
            for pragma in ("journal_mode=OFF", "synchronous=OFF", f"cache_size=-{self.cache_kib}"):
                db.execute(f"PRAGMA {pragma}")
            db.execute("CREATE TABLE cold (id INTEGER PRIMARY KEY, child TEXT NOT NULL UNIQUE, p INTEGER NOT NULL, "
                       "d, k, n, raw INTEGER NOT NULL, blob BLOB NOT NULL)")
        return db

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        db = self._db
        return None if db is None else db.execute(sql, args).fetchone()

    def _many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        db = self._open()
        db.execute("BEGIN")
        db.executemany(sql, rows)
        db.execute("COMMIT")

    # -- one child ------------------------------------------------------------------------------------------------
    def locate(self, child_id: str) -> tuple[int, int] | None:
        """The child's row number and partition; ``None`` when it has no row."""
        found: tuple[int, int] | None = self._one("SELECT id, p FROM cold WHERE child = ?", (child_id,))
        return found

    def state(self, child_id: str) -> tuple[int, int, bytes] | None:
        """The child's row number, partition and bytes; ``None`` when it has no row."""
        found: tuple[int, int, bytes] | None = self._one("SELECT id, p, blob FROM cold WHERE child = ?", (child_id,))
        return found

    def states(self, children: list[str]) -> list[tuple[str, int, int, bytes]]:
        """``state`` of each of these children that has a row, with its id (``child, id, p, blob``): one query for
        ``READ_AHEAD_ROWS`` children at most."""
        db = self._db
        if db is None:
            return []
        found: list[tuple[str, int, int, bytes]] = []
        for start in range(0, len(children), READ_AHEAD_ROWS):
            found += db.execute("SELECT child, id, p, blob FROM cold WHERE child IN (SELECT value FROM json_each(?))",
                                (orjson.dumps(children[start:start + READ_AHEAD_ROWS]).decode(),)).fetchall()
        return found

    def review(self, child_id: str) -> tuple[Any, Any, Any] | None:
        found: tuple[Any, Any, Any] | None = self._one("SELECT d, k, n FROM cold WHERE child = ?", (child_id,))
        return found

    def read(self, row: int) -> bytes:
        found = self._one("SELECT blob FROM cold WHERE id = ?", (row,))
        if found is None:  # the store's index and this file disagree: a bug, never a child without a state
            raise KeyError(f"cold state row {row} is missing from the spill file")
        blob: bytes = found[0]
        return blob

    def move(self, row: int, partition: int) -> None:
        self._open().execute("UPDATE cold SET p = ? WHERE id = ?", (partition, row))

    # -- many -------------------------------------------------------------------------------------------------------
    def write(self, new: list[tuple[Any, ...]], changed: list[tuple[Any, ...]]) -> None:
        """Rows of children that had none (``id, child, p, d, k, n, raw, blob``) and new contents of rows
        (``d, k, n, raw, blob, id``), in one transaction."""
        if not new and not changed:
            return
        db = self._open()
        db.execute("BEGIN")
        if new:
            db.executemany("INSERT INTO cold (id, child, p, d, k, n, raw, blob) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", new)
        if changed:
            db.executemany("UPDATE cold SET d = ?, k = ?, n = ?, raw = ?, blob = ? WHERE id = ?", changed)
        db.execute("COMMIT")

    def load(self, rows: list[tuple[Any, ...]]) -> None:
        """Changelog messages read back (``id, child, p, d, k, n, raw, blob``): a child that has a row keeps its
        number, whatever ``id`` says."""
        self._many("INSERT INTO cold (id, child, p, d, k, n, raw, blob) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                   "ON CONFLICT (child) DO UPDATE SET p = excluded.p, d = excluded.d, k = excluded.k, "
                   "n = excluded.n, raw = excluded.raw, blob = excluded.blob", rows)

    def compress(self, rows: list[tuple[bytes, int]]) -> None:
        self._many("UPDATE cold SET raw = 0, blob = ? WHERE id = ?", rows)

    def raw_rows(self) -> list[int]:
        """The rows that hold a changelog message as read."""
        if self._db is None:
            return []
        return [row for (row,) in self._db.execute("SELECT id FROM cold WHERE raw")]

    def remove(self, rows: list[int]) -> None:
        if rows and self._db is not None:
            self._many("DELETE FROM cold WHERE id = ?", [(row,) for row in rows])

    def children(self, partitions: Iterable[int] | None = None) -> list[tuple[int, str]]:
        """``(row, child)`` of every row, or of the partitions given, in row order."""
        if self._db is None:
            return []
        if partitions is None:
            return self._db.execute("SELECT id, child FROM cold ORDER BY id").fetchall()
        return self._db.execute("SELECT id, child FROM cold WHERE p IN (SELECT value FROM json_each(?)) ORDER BY id",
                                (orjson.dumps(sorted(set(partitions))).decode(),)).fetchall()

    def partitions(self) -> set[int]:
        if self._db is None:
            return set()
        return {p for (p,) in self._db.execute("SELECT DISTINCT p FROM cold")}

    def __len__(self) -> int:
        if self._db is None:
            return 0
        count: int = self._db.execute("SELECT count(*) FROM cold").fetchone()[0]
        return count

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


_NO_ROW, _ROW_STALE, _ROW_CURRENT = 0, 1, 2  # a hot child's row in the spill file: none, not its state, its state


class ChangelogStore:
    """The state of the partitions this instance holds (see the module).

    In memory a child's state is either **hot**, the decoded JSON value (a dict), for the ``hot_capacity`` children
    used last, or **cold**: a row of the worker's spill file on local disk (``SpillFile``) with its changelog
    message compressed (``ColdCodec``, ≈ 0.65–1.1 KB), its partition and what the clock checks first
    (``review_state``: the day evaluated, the rule versions, the next review day). Nothing of a cold child is in
    the process's memory: which children are held is the spill file's index (docs/scoring.md "Memory"). A cold
    child is decoded when it is next read. ``get`` returns the same object until the child is evicted or written,
    so the parsed copy the handlers keep beside it (service_layer/state.py's ``WORKING``) stays usable;
    ``on_evict`` is told each child that leaves the hot set, so that copy goes with it. Children are evicted,
    least recently used first, only by ``evict`` (the worker calls it once a batch's changelog messages are
    acknowledged; ``flush`` at its end), never one with a change not yet on the broker.

    Each child held has a number, given when it is first held and kept until it is forgotten (its row's ``id``):
    ``children`` lists them in that order, the order a dict of the children held would keep."""

    def __init__(self, topic: str, hot_capacity: int = 500,
                 on_evict: Callable[[str], object] | None = None, spill: SpillFile | None = None) -> None:
        self.topic = topic
        self.hot_capacity = hot_capacity
        self.on_evict = on_evict
        self._hot: OrderedDict[str, dict[str, Any]] = OrderedDict()  # decoded, least recently used first
        # hot child → (its number, its partition, its row: _NO_ROW, _ROW_STALE or _ROW_CURRENT)
        self._meta: dict[str, tuple[int, int, int]] = {}
        self._next_row = 0
        self._held: int | None = 0  # children held (None: to be counted, after a restore)
        self._absent = ""  # the last child ``get`` found no row for (a new child: ``put`` follows at once)
        self._pending: dict[str, tuple[int, object]] = {}  # child → (partition, _DELETED or None: current state)
        self._loaded: list[tuple[Any, ...]] = []  # restore: rows read, not yet written to the spill file
        # cold children read ahead (``read_ahead``): their row (``None``: none) until ``get`` takes it or the batch
        # writes to the spill file
        self._ahead: dict[str, tuple[int, int, bytes] | None] = {}
        self.codec = ColdCodec()
        self.spill = spill if spill is not None else SpillFile()

    # -- the stores the use cases see -------------------------------------------------------------------------
    def get(self, child_id: str) -> dict[str, Any] | None:
        state = self._hot.get(child_id)
        if state is not None:
            self._hot.move_to_end(child_id)
            return state
        if self._loaded:
            self._write_loaded()
        ahead = self._ahead
        found = ahead.pop(child_id) if child_id in ahead else self.spill.state(child_id)
        if found is None:
            self._absent = child_id
            return None
        row, partition, blob = found  # (a row read ahead, or read now)
        state = self._decode(blob)
        self._hot[child_id] = state  # its row stays: evicted unchanged, it needs no new encoding
        self._meta[child_id] = (row, partition, _ROW_CURRENT)
        return state

    def read_ahead(self, child_ids: Iterable[str]) -> None:
        """Reads the rows of the cold children among these in one query, for ``get`` to take (a batch's facts, a
        chunk of the clock's): a ``SELECT`` per cold read cost ≈ 4.3–5.5 µs, one query for 500 ≈ 3.6–4.1 µs a row.
        What is read ahead is forgotten when the batch's changes are taken (``changes``), before anything is written
        to the spill file, and when a child is forgotten or written."""
        if self._loaded:
            self._write_loaded()
        hot = self._hot
        wanted = sorted({child_id for child_id in child_ids if child_id not in hot})
        ahead: dict[str, tuple[int, int, bytes] | None] = dict.fromkeys(wanted)
        for child_id, row, partition, blob in self.spill.states(wanted):
            ahead[child_id] = (row, partition, blob)
        self._ahead = ahead

    def review_state(self, child_id: str) -> dict[str, Any] | None:
        """What the clock reads before it decides to evaluate a child (``d``, ``k``, ``n``), without decoding a
        cold one; ``None`` when the child is not held."""
        state = self._hot.get(child_id)
        if state is not None:
            return state
        if self._loaded:
            self._write_loaded()
        review = self.spill.review(child_id)
        if review is None:
            return None
        d, k, n = review
        return {"d": d, "k": k, "n": n}

    def put(self, child_id: str, state: dict[str, Any], partition: int | None) -> None:
        if partition is None:  # every caller knows it (the fact's or the state's ``p``); never guess
            raise ValueError("a child's state is written to its own partition; none was given")
        self._ahead.pop(child_id, None)
        meta = self._meta.get(child_id)
        if meta is not None:
            row, held_on, kept = meta
        else:
            found = None if child_id == self._absent else self._located(child_id)
            if found is None:  # a child not held before
                row, held_on, kept = self._next_row, partition, _NO_ROW
                self._next_row += 1
                if self._held is not None:
                    self._held += 1
            else:
                (row, held_on), kept = found, _ROW_STALE
        self._absent = ""
        if kept != _NO_ROW and held_on != partition:
            self.spill.move(row, partition)  # the row's partition is always the child's (``drop_partitions``)
        self._hot[child_id] = state
        self._hot.move_to_end(child_id)
        self._meta[child_id] = (row, partition, _NO_ROW if kept == _NO_ROW else _ROW_STALE)
        self._pending[child_id] = (partition, None)

    def delete(self, child_id: str, partition: int | None) -> None:
        held = self._forget(child_id)
        target = partition if partition is not None else held
        if target is not None:
            self._pending[child_id] = (target, _DELETED)

    def __len__(self) -> int:
        if self._held is None:
            if self._loaded:
                self._write_loaded()
            self._held = len(self.spill) + sum(1 for _, _, kept in self._meta.values() if kept == _NO_ROW)
        return self._held

    def __contains__(self, child_id: object) -> bool:
        return isinstance(child_id, str) and (child_id in self._meta or self._located(child_id) is not None)

    @property
    def data(self) -> dict[str, dict[str, Any]]:
        """Every child's state, decoded (tests, tools; the worker reads one child at a time)."""
        return {child_id: state for child_id in self.children()
                if (state := self._peek(child_id)) is not None}

    def children(self, partitions: Iterable[int] | None = None) -> list[str]:
        """The children held (of ``partitions``), in the order they were first held."""
        if self._loaded:
            self._write_loaded()
        wanted = None if partitions is None else set(partitions)
        numbered = dict(self.spill.children(wanted))
        for child_id, (row, partition, _) in self._meta.items():  # hot, with a row or not yet
            if wanted is None or partition in wanted:
                numbered[row] = child_id
        return [numbered[row] for row in sorted(numbered)]

    def partition(self, child_id: str) -> int | None:
        """The changelog partition the child's state was read or written on; ``None`` when it is not held."""
        meta = self._meta.get(child_id)
        if meta is not None:
            return meta[1]
        found = self._located(child_id)
        return None if found is None else found[1]

    def _located(self, child_id: str) -> tuple[int, int] | None:
        if self._loaded:
            self._write_loaded()
        return self.spill.locate(child_id)

    def _peek(self, child_id: str) -> dict[str, Any] | None:
        state = self._hot.get(child_id)
        if state is None:
            found = self.spill.state(child_id)
            state = None if found is None else self._decode(found[2])
        return state

    def spilled(self, child_id: str) -> bytes | None:
        """The bytes a cold child's row holds (tests, tools); ``None`` when its row is not its current state."""
        if self._loaded:
            self._write_loaded()
        meta = self._meta.get(child_id)
        if meta is not None:
            return self.spill.read(meta[0]) if meta[2] == _ROW_CURRENT else None
        found = self.spill.state(child_id)
        return None if found is None else found[2]

    def _decode(self, blob: bytes) -> dict[str, Any]:
        """A cold child's state from its row: its changelog value as read (a JSON object) or compressed."""
        state: dict[str, Any] = orjson.loads(blob if blob[:1] == b"{" else self.codec.decompress(blob))
        return state

    def _forget(self, child_id: str) -> int | None:
        """Drops the child (hot, and its row); returns the partition it was held on, ``None`` if it was not."""
        if self._loaded:
            self._write_loaded()  # in order: a row loaded, then removed
        self._ahead.pop(child_id, None)
        self._hot.pop(child_id, None)
        meta = self._meta.pop(child_id, None)
        if meta is not None:
            row, partition, kept = meta
        else:
            found = self.spill.locate(child_id)
            if found is None:
                return None
            (row, partition), kept = found, _ROW_CURRENT
        if kept != _NO_ROW:
            self.spill.remove([row])
        if self._held is not None:
            self._held -= 1
        return partition

    @property
    def hot(self) -> int:
        """Children held decoded."""
        return len(self._hot)

    @property
    def cold(self) -> int:
        """Children held only as their spilled row."""
        return len(self) - len(self._hot)

    # -- the worker's side --------------------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        return len(self._pending)

    def changes(self) -> list[tuple[int, bytes, bytes | None]]:
        """The batch's changelog records, taken: ``(partition, key, value)`` for each child changed since the last
        call, with its state as it is now, or a tombstone (value ``None``).

        While the hot set is over capacity (children are going cold), each state written is also compressed from
        its changelog value into its spilled row at once (``_spill_through``), so that its eviction, when it comes,
        encodes nothing."""
        pending, self._pending = self._pending, {}
        self._ahead = {}  # the spill file is written next (here or by ``evict``)
        records: list[tuple[int, bytes, bytes | None]] = []
        through: list[tuple[str, dict[str, Any], bytes]] | None = [] if len(self._hot) > self.hot_capacity else None
        for child_id, (partition, marker) in pending.items():
            if marker is _DELETED:
                records.append((partition, orjson.dumps(child_id), None))
                continue
            state = self._hot.get(child_id)
            if state is None:  # deleted after it was written in this batch: the tombstone went already
                continue
            value = orjson.dumps(state)
            records.append((partition, orjson.dumps(child_id), value))
            if through is not None:
                through.append((child_id, state, value))
        if through:
            self._spill_through(through)
        return records

    def _spill_through(self, written: list[tuple[str, dict[str, Any], bytes]]) -> None:
        """Hot children's rows made their current state from the changelog values just encoded (``child, state,
        value``). Measured (``scoring_memory --worker --scale 0.05 --hot 500``): orjson.dumps of a state at its
        eviction took ≈ 6.5 µs, its memory no longer in the cache, and in a drain nearly every child evicted had
        been written since it was read (107 109 of 107 109); the value encoded for the changelog is reused
        instead. A child written again before it goes cold had its row written for nothing (a compression and an
        UPDATE, ≈ 12 µs): hence only while children are going cold."""
        new, changed = [], []
        compress, meta = self.codec.compress, self._meta
        for child_id, state, value in written:
            row, partition, kept = meta[child_id]
            d, k, n = _review(state)
            blob = compress(value)
            if kept == _NO_ROW:
                new.append((row, child_id, partition, d, k, n, 0, blob))
            else:
                changed.append((d, k, n, 0, blob, row))
            meta[child_id] = (row, partition, _ROW_CURRENT)
        self.spill.write(new, changed)

    async def flush(self, send: Send) -> list[Any]:
        """Sends the batch's changes one ``send`` each (``changes``) and returns the send futures to wait for; then
        evicts the least recently used hot children past ``hot_capacity``. (The worker sends ``changes`` in record
        batches instead and evicts once they are acknowledged.)"""
        futures = [await send(self.topic, value, key=key, partition=partition)
                   for partition, key, value in self.changes()]
        self.evict()
        return futures

    def evict(self, capacity: int | None = None) -> int:
        """Compresses the least recently used hot children past ``capacity`` (default ``hot_capacity``) into their
        spilled rows (a child read and not changed since keeps the row it has); returns how many. Never a child
        with a change not yet flushed."""
        keep = self.hot_capacity if capacity is None else capacity
        self._ahead = {}  # (``changes`` forgot it already when the worker calls both)
        evicted, skipped, new, changed = 0, [], [], []
        compress, hot, meta = self.codec.compress, self._hot, self._meta
        while len(hot) > keep:
            child_id, state = hot.popitem(last=False)
            if child_id in self._pending:
                skipped.append((child_id, state))
                continue
            row, partition, kept = meta.pop(child_id)
            if kept != _ROW_CURRENT:
                d, k, n = _review(state)
                blob = compress(orjson.dumps(state))
                if kept == _NO_ROW:
                    new.append((row, child_id, partition, d, k, n, 0, blob))
                else:
                    changed.append((d, k, n, 0, blob, row))
            evicted += 1
            if self.on_evict is not None:
                self.on_evict(child_id)
        self.spill.write(new, changed)
        for child_id, state in reversed(skipped):  # kept, as the most recently used
            hot[child_id] = state
            hot.move_to_end(child_id, last=False)
        return evicted

    def drop_partitions(self, partitions: Iterable[int]) -> int:
        """Forgets the children of partitions this instance no longer holds; returns how many."""
        gone = set(partitions)
        if not gone:
            return 0
        children = self.children(gone)
        for child_id in children:
            self._forget(child_id)
            if self.on_evict is not None:
                self.on_evict(child_id)
        for child_id in [c for c, (p, _) in self._pending.items() if p in gone]:
            del self._pending[child_id]  # never happens between batches (flushed), kept safe all the same
        return len(children)

    def partitions(self) -> set[int]:
        if self._loaded:
            self._write_loaded()
        hot = {partition for _, partition, _ in self._meta.values()}
        return self.spill.partitions() | hot

    def compact(self) -> int:
        """Compresses the rows kept as read from the changelog (``load``); returns how many."""
        if self._loaded:
            self._write_loaded()
        done, rows = 0, []
        for row in self.spill.raw_rows():
            rows.append((self.codec.compress(self.spill.read(row)), row))
            done += 1
            if len(rows) >= LOAD_ROWS:
                self.spill.compress(rows)
                rows = []
        self.spill.compress(rows)
        return done

    def load(self, partition: int, key: bytes | None, value: bytes | None) -> None:
        """One changelog message read back: the child's latest state (kept cold), or its tombstone."""
        if key is None:
            return
        self._ahead = {}
        child_id = orjson.loads(key)
        if not isinstance(child_id, str):
            return
        state = orjson.loads(value) if value is not None else None
        if isinstance(state, dict) and value is not None:
            self._hot.pop(child_id, None)
            meta = self._meta.pop(child_id, None)
            if meta is not None and meta[2] == _NO_ROW:
                row = meta[0]  # held, never spilled: its row takes its number
            else:
                row = self._next_row  # a child with a row keeps its number (``SpillFile.load``)
                self._next_row += 1
            # written as read until ``compact`` (the end of a restore): a child's earlier messages, superseded
            # before the end of its partition, are never compressed
            raw = value[:1] == b"{"
            d, k, n = _review(state)
            self._loaded.append((row, child_id, partition, d, k, n, int(raw),
                                 value if raw else self.codec.compress(value)))
            self._held = None  # counted when next asked
            if len(self._loaded) >= LOAD_ROWS:
                self._write_loaded()
        else:
            self._forget(child_id)

    def _write_loaded(self) -> None:
        rows, self._loaded = self._loaded, []
        self.spill.load(rows)


def _review(state: dict[str, Any]) -> tuple[Any, Any, Any]:
    """``review_state``'s fields of a state (the day evaluated, the rule versions, the next review day), as the
    spill file keeps them: text or null, as the state's JSON has them (anything else, which this worker never
    writes, kept as its JSON text). Text or null is tested first, without a generator: 0.4 µs instead of 2.2 (one
    call per state spilled)."""
    d, k, n = state.get("d"), state.get("k"), state.get("n")
    if (d is None or type(d) is str) and (k is None or type(k) is str) and (n is None or type(n) is str):
        return d, k, n
    return tuple(value if value is None or type(value) is str else orjson.dumps(value).decode()  # type: ignore[return-value]
                 for value in (d, k, n))


async def restore(store: ChangelogStore, partitions: set[int], *, bootstrap: str, security: dict[str, Any],
                  client_id: str, timeout_s: float = 300.0) -> int:
    """Reads the changelog partitions from their start to their current end into ``store`` (a partition's old
    content is dropped first); returns the messages read. Raises ``TimeoutError`` past ``timeout_s`` (the worker
    then stops: it must not score from a state half loaded)."""
    if not partitions:
        return 0
    store.drop_partitions(partitions)
    tps = [TopicPartition(store.topic, p) for p in sorted(partitions)]
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, client_id=client_id, group_id=None,
                              enable_auto_commit=False, auto_offset_reset="earliest", **security)
    started, read = time.monotonic(), 0
    await reader.start()
    try:
        reader.assign(tps)
        ends = await asyncio.wait_for(reader.end_offsets(tps), timeout=timeout_s)
        todo = {tp for tp in tps if ends[tp] > 0}
        if todo:
            await reader.seek_to_beginning(*todo)
        deadline = started + timeout_s
        while todo:
            if time.monotonic() > deadline:
                raise TimeoutError(f"changelog partitions {sorted(tp.partition for tp in todo)} not read "
                                   f"within {timeout_s:.0f} s")
            batches = await reader.getmany(*todo, timeout_ms=1000, max_records=5000)
            for tp, records in batches.items():
                for record in records:
                    if record.offset < ends[tp]:
                        store.load(tp.partition, record.key, record.value)
                        read += 1
            for tp in list(todo):
                if await reader.position(tp) >= ends[tp]:
                    todo.discard(tp)
    finally:
        await reader.stop()
    store.compact()
    log.info("state of partitions %s loaded from %s: %d messages, %d children held, %.2f s", sorted(partitions),
             store.topic, read, len(store), time.monotonic() - started)
    return read
