"""The worker's batch step and batch reader with fakes: what is sent, when ids are confirmed, when offsets are
committed, and what a rebalance does to a batch in hand."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.structs import OffsetAndMetadata
from prometheus_client import CollectorRegistry

from contracts.topics.ingest_deadletter import DeadLetterHeaders
from services.ingest.adapters.dedup import MemoryDedupStore
from services.ingest.adapters.kafka_consumer import BatchConsumer, round_robin
from services.ingest.entrypoints.examples import example_event, topic_of
from services.ingest.entrypoints.worker import IngestBatch
from services.ingest.metrics import IngestMetrics
from services.ingest.service_layer.handlers import IngestHandler
from services.ingest.service_layer.school_import import CSV_SERVICE

pytestmark = pytest.mark.unit


@dataclass
class Rec:
    topic: str
    partition: int
    offset: int
    value: bytes | None
    key: bytes | None = b"k"
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    timestamp: int = 1_700_000_000_000


def good(event_id: str, offset: int = 0, partition: int = 0) -> Rec:
    event = example_event("childcare.enrolment.started", event_id=event_id)
    return Rec(topic_of(event["type"]), partition, offset, json.dumps(event).encode())


class FakeProducer:
    """Queues sends; acknowledges (or fails) them only when told, as the broker would later."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, Any]] = []
        self.acks: list[asyncio.Future[Any]] = []

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                   headers: Any = None) -> asyncio.Future[Any]:
        self.sent.append((topic, key, value, headers))
        ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        return ack

    def acknowledge_all(self, error: Exception | None = None) -> None:
        for ack in self.acks:
            if not ack.done():
                ack.set_exception(error) if error else ack.set_result(None)


class FixedClock:
    def now(self) -> datetime:
        return datetime(2026, 1, 5, tzinfo=UTC)


def handler(registry: CollectorRegistry | None = None) -> IngestHandler:
    return IngestHandler(dedup=MemoryDedupStore(), metrics=IngestMetrics(registry or CollectorRegistry()),
                         max_event_bytes=1 << 20, clock=FixedClock())


async def _run_batch(batch: IngestBatch, producer: FakeProducer, records: list[Rec],
                     error: Exception | None = None) -> asyncio.Task[None]:
    task = asyncio.create_task(batch(records))
    await asyncio.sleep(0)
    assert not task.done(), "the batch must wait for the broker's acknowledgements"
    producer.acknowledge_all(error)
    await asyncio.wait([task])
    return task


def test_records_and_dead_letters_are_sent_and_ids_confirmed_only_once_acknowledged() -> None:
    h, producer = handler(), FakeProducer()
    batch = IngestBatch(h, producer)
    dedup: MemoryDedupStore = h.dedup  # type: ignore[assignment]

    async def scenario() -> None:
        task = asyncio.create_task(batch([good("a", 0), Rec("source.childcare.v1", 0, 1, b"not json"),
                                          good("a", 2), good("b", 3, partition=1)]))
        await asyncio.sleep(0)
        assert dedup.confirmed == set() and dedup.reserved == {("childcare", "a"), ("childcare", "b")}
        producer.acknowledge_all()
        await task

    asyncio.run(scenario())

    topics = [topic for topic, *_ in producer.sent]
    assert topics == ["ingest.records.v1", "ingest.deadletter.v1", "ingest.records.v1"], "the repeat of a dropped"
    assert [json.loads(v or b"")["id"] for t, _, v, _ in producer.sent if t == "ingest.records.v1"] == ["a", "b"]
    _, key, value, headers = producer.sent[1]
    dlq = DeadLetterHeaders.from_kafka(headers)
    assert (key, value, dlq.error_class, dlq.offset) == (b"k", b"not json", "not_json", 1)
    assert dedup.confirmed == {("childcare", "a"), ("childcare", "b")} and dedup.reserved == set()


