"""The worker's Kafka side without Faust: a consumer group read in batches of records, a producer, offsets committed
only after a batch's effects are on the broker (issue 19, docs/scaling.md).

A Faust agent costs ≈ 0.14 ms of CPU per message before any handler runs (an ``Event``, the conductor's queue, an
ack, sensor calls and ≈ 15–20 event-loop callbacks per message); ``AIOKafkaConsumer.getmany`` hands over what one
fetch brought as a list of records for ≈ 0.01 ms each. ``BatchConsumer.run`` gives each batch to a handler
coroutine and, when that returns (the handler awaits its own sends), commits the next offset of every partition in
the batch. At-least-once: a kill between the sends and the commit emits the batch again on restart (the effects
are idempotent downstream). One task reads and handles: concurrency 1 per partition, partition order kept.

Rebalances: the listener takes the same lock the batch holds, so a partition is given up only after the batch in
hand is handled and committed; a batch read across a rebalance and not yet started is not handled: the partitions
still held are sought back to where it began, the others are left to their new owner (``_read_again``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.structs import OffsetAndMetadata

log = logging.getLogger("tsunagu.ingest")

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


BatchHandler = Callable[[list[Any]], Awaitable[None]]


class _Consumer(Protocol):  # the part of AIOKafkaConsumer used here (a fake in the unit tests)
    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None) -> dict[TopicPartition, list[Any]]: ...
    async def commit(self, offsets: Any = None) -> None: ...
    def assignment(self) -> set[TopicPartition]: ...
    def seek(self, partition: TopicPartition, offset: int) -> None: ...


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, owner: BatchConsumer) -> None:
        self._owner = owner

    async def on_partitions_revoked(self, revoked: Collection[TopicPartition]) -> None:
        await self._owner.revoked(revoked)

    async def on_partitions_assigned(self, assigned: Collection[TopicPartition]) -> None:
        self._owner.assigned(assigned)


class BatchConsumer:
    """Runs ``handler`` over batches of records of ``consumer`` and commits each batch after it; see the module."""

    def __init__(self, consumer: _Consumer, *, max_records: int, window_s: float) -> None:
        self.consumer = consumer
        self.max_records = max_records
        self.window_ms = max(1, int(window_s * 1000))
        self.generation = 0  # changes at every rebalance
        self.ready = asyncio.Event()  # set at the first assignment
        self.partitions: set[TopicPartition] = set()
        self._lock = asyncio.Lock()  # held while a batch is handled and committed

    def listener(self) -> ConsumerRebalanceListener:
        return _Rebalance(self)

    async def revoked(self, revoked: Collection[TopicPartition]) -> None:
        async with self._lock:  # the batch in hand finishes (effects and commit) before its partitions go
            self.generation += 1
        if revoked:
            log.info("ingest: %d partitions revoked", len(revoked))

    def assigned(self, assigned: Collection[TopicPartition]) -> None:
        self.generation += 1
        self.partitions = set(assigned)
        log.info("ingest: %d partitions assigned", len(assigned))
        if not self.ready.is_set():
            self.ready.set()
            log.info("ingest: Worker ready")

    async def run(self, handler: BatchHandler, stop: asyncio.Event) -> None:
        """Until ``stop`` is set; returns after the batch in hand is handled and committed. A handler's exception
        propagates with the batch uncommitted (it is read again by whoever owns its partitions next)."""
        while not stop.is_set():
            generation = self.generation
            fetched = await self.consumer.getmany(timeout_ms=self.window_ms, max_records=self.max_records)
            if not fetched:
                continue
            async with self._lock:
                if generation != self.generation:
                    self._read_again(fetched)
                    continue
                await self._handle(fetched, handler)

    def _read_again(self, fetched: dict[TopicPartition, list[Any]]) -> None:
        """A batch read across a rebalance: it may belong to the old assignment (its partitions' positions were
        reset to the committed offsets: where it starts) or to the new one (the positions moved past it). Either
        way the partitions still held go back to the batch's first offset; the others are their new owner's."""
        assigned = self.consumer.assignment()
        for tp, batch in fetched.items():
            if batch and tp in assigned:
                self.consumer.seek(tp, batch[0].offset)

    async def _handle(self, fetched: dict[TopicPartition, list[Any]], handler: BatchHandler) -> None:
        # Partitions in turn, each in offset order; the handler sees one list (its sends batch together).
        records = [record for batch in fetched.values() for record in batch]
        await handler(records)
        offsets = {tp: OffsetAndMetadata(batch[-1].offset + 1, "") for tp, batch in fetched.items() if batch}
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # The group moved on (a rebalance this member missed): its new owner handles the batch again; the
            # effects are idempotent, so this costs a second delivery, not a wrong result.
            log.warning("ingest: offsets of a handled batch not committed (%s); it will be delivered again",
                        type(exc).__name__)


def consumer(*, bootstrap: str, group_id: str, client_id: str,
             group_instance_id: str | None, session_timeout_s: float, security: dict[str, Any]) -> AIOKafkaConsumer:
    """A group member that commits only what ``BatchConsumer`` tells it to (call in the running loop)."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group_id, client_id=client_id, group_instance_id=group_instance_id,
        enable_auto_commit=False, auto_offset_reset="earliest",
        session_timeout_ms=int(session_timeout_s * 1000),
        heartbeat_interval_ms=int(min(3.0, session_timeout_s / 5) * 1000),
        # a batch is handled in well under a second; a member stuck longer than this is replaced
        max_poll_interval_ms=300_000, **security)


def producer(*, bootstrap: str, client_id: str, max_request_bytes: int, security: dict[str, Any]) -> AIOKafkaProducer:
    """acks=all with idempotence; the 5 ms linger lets a batch's records share produce requests."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap, client_id=client_id, acks="all", enable_idempotence=True,
                            linger_ms=5, max_request_size=max_request_bytes, max_batch_size=256 * 1024,
                            request_timeout_ms=60_000, **security)
