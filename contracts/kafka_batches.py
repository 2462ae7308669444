"""A worker's Kafka side without Faust: a consumer group read in batches of records, offsets committed only after a
batch's effects are durable (issue 19, docs/scaling.md). Ingest's and linkage's workers use it (their adapters
``kafka_consumer.py`` build it from their settings); it lives here because services share code only through
``contracts/``.

A Faust agent costs ≈ 0.14 ms of CPU per message before any handler runs (an ``Event``, the conductor's queue, an
ack, sensor calls and ≈ 15–20 event-loop callbacks per message); ``AIOKafkaConsumer.getmany`` hands over what one
fetch brought as lists of records for ≈ 0.01 ms each. ``BatchConsumer.run`` puts what a fetch brought in Faust's
delivery order (``round_robin``) or, with ``time_ordered``, oldest first across partitions (``TimeOrder``), gives it
to a handler coroutine in batches of at most ``max_records`` and, when the handler returns (its effects durable:
sends acknowledged, database committed), commits the next offset of every partition in the batch; a handler may
instead return what makes them durable (its finish), then the next batch is handled while it runs and the commit
follows it (``_handle``: linkage; 5 232 → 6 073 source events/s end to end at scale 0.05). At-least-once:
a kill between the effects and the commit handles the batch again on restart (the effects are idempotent). One
task reads and handles: concurrency 1 per partition, partition order kept.

Rebalances: the listener takes the same lock the batch holds, so a partition is given up only after the batch in
hand is handled and committed; a batch read across a rebalance and not yet started is not handled: the partitions
still held are sought back to where it began, the others are left to their new owner (``_read_again``). A worker
whose state moves with its partitions (scoring's changelog) passes ``on_revoked`` / ``on_assigned``: awaited under
the same lock, so no batch runs before the state of a new assignment is loaded; if one fails, ``run`` raises it
(aiokafka would only log a listener's exception and go on fetching, here with a state not loaded). ``on_assigned``
runs in ``run``, not in the listener, with the new partitions paused until it is done: aiokafka heartbeats only
between listener calls, and a load longer than the session timeout cost the member its place in the group (the
broker drops it, it rejoins, loads again: at scale 1.0, forever). A rebalance meanwhile cancels the load.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import logging
import os
import signal
import struct
import sys
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Iterator, Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.coordinator.assignors.range import RangePartitionAssignor
from aiokafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.structs import OffsetAndMetadata
from prometheus_client import start_http_server
from pydantic import Field
from pydantic_settings import BaseSettings

from contracts.kafka_security import wait_for_broker

log = logging.getLogger("tsunagu.kafka")

Headers = Sequence[tuple[str, bytes]]


class Record(Protocol):
    """What the handler reads of aiokafka's ``ConsumerRecord``."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...
    @property
    def headers(self) -> Headers: ...
    @property
    def timestamp(self) -> int: ...  # Unix milliseconds


# Returns None when the batch's effects are durable, or an awaitable that makes them so (its finish: sends
# acknowledged, outbox cleared); ``BatchConsumer`` then hands the next batch over while the finish runs and commits
# the batch's offsets after it (at most one batch outstanding; see ``BatchConsumer._handle``).
BatchHandler = Callable[[list[Any]], Awaitable[Awaitable[None] | None]]
PartitionsHook = Callable[[set[TopicPartition]], Awaitable[None]]


class _Consumer(Protocol):  # the part of AIOKafkaConsumer used here (a fake in the unit tests)
    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None) -> dict[TopicPartition, list[Any]]: ...
    async def commit(self, offsets: Any = None) -> None: ...
    def assignment(self) -> set[TopicPartition]: ...
    def seek(self, partition: TopicPartition, offset: int) -> None: ...
    # what ``TimeOrder`` reads and does besides
    def highwater(self, partition: TopicPartition) -> int | None: ...
    async def position(self, partition: TopicPartition) -> int: ...
    def pause(self, *partitions: TopicPartition) -> None: ...
    def resume(self, *partitions: TopicPartition) -> None: ...


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, owner: BatchConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        await self._owner.revoked(revoked)

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        await self._owner.assigned_with_state(assigned)