def test_a_failed_send_raises_and_leaves_the_ids_new_for_the_next_delivery() -> None:
    registry = CollectorRegistry()
    h, producer = handler(registry), FakeProducer()
    batch = IngestBatch(h, producer)

    async def scenario() -> asyncio.Task[None]:
        return await _run_batch(batch, producer, [good("a"), good("b", 1), Rec("source.childcare.v1", 0, 2, b"x")],
                                error=ConnectionError("broker gone"))

    task = asyncio.run(scenario())
    assert isinstance(task.exception(), ConnectionError)
    assert registry.get_sample_value("tsunagu_ingest_deadletter_publish_failures_total") == 1
    dedup: MemoryDedupStore = h.dedup  # type: ignore[assignment]
    assert dedup.confirmed == set() and dedup.reserved == set()

    producer2 = FakeProducer()
    asyncio.run(_run_batch(IngestBatch(h, producer2), producer2, [good("a"), good("b", 1)]))
    assert len(producer2.sent) == 2, "delivered again, both are emitted again"


def test_the_school_importers_dead_letters_are_counted_and_not_sent_anywhere() -> None:
    registry = CollectorRegistry()
    h, producer = handler(registry), FakeProducer()
    headers = DeadLetterHeaders(reason="r", error_class="invalid_value", topic="source.school-affairs.v1",
                                partition=-1, offset=3, event_id=None, system="school_affairs").to_kafka()
    records = [Rec("ingest.deadletter.v1", 0, 0, b"row", headers=[*headers, ("tsunagu.dlq.service", b"x")]),
               Rec("ingest.deadletter.v1", 0, 1, b"row", headers=[*headers, ("tsunagu.dlq.service",
                                                                           CSV_SERVICE.encode())])]

    asyncio.run(IngestBatch(h, producer)(records))

    assert producer.sent == []
    assert registry.get_sample_value("tsunagu_ingest_events_failed_total",
                                     {"reason": "invalid_value", "intake": "csv"}) == 1, "only the importer's one"


class FakeConsumer:
    def __init__(self, batches: list[dict[TopicPartition, list[Rec]]]) -> None:
        self.batches = batches
        self.commits: list[dict[TopicPartition, OffsetAndMetadata]] = []
        self.on_fetch: Any = None
        self.assigned: set[TopicPartition] = set()
        self.seeks: list[tuple[TopicPartition, int]] = []

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None) -> dict[TopicPartition, list[Rec]]:
        await asyncio.sleep(0)
        if self.on_fetch is not None:
            await self.on_fetch()
        return self.batches.pop(0) if self.batches else {}

    async def commit(self, offsets: Any = None) -> None:
        self.commits.append(offsets)

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks.append((partition, offset))


TP0, TP1 = TopicPartition("source.childcare.v1", 0), TopicPartition("source.childcare.v1", 1)


def _reader(consumer: FakeConsumer) -> BatchConsumer:
    return BatchConsumer(consumer, max_records=500, window_s=0.01)


def test_each_batch_is_committed_after_its_handler_at_the_next_offset_of_every_partition() -> None:
    consumer = FakeConsumer([{TP0: [good("a", 5), good("b", 6)], TP1: [good("c", 9, 1)]}, {TP0: [good("d", 7)]}])
    reader = _reader(consumer)
    seen: list[tuple[list[int], int]] = []

    async def handle(records: list[Rec]) -> None:
        seen.append(([r.offset for r in records], len(consumer.commits)))
        if not consumer.batches:
            stop.set()

    stop = asyncio.Event()

    async def scenario() -> None:
        await reader.run(handle, stop)

    asyncio.run(scenario())

    assert seen == [([5, 9, 6], 0), ([7], 1)], "partitions in turn, each in order, each batch before its commit"
    assert consumer.commits == [{TP0: OffsetAndMetadata(7, ""), TP1: OffsetAndMetadata(10, "")},
                                {TP0: OffsetAndMetadata(8, "")}]


def test_a_failing_handler_stops_the_reader_with_its_batch_uncommitted() -> None:
    consumer = FakeConsumer([{TP0: [good("a", 5)]}])

    async def handle(records: list[Rec]) -> None:
        raise ConnectionError("broker gone")

    with pytest.raises(ConnectionError):
        asyncio.run(_reader(consumer).run(handle, asyncio.Event()))
    assert consumer.commits == []


