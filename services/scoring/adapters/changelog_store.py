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
"""

from __future__ import annotations

import asyncio
import logging
import sys
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


class ChangelogStore:
    """The state of the partitions this instance holds (see the module).

    In memory a child's state is either **hot**, the decoded JSON value (a dict), for the ``hot_capacity`` children
    used last, or **cold**, its changelog message compressed (``ColdCodec``: ≈ 0.65 KB against ≈ 15 KB decoded with
    its parsed copy, docs/scoring.md): decoded again when it is next read. ``get`` returns the same object until the
    child is evicted or written, so the parsed copy the handlers keep beside it (service_layer/state.py's
    ``WORKING``) stays usable; ``on_evict`` is told each child that leaves the hot set, so that copy goes with it.
    Children are evicted, least recently used first, only at the end of ``flush``, when every hot state is on the
    broker. What the clock
    checks first (``review_state``: the day evaluated, the rule versions, the next review day) is kept beside a
    cold child's bytes, so a sweep decodes only the children it evaluates."""

    def __init__(self, topic: str, hot_capacity: int = 20_000,
                 on_evict: Callable[[str], object] | None = None) -> None:
        self.topic = topic
        self.hot_capacity = hot_capacity
        self.on_evict = on_evict
        self._hot: OrderedDict[str, dict[str, Any]] = OrderedDict()  # decoded, least recently used first
        self._cold: dict[str, tuple[bytes, tuple[Any, Any, Any]]] = {}  # compressed value, (d, k, n)
        self.partition_of: dict[str, int] = {}  # child → the changelog partition its state was read or written on
        self._pending: dict[str, tuple[int, object]] = {}  # child → (partition, _DELETED or None: current state)
        self.codec = ColdCodec()

    # -- the stores the use cases see -------------------------------------------------------------------------
    def get(self, child_id: str) -> dict[str, Any] | None:
        state = self._hot.get(child_id)
        if state is not None:
            self._hot.move_to_end(child_id)
            return state
        cold = self._cold.get(child_id)
        if cold is None:
            return None
        state = self._decoded(cold[0])
        self._hot[child_id] = state  # its bytes stay: evicted unchanged, it needs no new encoding
        return state

    def review_state(self, child_id: str) -> dict[str, Any] | None:
        """What the clock reads before it decides to evaluate a child (``d``, ``k``, ``n``), without decoding a
        cold one; ``None`` when the child is not held."""
        state = self._hot.get(child_id)
        if state is not None:
            return state
        cold = self._cold.get(child_id)
        if cold is None:
            return None
        d, k, n = cold[1]
        return {"d": d, "k": k, "n": n}

    def put(self, child_id: str, state: dict[str, Any], partition: int | None) -> None:
        if partition is None:  # every caller knows it (the fact's or the state's ``p``); never guess
            raise ValueError("a child's state is written to its own partition; none was given")
        self._hot[child_id] = state
        self._hot.move_to_end(child_id)
        self._cold.pop(child_id, None)  # no longer what the child holds
        self.partition_of[child_id] = partition
        self._pending[child_id] = (partition, None)

    def delete(self, child_id: str, partition: int | None) -> None:
        held = self.partition_of.pop(child_id, None)
        self._hot.pop(child_id, None)
        self._cold.pop(child_id, None)
        target = partition if partition is not None else held
        if target is not None:
            self._pending[child_id] = (target, _DELETED)

    def __len__(self) -> int:
        return len(self.partition_of)

    def __contains__(self, child_id: object) -> bool:
        return child_id in self.partition_of

    @property
    def data(self) -> dict[str, dict[str, Any]]:
        """Every child's state, decoded (tests, tools; the worker reads one child at a time)."""
        return {child_id: state for child_id in list(self.partition_of)
                if (state := self._peek(child_id)) is not None}

    def _peek(self, child_id: str) -> dict[str, Any] | None:
        state = self._hot.get(child_id)
        if state is None and (cold := self._cold.get(child_id)) is not None:
            state = self._decoded(cold[0])
        return state

    def _decoded(self, blob: bytes) -> dict[str, Any]:
        """A cold child's state: its changelog value as read (a JSON object) or compressed."""
        state: dict[str, Any] = orjson.loads(blob if blob[:1] == b"{" else self.codec.decompress(blob))
        return state

    @property
    def hot(self) -> int:
        """Children held decoded."""
        return len(self._hot)

    # -- the worker's side --------------------------------------------------------------------------------------
    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self, send: Send) -> list[Any]:
        """Sends the batch's changes (the states as they are now) and returns the send futures to wait for; then
        evicts the least recently used hot children past ``hot_capacity``."""
        pending, self._pending = self._pending, {}
        futures = []
        for child_id, (partition, marker) in pending.items():
            key = orjson.dumps(child_id)
            if marker is _DELETED:
                value = None
            else:
                state = self._hot.get(child_id)
                if state is None:  # deleted after it was written in this batch: the tombstone went already
                    continue
                value = orjson.dumps(state)
            futures.append(await send(self.topic, value, key=key, partition=partition))
        self.evict()
        return futures

    def evict(self, capacity: int | None = None) -> int:
        """Compresses the least recently used hot children past ``capacity`` (default ``hot_capacity``) into their
        cold form; returns how many. Never a child with a change not yet flushed."""
        keep = self.hot_capacity if capacity is None else capacity
        evicted, skipped = 0, []
        while len(self._hot) > keep:
            child_id, state = self._hot.popitem(last=False)
            if child_id in self._pending:
                skipped.append((child_id, state))
                continue
            if child_id not in self._cold:
                self._cold[child_id] = (self.codec.compress(orjson.dumps(state)), _review(state))
            evicted += 1
            if self.on_evict is not None:
                self.on_evict(child_id)
        for child_id, state in reversed(skipped):  # kept, as the most recently used
            self._hot[child_id] = state
            self._hot.move_to_end(child_id, last=False)
        return evicted

    def drop_partitions(self, partitions: Iterable[int]) -> int:
        """Forgets the children of partitions this instance no longer holds; returns how many."""
        gone = set(partitions)
        if not gone:
            return 0
        children = [c for c, p in self.partition_of.items() if p in gone]
        for child_id in children:
            del self.partition_of[child_id]
            self._hot.pop(child_id, None)
            self._cold.pop(child_id, None)
            if self.on_evict is not None:
                self.on_evict(child_id)
        for child_id in [c for c, (p, _) in self._pending.items() if p in gone]:
            del self._pending[child_id]  # never happens between batches (flushed), kept safe all the same
        return len(children)

    def partitions(self) -> set[int]:
        return set(self.partition_of.values())

    def compact(self) -> int:
        """Compresses the states kept as read from the changelog (``load``); returns how many."""
        done = 0
        for child_id, (blob, review) in self._cold.items():
            if blob[:1] == b"{":
                self._cold[child_id] = (self.codec.compress(blob), review)
                done += 1
        return done

    def load(self, partition: int, key: bytes | None, value: bytes | None) -> None:
        """One changelog message read back: the child's latest state (kept cold), or its tombstone."""
        if key is None:
            return
        child_id = orjson.loads(key)
        if not isinstance(child_id, str):
            return
        state = orjson.loads(value) if value is not None else None
        self._hot.pop(child_id, None)
        if isinstance(state, dict) and value is not None:
            # kept as read until ``compact`` (the end of a restore): a child's earlier messages, superseded before
            # the end of its partition, are never compressed
            blob = value if value[:1] == b"{" else self.codec.compress(value)
            self._cold[child_id] = (blob, _review(state))
            self.partition_of[child_id] = partition
        else:
            self._cold.pop(child_id, None)
            self.partition_of.pop(child_id, None)


def _review(state: dict[str, Any]) -> tuple[Any, Any, Any]:
    """``review_state``'s fields of a state, their strings shared (a day, the rule versions: few distinct)."""
    d, k, n = state.get("d"), state.get("k"), state.get("n")
    return (sys.intern(d) if type(d) is str else d, sys.intern(k) if type(k) is str else k,
            sys.intern(n) if type(n) is str else n)


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