class BatchConsumer:
    """Runs ``handler`` over batches of records of ``consumer`` and commits each batch after it; see the module."""

    def __init__(self, consumer: _Consumer, *, max_records: int, window_s: float, name: str,
                 on_revoked: PartitionsHook | None = None, on_assigned: PartitionsHook | None = None,
                 linger_s: float = 0.0, time_ordered: bool = False, idle_s: float = 0.5) -> None:
        self.consumer = consumer
        self.name = name  # in log lines
        self.max_records = max_records
        self.window_ms = max(1, int(window_s * 1000))
        # After a fetch that brought fewer than max_records, what arrives within linger_s joins the batch: a worker
        # whose input trickles in and whose cost is per batch (casework: a transaction, a commit, a relay round)
        # handles tens of records at a time instead of a few, for at most linger_s more latency. 0: off.
        self.linger_s = linger_s
        self.generation = 0  # changes at every rebalance
        self.ready = asyncio.Event()  # set at the first assignment
        self.partitions: set[TopicPartition] = set()
        self._lock = asyncio.Lock()  # held while a batch is handled and committed
        self._on_revoked, self._on_assigned = on_revoked, on_assigned
        self._pending: set[TopicPartition] | None = None  # assigned, its state not loaded yet (``_load``)
        self._epoch = 0  # changes the moment a rebalance calls the listener (``generation`` waits for the lock)
        self._loading: asyncio.Future[None] | None = None
        self.failure: BaseException | None = None  # a state hook that failed: run raises it
        # time_ordered: the partitions' records handed over in timestamp order (``TimeOrder``), not round robin
        self.order = TimeOrder(consumer, idle_s=idle_s, hold=max_records) if time_ordered else None
        self._order_generation = 0  # the generation the records in ``order`` were read in
        self._outstanding: asyncio.Future[None] | None = None  # the last batch's finish and commit, still running
        # partition → the offset after the last record handed over (before any: its first record fetched)
        self._handled: dict[TopicPartition, int] = {}

    @property
    def lock(self) -> asyncio.Lock:
        """Held while a batch is handled and committed and while a rebalance hook runs: a worker's other duties
        (a clock sweep) take it too, so they never interleave with either. A handler that returns its finish
        (``_handle``) has that finish and the commit run outside the lock."""
        return self._lock

    def listener(self) -> ConsumerRebalanceListener:
        return _Rebalance(self)

    async def revoked(self, revoked: Collection[TopicPartition]) -> None:
        self._epoch += 1
        self._pending = None  # an assignment whose state was not loaded yet is superseded
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()  # so is one being loaded: stopped, its partial state dropped by the hook
        async with self._lock:  # the batch in hand finishes (effects and commit) before its partitions go
            try:
                await self._settle()  # and so does the one whose finish is still outstanding
            except Exception as exc:
                self._failed_finish(exc)
            self.generation += 1
            for tp in revoked:  # read again from the committed offsets, or by another member
                self._handled.pop(tp, None)
            if self._on_revoked is not None:
                try:
                    await self._on_revoked(set(revoked))
                except Exception as exc:
                    self._fail(exc)
        if revoked:
            log.info("%s: %d partitions revoked", self.name, len(revoked))

    async def assigned_with_state(self, assigned: Collection[TopicPartition]) -> None:
        """The listener's ``on_partitions_assigned``. With a state hook, the partitions are paused and the hook
        runs later, in ``run`` (``_load``), not here: aiokafka sends no heartbeat while a listener runs, so a state
        that took longer than the session timeout to load (scoring's changelog at scale 1.0: 40–50 s against 15)
        had the member dropped from the group right after, its next assignment loaded again, and so on forever."""
        if self._on_assigned is None:
            self.assigned(assigned)
            return
        self.generation += 1  # a batch read before this is read again, not handled
        self._epoch += 1
        self._pending = set(assigned)
        self.consumer.pause(*assigned)

    async def _load(self) -> None:
        """The state hook for the pending assignment, under the lock, as a task that a rebalance meanwhile cancels
        (``revoked``); then its partitions are resumed and the assignment takes effect (``assigned``)."""
        pending, self._pending, epoch = self._pending, None, self._epoch
        assert pending is not None
        async with self._lock:
            if self._epoch != epoch or self.failure is not None:
                return  # superseded while the lock was awaited (a rebalance, or a newer assignment pending)
            assert self._on_assigned is not None
            self._loading = asyncio.ensure_future(self._on_assigned(set(pending)))
            try:
                await asyncio.wait([self._loading])
            finally:
                if not self._loading.done():  # run itself was cancelled
                    self._loading.cancel()
            loading, self._loading = self._loading, None
            if loading.cancelled():
                log.info("%s: state of %d partitions not loaded: the group rebalanced meanwhile", self.name,
                         len(pending))
                return
            if loading.exception() is not None:
                self._fail(loading.exception())  # type: ignore[arg-type]
                return  # not ready, not resumed: run raises before it handles anything
            if self._epoch != epoch:
                return  # a rebalance began as the load ended; the next assignment is loaded anew
            self.consumer.resume(*pending)
            self.assigned(pending)

    def _failed_finish(self, exc: BaseException) -> None:
        log.error("%s: a batch's effects not made durable (%s): stopping", self.name, type(exc).__name__)
        if self.failure is None:
            self.failure = exc

    def _fail(self, exc: BaseException) -> None:
        log.error("%s: state of a rebalance not loaded (%s): stopping", self.name, type(exc).__name__)
        self.failure = exc

    def assigned(self, assigned: Collection[TopicPartition]) -> None:
        self.generation += 1
        self.partitions = set(assigned)
        log.info("%s: %d partitions assigned", self.name, len(assigned))
        if not self.ready.is_set():
            self.ready.set()
            log.info("%s: Worker ready", self.name)

    async def run(self, handler: BatchHandler, stop: asyncio.Event) -> None:
        """Until ``stop`` is set; returns after the batch in hand is handled and committed. A handler's exception
        (or its finish's) propagates with the batch uncommitted (it is read again by whoever owns its partitions
        next)."""
        try:
            await self._run(handler, stop)
        except BaseException:
            if self._outstanding is not None:  # not committed: read again, as the batch that failed
                self._outstanding.cancel()
                self._outstanding = None
            raise
        await self._settle()

    async def _run(self, handler: BatchHandler, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self._outstanding is not None and self._outstanding.done():
                await self._settle()  # a finish that failed stops the reader now, not at the next batch
            if self.failure is not None:
                raise self.failure
            if self._pending is not None:
                await self._load()
                continue
            generation = self.generation
            fetched = await self.consumer.getmany(timeout_ms=self.window_ms)  # all that the fetches brought
            for tp, batch in fetched.items():  # what came before a partition's first fetch was handled before
                if batch and tp not in self._handled:
                    self._handled[tp] = batch[0].offset
            if self.order is not None:
                records = await self._in_time_order(fetched, generation)
            elif not fetched:
                continue
            else:
                if self.linger_s > 0:
                    await self._linger(fetched, stop)
                records = round_robin(fetched)
            for start in range(0, len(records), self.max_records):
                async with self._lock:
                    if self.failure is not None:
                        raise self.failure
                    if generation != self.generation:
                        if self.order is not None:  # what is held is read again too
                            self._read_again(records[start:] + self.order.clear())
                            self._order_generation = self.generation
                        else:
                            self._read_again(records[start:])
                        break
                    await self._handle(records[start:start + self.max_records], handler)
                if stop.is_set():
                    break  # the rest is read again from the committed offsets by this group's next member

    async def _in_time_order(self, fetched: dict[TopicPartition, list[Any]], generation: int) -> list[Any]:
        """What can be handled now of what was fetched and held (``TimeOrder``). Records held from before a
        rebalance, or fetched across one, are read again (``_read_again``) instead."""
        order = self.order
        assert order is not None
        if self._order_generation != generation or generation != self.generation:
            self._read_again(order.clear() + round_robin(fetched))
            self._order_generation = self.generation
            return []
        order.add(fetched)
        return await order.take(asyncio.get_running_loop().time())

    async def _linger(self, fetched: dict[TopicPartition, list[Any]], stop: asyncio.Event) -> None:
        """Adds what the next fetches bring within ``linger_s`` to ``fetched`` (each partition's records stay in
        offset order), up to ``max_records`` in all. A rebalance meanwhile is caught by ``run``'s generation check
        (the records are then read again, as any batch read across one)."""
        count = sum(map(len, fetched.values()))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.linger_s
        while count < self.max_records and not stop.is_set():
            left_ms = int((deadline - loop.time()) * 1000)
            if left_ms <= 0:
                break
            more = await self.consumer.getmany(timeout_ms=left_ms, max_records=self.max_records - count)
            for tp, batch in more.items():
                fetched.setdefault(tp, []).extend(batch)
                count += len(batch)

    def _read_again(self, records: list[Any]) -> None:
        """Records read across a rebalance: they may belong to the old assignment (its partitions' positions were
        reset to the committed offsets: where they start) or to the new one (the positions moved past them).
        Either way the partitions still held go back to their first such record; the others are their new
        owner's."""
        assigned = self.consumer.assignment()
        first: dict[TopicPartition, int] = {}
        for record in records:
            first.setdefault(TopicPartition(record.topic, record.partition), record.offset)
        for tp, offset in first.items():
            if tp in assigned:
                self.consumer.seek(tp, offset)

    async def _handle(self, records: list[Any], handler: BatchHandler) -> None:
        """The handler over one batch, then its commit. A handler that returns its finish (linkage: the batch
        applied and its output handed to the producer, the acknowledgements still to come) gets the next batch
        while the finish runs: the finish and the commit of batch N run as a task while batch N+1 is fetched and
        applied; N+1's finish starts only after N's commit (at most one outstanding, offsets committed in order).
        A kill meanwhile leaves both uncommitted: read again on restart, their effects idempotent as any batch's."""
        finish = await handler(records)
        offsets = {TopicPartition(r.topic, r.partition): OffsetAndMetadata(r.offset + 1, "") for r in records}
        self._handled.update((tp, meta.offset) for tp, meta in offsets.items())
        try:
            await self._settle()  # the batch before: acknowledged and committed before this one's commit
        except BaseException:
            if inspect.iscoroutine(finish):
                finish.close()  # never started: this batch stays uncommitted with the one that failed
            raise
        if finish is None:
            await self._commit(offsets)
        else:
            self._outstanding = asyncio.ensure_future(self._finish(finish, offsets))

    def unread(self, *topics: str) -> int | None:
        """Records of ``topics`` on the broker not yet handed to the handler, over the partitions held, as far as the
        last fetches told (their high watermarks; no request): held back by ``TimeOrder`` or not fetched yet. Only
        partitions with a record fetched since they were assigned count (a partition ``TimeOrder`` holds back until
        its time comes counts from its first fetch: at a drain's start most do); None while there is none."""
        unread, known = 0, False
        for tp in self.partitions:
            handled = self._handled.get(tp)
            if handled is None or tp.topic not in topics:
                continue
            highwater = self.consumer.highwater(tp)
            if highwater is not None:
                unread += max(0, highwater - handled)
                known = True
        return unread if known else None

    async def _finish(self, finish: Awaitable[None], offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        await finish
        await self._commit(offsets)

    async def _settle(self) -> None:
        """Waits for the outstanding batch's finish and commit; raises what made it fail."""
        outstanding, self._outstanding = self._outstanding, None
        if outstanding is not None:
            await outstanding

    async def _commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The group moved on (a rebalance this member missed): its new owner handles the batch again; the
            # effects are idempotent, so this costs a second delivery, not a wrong result.
            log.warning("%s: offsets of a handled batch not committed (%s); it will be delivered again",
                        self.name, type(exc).__name__)


class TimeOrder:
    """The records of a worker's input partitions in timestamp order, as Kafka Streams synchronises a task's
    partitions (KIP-353): a city published at once to sixteen source topics (a go-live, a replay) is otherwise read
    one record of each topic in turn, so the small topics are through while the large ones are still in their first
    weeks, and linkage sees a school's records months before the registry records of their children. It ends with
    the same facts (docs/linkage.md, "Arrival order") but does ≈ 50 % more work on the way (students adopted, facts
    moved and published again; docs/scaling.md, "Time order").

    What was fetched is held per partition; a record is handed over once every other partition is known to hold
    nothing older: each partition holding records has its newest timestamp, the smallest of these is the frontier,
    and every held record up to it goes, oldest first. A partition holding nothing limits nothing when it is caught
    up (its position at its high watermark: live traffic is never held back); one known to have records not yet
    fetched holds everything back until they come, at most ``idle_s``. A partition holding ``hold`` records or more
    is paused (its fetch waits) until it holds fewer, so what is held stays within ``hold`` and a fetch per partition
    (as Kafka Streams' ``buffered.records.per.partition``) and the partitions that ran low are fetched next. If
    nothing is at or before the frontier (timestamps that go back within a partition), the partition with the
    oldest first record goes whole: something always moves. Each partition's order is kept, so the
    offsets committed after a batch are those of a prefix of each partition, as without it."""

    def __init__(self, consumer: _Consumer, *, idle_s: float, hold: int) -> None:
        self.consumer = consumer
        self.idle_s = idle_s
        self.hold = max(1, hold)  # a partition holding this many records is paused until it holds fewer
        self.held: dict[TopicPartition, deque[Any]] = {}
        self.paused: set[TopicPartition] = set()
        self.next_offset: dict[TopicPartition, int] = {}  # after the last record fetched, per partition
        self._waiting_since: float | None = None

    def add(self, fetched: dict[TopicPartition, list[Any]]) -> None:
        for tp, batch in fetched.items():
            if batch:
                self.held.setdefault(tp, deque()).extend(batch)
                self.next_offset[tp] = batch[-1].offset + 1
        assigned = self.consumer.assignment()
        full = [tp for tp, records in self.held.items()
                if len(records) >= self.hold and tp not in self.paused and tp in assigned]
        if full:
            self.consumer.pause(*full)
            self.paused.update(full)

    def clear(self) -> list[Any]:
        """A rebalance: everything held, to be read again; the partitions resumed."""
        records = [record for held in self.held.values() for record in held]
        assigned = self.consumer.assignment()
        if self.paused & assigned:
            self.consumer.resume(*(self.paused & assigned))
        self.held.clear()
        self.paused.clear()
        self.next_offset.clear()
        self._waiting_since = None
        return records

    async def take(self, now: float) -> list[Any]:
        """The records that can be handled now, oldest first (``now``: the loop's clock, for ``idle_s``)."""
        frontier: float | None = None
        waiting = False
        for tp in self.consumer.assignment():
            held = self.held.get(tp)
            if held:
                newest = held[-1].timestamp
                frontier = newest if frontier is None else min(frontier, newest)
            elif not await self._caught_up(tp):
                waiting = True
        if waiting:
            if self._waiting_since is None:
                self._waiting_since = now
            if now - self._waiting_since < self.idle_s:
                return []
        else:
            self._waiting_since = None
        if frontier is None:
            return []
        heads = [(held[0].timestamp, i, tp) for i, (tp, held) in enumerate(self.held.items())
                 if held and held[0].timestamp <= frontier]
        heapq.heapify(heads)
        out: list[Any] = []
        while heads:
            _, i, tp = heads[0]
            held = self.held[tp]
            out.append(held.popleft())
            if held and held[0].timestamp <= frontier:
                heapq.heapreplace(heads, (held[0].timestamp, i, tp))
            else:
                heapq.heappop(heads)
        if not out:  # timestamps that went back: the oldest head's partition, whole
            tp = min((tp for tp, held in self.held.items() if held), key=lambda tp: self.held[tp][0].timestamp)
            out = list(self.held[tp])
            self.held[tp].clear()
        drained = [tp for tp in self.paused if len(self.held.get(tp) or ()) < self.hold]
        if drained:
            assigned = self.consumer.assignment()
            self.consumer.resume(*(tp for tp in drained if tp in assigned))
            self.paused.difference_update(drained)
        return out

    async def _caught_up(self, tp: TopicPartition) -> bool:
        """Nothing of the partition on the broker that is not fetched yet, as far as the last fetch told."""
        highwater = self.consumer.highwater(tp)
        if highwater is None:
            return False  # never fetched yet
        position = self.next_offset.get(tp)
        if position is None:
            try:
                position = await self.consumer.position(tp)
            except IllegalStateError:  # no longer assigned: it limits nothing
                return True
        return position >= highwater


def round_robin(fetched: dict[TopicPartition, list[Any]]) -> list[Any]:
    """One record of each topic in turn, and within a topic one of each partition in turn; each partition's records
    stay in offset order. Faust's consumer delivers in this order (``DefaultSchedulingStrategy``); a fetch brings
    hundreds of records per partition, so taking them partition by partition would hand linkage a city's school
    records before its registry records, and its matching depends on arrival order (docs/scaling.md)."""
    by_topic: dict[str, list[list[Any]]] = {}
    for tp, batch in fetched.items():
        if batch:
            by_topic.setdefault(tp.topic, []).append(batch)
    cursors = {topic: _partitions_in_turn(batches) for topic, batches in by_topic.items()}
    ordered: list[Any] = []
    while cursors:
        for topic in list(cursors):
            record = next(cursors[topic], None)
            if record is None:
                del cursors[topic]
            else:
                ordered.append(record)
    return ordered


def _partitions_in_turn(batches: list[list[Any]]) -> Iterator[Any]:
    iterators = [iter(batch) for batch in batches]
    while iterators:
        for it in list(iterators):
            record = next(it, None)
            if record is None:
                iterators.remove(it)
            else:
                yield record


def consumer(*, bootstrap: str, group_id: str, client_id: str,
             group_instance_id: str | None, session_timeout_s: float, security: dict[str, Any],
             auto_offset_reset: str = "earliest", co_partitioned: bool = False,
             fetch_max_bytes: int = 52_428_800, partition_fetch_bytes: int = 1_048_576,
             time_ordered: bool = False) -> AIOKafkaConsumer:
    """A group member that commits only what ``BatchConsumer`` tells it to (call in the running loop).
    ``auto_offset_reset``: where a partition without a committed offset starts. ``co_partitioned``: partition N of
    every subscribed topic with the same partition count goes to the same member (the range assignor), as a worker
    needs whose state is keyed like its input topics (scoring); otherwise aiokafka's round robin.
    ``fetch_max_bytes`` / ``partition_fetch_bytes``: how much one fetch brings at most, in all and per partition
    (aiokafka's defaults, 50 MiB and 1 MiB; ``getmany`` hands over all of it at once, so under a backlog across many
    partitions that much is held as record objects; a record larger than either still comes, alone).
    ``time_ordered``: for a ``BatchConsumer`` reading in time order, whose paused partitions (``TimeOrder``) would
    otherwise wait for the broker's long poll of the others (aiokafka sends one fetch per broker at a time; a fetch
    of partitions with nothing new is answered after ``fetch_max_wait_ms``, 500 ms by default): 50 ms."""
    strategy = (RangePartitionAssignor,) if co_partitioned else (RoundRobinPartitionAssignor,)
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group_id, client_id=client_id, group_instance_id=group_instance_id,
        enable_auto_commit=False, auto_offset_reset=auto_offset_reset,
        session_timeout_ms=int(session_timeout_s * 1000),
        heartbeat_interval_ms=int(min(3.0, session_timeout_s / 5) * 1000),
        # a batch is handled in well under a second; a member stuck longer than this is replaced
        max_poll_interval_ms=300_000, partition_assignment_strategy=strategy, fetch_max_bytes=fetch_max_bytes,
        max_partition_fetch_bytes=partition_fetch_bytes, fetch_max_wait_ms=50 if time_ordered else 500, **security)


def producer(*, bootstrap: str, client_id: str, max_request_bytes: int = 1_048_576,
             security: dict[str, Any]) -> AIOKafkaProducer:
    """acks=all with idempotence; the 5 ms linger lets a batch's records share produce requests."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap, client_id=client_id, acks="all", enable_idempotence=True,
                            linger_ms=5, max_request_size=max_request_bytes, max_batch_size=256 * 1024,
                            request_timeout_ms=60_000, **security)


_M = 0x5BD1E995


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of a record key, as ``aiokafka.partitioner.murmur2`` (the Java client's ``Utils.murmur2``)
    computes it, in fewer Python steps: four bytes at a time unpacked in C. ≈ 4.5 instead of ≈ 10 µs for a
    36-byte key, paid once per record ingest sends (a unit test compares the two over random keys)."""
    length = len(data)
    h = 0x9747B28C ^ length
    whole = length & ~3
    for (k,) in struct.iter_unpack("<I", data[:whole]):
        k = (k * _M) & 0xFFFFFFFF
        k = ((k ^ (k >> 24)) * _M) & 0xFFFFFFFF
        h = ((h * _M) & 0xFFFFFFFF) ^ k
    extra = length & 3
    if extra:
        if extra == 3:
            h ^= data[whole + 2] << 16
        if extra >= 2:
            h ^= data[whole + 1] << 8
        h = ((h ^ data[whole]) * _M) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * _M) & 0xFFFFFFFF
    return h ^ (h >> 15)