def test_a_revocation_waits_for_the_batch_in_hand_and_a_batch_read_before_a_rebalance_is_dropped() -> None:
    consumer = FakeConsumer([{TP0: [good("a", 5)]}, {TP0: [good("b", 6)]}, {TP1: [good("c", 9, 1)]}])
    reader = _reader(consumer)
    events: list[str] = []
    stop = asyncio.Event()
    revocation: list[asyncio.Task[None]] = []
    rebalanced: list[bool] = []

    async def handle(records: list[Rec]) -> None:
        offsets = [r.offset for r in records]
        events.append(f"handle {offsets}")
        if offsets == [5]:  # a rebalance starts while this batch is in hand
            revocation.append(asyncio.create_task(revoke()))
            await asyncio.sleep(0.01)
            events.append("handled [5]")
        if offsets == [9]:
            stop.set()

    async def revoke() -> None:
        await reader.revoked({TP0})
        events.append("revoked")

    async def after_fetch() -> None:
        if revocation and not rebalanced:
            await revocation[0]  # the rebalance completes while the next batch is on its way to the reader
            reader.assigned({TP1})
            consumer.assigned = {TP1}
            rebalanced.append(True)

    consumer.on_fetch = after_fetch

    asyncio.run(reader.run(handle, stop))

    assert events == ["handle [5]", "handled [5]", "revoked", "handle [9]"], "[6] read before the rebalance: dropped"
    assert consumer.commits == [{TP0: OffsetAndMetadata(6, "")}, {TP1: OffsetAndMetadata(10, "")}]
    assert consumer.seeks == [], "TP0 went to another member: nothing to read again here"
    assert reader.ready.is_set()


def test_a_batch_read_while_the_first_assignment_arrives_is_read_again_from_its_first_offset() -> None:
    # The group is joined inside getmany: the records it returns belong to the new assignment, whose positions
    # have moved past them; handling nothing and moving on would skip them.
    consumer = FakeConsumer([{TP0: [good("a", 5), good("b", 6)], TP1: [good("c", 9, 1)]}, {TP0: [good("a", 5)]}])
    reader = _reader(consumer)
    stop = asyncio.Event()
    handled: list[list[int]] = []

    async def join() -> None:
        if not reader.ready.is_set():
            await reader.revoked(set())
            reader.assigned({TP0})
            consumer.assigned = {TP0}

    async def handle(records: list[Rec]) -> None:
        handled.append([r.offset for r in records])
        stop.set()

    consumer.on_fetch = join
    asyncio.run(reader.run(handle, stop))

    assert consumer.seeks == [(TP0, 5)], "TP0 read again from 5; TP1 is not this member's"
    assert handled == [[5]]


def test_what_a_fetch_brought_is_handled_topic_by_topic_and_partition_by_partition_in_turn_in_batches() -> None:
    a0, a1, b0 = TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)
    fetched = {a0: [Rec("a", 0, o, b"") for o in (1, 2, 3)], a1: [Rec("a", 1, o, b"") for o in (10, 11)],
               b0: [Rec("b", 0, 20, b"")]}
    assert [r.offset for r in round_robin(fetched)] == [1, 20, 10, 2, 11, 3], "Faust's delivery order"

    consumer = FakeConsumer([fetched])
    reader = BatchConsumer(consumer, max_records=3, window_s=0.01)
    stop = asyncio.Event()
    seen: list[list[int]] = []

    async def handle(records: list[Rec]) -> None:
        seen.append([r.offset for r in records])
        if len(seen) == 2:
            stop.set()

    asyncio.run(reader.run(handle, stop))

    assert seen == [[1, 20, 10], [2, 11, 3]]
    assert consumer.commits == [{a0: OffsetAndMetadata(2, ""), b0: OffsetAndMetadata(21, ""),
                                 a1: OffsetAndMetadata(11, "")},
                                {a0: OffsetAndMetadata(4, ""), a1: OffsetAndMetadata(12, "")}]
