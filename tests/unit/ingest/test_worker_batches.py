"""The worker's batch step with fakes: what is sent, and when ids are confirmed."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from contracts.envelope import Envelope
from contracts.kafka_batches import murmur2
from contracts.progress import Progress
from contracts.topics import ingest_source_status
from contracts.topics.ingest_deadletter import DeadLetterHeaders
from contracts.topics.ingest_records import ProgressV1
from services.ingest.adapters.dedup import MemoryDedupStore
from services.ingest.entrypoints.examples import example_event, topic_of
from services.ingest.entrypoints.worker import IngestBatch, SourceStatusReports
from services.ingest.metrics import IngestMetrics
from services.ingest.service_layer.handlers import IngestHandler
from services.ingest.service_layer.school_import import CSV_SERVICE
from tests.unit.fake_producer import FakeProducer

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

    topics = sorted(topic for topic, *_ in producer.sent)
    assert topics == ["ingest.deadletter.v1", "ingest.records.v1", "ingest.records.v1"], "the repeat of a dropped"
    assert [json.loads(v or b"")["id"] for t, _, v, _ in producer.sent if t == "ingest.records.v1"] == ["a", "b"]
    _, key, value, headers = next(sent for sent in producer.sent if sent[0] == "ingest.deadletter.v1")
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


STATUS = ingest_source_status.TOPIC.name


def _reports(h: IngestHandler, producer: FakeProducer, interval_s: float) -> SourceStatusReports:
    return SourceStatusReports(h, producer.send, STATUS, interval_s)


def _status_sent(producer: FakeProducer) -> list[str]:
    return [json.loads(value or b"")["data"]["system"] for topic, _, value, _ in producer.sent if topic == STATUS]


async def _until(condition: Any, timeout_s: float = 2.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "not within the deadline"
        await asyncio.sleep(0.01)


def test_the_first_source_status_report_follows_the_first_batch_not_the_interval() -> None:
    """After a fresh start casework's freshness panel showed every system 「受信記録なし」 until ingest's first report,
    which came one interval (30 s) after the start."""
    h, producer = handler(), FakeProducer()
    reports = _reports(h, producer, interval_s=3600)
    batch = IngestBatch(h, producer, after=reports.batch_done)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(reports.run(stop))
        await asyncio.sleep(0.05)
        assert _status_sent(producer) == [], "nothing heard yet: no report"
        await _run_batch(batch, producer, [good("a")])
        await _until(lambda: _status_sent(producer) == ["childcare"])
        # a batch from systems already reported is no news: the next report waits for the interval
        await _run_batch(batch, producer, [good("b", 1)])
        await asyncio.sleep(0.1)
        assert _status_sent(producer) == ["childcare"]
        stop.set()
        await asyncio.wait_for(task, 1)

    asyncio.run(scenario())


def test_a_batch_that_hears_from_a_new_system_is_reported_at_once_and_all_are_reported_every_interval() -> None:
    h, producer = handler(), FakeProducer()
    reports = _reports(h, producer, interval_s=0.3)
    batch = IngestBatch(h, producer, after=reports.batch_done)
    other = example_event("maternal_child_health.birth.recorded", event_id="r-1")

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(reports.run(stop))
        await _run_batch(batch, producer, [good("a")])
        await _until(lambda: len(_status_sent(producer)) == 1)
        started = asyncio.get_running_loop().time()
        await _run_batch(batch, producer, [Rec(topic_of(other["type"]), 0, 0, json.dumps(other).encode())])
        await _until(lambda: len(_status_sent(producer)) == 3, timeout_s=0.2)  # before the interval
        assert asyncio.get_running_loop().time() - started < 0.2
        await _until(lambda: len(_status_sent(producer)) == 5)  # the interval's report: both systems again
        stop.set()
        await asyncio.wait_for(task, 1)

    asyncio.run(scenario())
    assert sorted(_status_sent(producer)[1:3]) == sorted(_status_sent(producer)[3:5])


def _progress_reports(producer: FakeProducer) -> list[tuple[bytes | None, bytes | None]]:
    return [(key, value) for topic, key, value, _ in producer.sent
            if topic == "ingest.records.v1" and key and key.startswith(b"ingest-progress:")]


def test_while_source_events_are_behind_a_progress_report_goes_to_every_records_partition() -> None:
    """Linkage passes ingest's count of source events not handled yet on to scoring (contracts/progress.py): while
    ingest runs ahead of linkage, linkage's own input grows though the backlog shrinks."""
    h, producer = handler(), FakeProducer()
    batch = IngestBatch(h, producer, progress=Progress(2.0, 30.0, stage="ingest"), unread=lambda: 40_000)
    old = int((datetime.now(UTC).timestamp() - 600) * 1000)  # handed over ten minutes ago: a backlog

    asyncio.run(_run_batch(batch, producer, [replace(good("a", 0), timestamp=old),
                                             replace(good("b", 1), timestamp=old + 5)]))

    reports = _progress_reports(producer)
    assert sorted((murmur2(key or b"") & 0x7FFFFFFF) % 3 for key, _ in reports) == [0, 1, 2], "one per partition"
    envelope = Envelope[ProgressV1].model_validate_json(reports[0][1] or b"")
    assert envelope.type == "ingest.progress.reported" and envelope.subject is None
    assert envelope.data.records == 2 and envelope.data.unread == 40_000
    assert envelope.data.source_time == datetime.fromtimestamp((old + 5) / 1000, UTC).isoformat()
    assert envelope.data.reporter is not None and envelope.data.reporter.startswith("ingest-")
    assert len([s for s in producer.sent if s[0] == "ingest.records.v1"]) == 2 + 3, "beside the two records"

    asyncio.run(_run_batch(batch, producer, [replace(good("c", 2), timestamp=old + 9)]))
    assert len(_progress_reports(producer)) == 3, "none again within the interval"


def test_live_source_events_bring_no_progress_report() -> None:
    h, producer = handler(), FakeProducer()
    batch = IngestBatch(h, producer, progress=Progress(2.0, 30.0, stage="ingest"), unread=lambda: 0)
    now = int(datetime.now(UTC).timestamp() * 1000)
    asyncio.run(_run_batch(batch, producer, [replace(good("a", 0), timestamp=now)]))
    assert _progress_reports(producer) == [] and len(producer.sent) == 1