def keys_for_partitions(prefix: str, partitions: int) -> list[str]:
    """A key for each partition, in partition order, that the default partitioner (murmur2 of the key) sends there:
    ``prefix`` and the smallest number that lands on it. For a message every partition must carry (linkage's
    progress reports, contracts/topics/linkage_facts.py)."""
    keys: dict[int, str] = {}
    n = 0
    while len(keys) < partitions:
        key = f"{prefix}{n}"
        keys.setdefault((murmur2(key.encode()) & 0x7FFFFFFF) % partitions, key)
        n += 1
    return [keys[p] for p in range(partitions)]


class ProduceBatch:
    """A handler batch's output records, gathered per partition into record batches (``create_batch`` /
    ``send_batch``) and handed to the producer when the batch ends, instead of one ``send`` each: ``send``
    costs a coroutine, a metadata wait, a partition lookup and a delivery future per record (≈ a tenth of
    ingest's CPU per event, docs/scaling.md). The same records reach the same partitions in the same order per
    partition: a keyed record's partition is the one the producer's own default partitioner picks (murmur2 of the
    key over the topic's sorted partitions; ``murmur2`` here computes the same hash faster); a record without a
    key, or one too large to share a batch (``alone_from_bytes``), goes through ``send`` as before, after the
    records added before it to the same topic. Idempotence and acks are the
    producer's (its accumulator assigns sequence numbers to these batches as to its own)."""

    def __init__(self, producer: AIOKafkaProducer, *, alone_from_bytes: int = 64 * 1024) -> None:
        self.producer = producer
        self.alone_from_bytes = alone_from_bytes
        self._partitions: dict[str, list[int]] = {}
        # in the order to send: ("batch", topic, partition, builder, records) or ("one", topic, key, value, headers)
        self._queue: list[tuple[Any, ...]] = []
        self._open: dict[tuple[str, int], list[Any]] = {}  # (topic, partition) → its queue entry still filling

    async def topics(self, *topics: str) -> None:
        """Learns the topics' partitions (the producer's metadata); once before ``add`` for each topic."""
        for topic in topics:
            if topic not in self._partitions:
                self._partitions[topic] = sorted(await self.producer.partitions_for(topic))

    def partitions(self, topic: str) -> int:
        """How many partitions the topic has (``topics`` first)."""
        return len(self._partitions[topic])

    def add(self, topic: str, value: bytes | None, *, key: bytes | None, headers: Headers | None = None) -> None:
        if key is None or len(value or b"") + len(key) >= self.alone_from_bytes:
            # sent after what was added before it; what is added after it to the topic goes in new batches
            self._open = {held: entry for held, entry in self._open.items() if held[0] != topic}
            self._queue.append(("one", topic, key, value, headers))
            return
        partitions = self._partitions[topic]  # sorted, as the default partitioner takes them
        partition = partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]
        entry = self._open.get((topic, partition))
        if entry is None or entry[3].append(key=key, value=value, timestamp=None, headers=headers or []) is None:
            builder = self.producer.create_batch()
            builder.append(key=key, value=value, timestamp=None, headers=headers or [])
            entry = ["batch", topic, partition, builder, 0]
            self._queue.append(entry)  # type: ignore[arg-type]
            self._open[(topic, partition)] = entry
        entry[4] += 1

    def __len__(self) -> int:
        return sum(entry[4] if entry[0] == "batch" else 1 for entry in self._queue)

    async def send(self) -> list[tuple[asyncio.Future[Any], str, int]]:
        """Hands everything added to the producer, in order; returns each delivery's future with its topic and its
        number of records. Empties the batch."""
        queue, self._queue, self._open = self._queue, [], {}
        futures: list[tuple[asyncio.Future[Any], str, int]] = []
        for entry in queue:
            if entry[0] == "batch":
                _, topic, partition, builder, count = entry
                builder.close()  # complete: sent at the producer's next drain, not after its linger (5 ms)
                futures.append((await self.producer.send_batch(builder, topic, partition=partition), topic, count))
            else:
                _, topic, key, value, headers = entry
                futures.append((await self.producer.send(topic, value, key=key, headers=headers), topic, 1))
        return futures


LOG_LEVELS = {"crit": logging.CRITICAL, "error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO,
              "debug": logging.DEBUG}


def worker_logging(level_name: str) -> None:
    """A worker's log lines at its ``LOG_LEVEL``; the Kafka clients' chatter at info (every join, every metadata
    refresh) stays off."""
    level = LOG_LEVELS[level_name]
    logging.basicConfig(level=level, format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s")
    for name in ("aiokafka", "kafka"):
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


class WorkerPrioritySettings(BaseSettings):
    """A worker's ``CPU_NICE`` (under its service's prefix), read by ``worker_priority`` at start-up."""

    cpu_nice: int = Field(0, ge=0, le=19, description="CPU priority of the worker's threads (nice: 0 normal; "
                          "higher yields a shared machine's cores to the other services; docs/scaling.md, One machine)")


def worker_priority(nice: int) -> None:
    """Every thread of this process at CPU priority ``nice`` (0: normal, up to 19: yields the cores to everything
    else). On one small machine the services share two cores: one that gives way lets the pipeline's single-instance
    stage (linkage) have the cores first (docs/scaling.md, "One machine"). Linux keeps a priority per thread, so each
    thread started so far is set, and threads started later inherit it. Lowering only (``nice`` ≥ 0): raising
    priority needs privileges a service does not have."""
    if nice <= 0:
        return
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:  # no /proc: this thread, and the ones it starts
        threads = [0]
    for tid in threads:
        try:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
        except OSError as exc:  # a thread that ended meanwhile
            logging.getLogger("tsunagu").debug("priority not set on a thread (%s)", type(exc).__name__)


def serve(name: str, run: Callable[[asyncio.Event], Awaitable[None]], *, bootstrap: str, retry_max_s: float,
          client_options: dict[str, Any], metrics_port: int, metrics_host: str = "127.0.0.1",
          ready: Callable[[], None] | None = None) -> None:
    """A worker process: waits for the broker (``wait_for_broker``: no deadline, a service outlives an outage),
    calls ``ready`` (what needs the broker up), starts the Prometheus exporter (port 0: none), then runs
    ``run(stop)`` until SIGTERM or SIGINT sets ``stop``. An error ends the process with exit code 1, the batch in
    hand uncommitted (it is read again by the group's next member)."""
    logger = logging.getLogger(f"tsunagu.{name}")
    try:
        wait_for_broker(bootstrap, retry_max_s, client_options, logger=f"tsunagu.{name}")
        if ready is not None:
            ready()
        if metrics_port:
            start_http_server(metrics_port, addr=metrics_host)
            logger.info("%s: metrics on %s:%d/metrics", name, metrics_host, metrics_port)
        asyncio.run(_until_signalled(run))
    except Exception:
        logger.exception("%s: worker stopped on an error; the batch in hand was not committed", name)
        sys.exit(1)


async def _until_signalled(run: Callable[[asyncio.Event], Awaitable[None]]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(stop)


async def every(interval_s: float, duty: Callable[[], Awaitable[None]], stop: asyncio.Event, *, name: str,
                first_after_s: float | None = None) -> None:
    """A worker-lifetime duty: ``duty`` after ``first_after_s`` (default: one interval; 0: at once), then every
    ``interval_s``, until ``stop`` is set (each wait is on ``stop``, bounded by the interval). A failure is logged
    with ``name`` and its exception's type (no values) and tried again at the next round."""
    wait = interval_s if first_after_s is None else first_after_s
    while not stop.is_set():
        if wait > 0:
            try:
                await asyncio.wait_for(stop.wait(), timeout=wait)
                return
            except TimeoutError:
                pass
        wait = interval_s
        try:
            await duty()
        except Exception as exc:
            log.error("%s failed (%s); tried again in %.0f s", name, type(exc).__name__, interval_s)
