"""The worker's batch step with fakes: records of one topic in a row go to their use case together, in order, and
the outbox is cleared only after the broker acknowledged what was sent."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from contracts.envelope import Envelope, envelope_dict
from contracts.kafka_batches import murmur2
from contracts.progress import Progress
from contracts.topics.linkage_facts import PROGRESS_EVENT_TYPE, ProgressV1
from services.linkage.entrypoints.worker import LinkageBatch, purge_in_steps
from services.linkage.service_layer.handlers import Incoming
from tests.unit.fake_producer import FakeProducer, until

pytestmark = pytest.mark.unit


@dataclass
class Rec:
    topic: str
    offset: int
    partition: int = 0
    key: bytes | None = b"k"
    value: bytes = b"{}"


class FakeStore:
    def __init__(self) -> None:
        self.acknowledged: list[int] = []
        self.writing: concurrent.futures.Future[None] | None = None  # a transaction its writer has in hand

    def acknowledge(self, seqs: list[int]) -> None:
        self.acknowledged.extend(seqs)

    def durable(self) -> concurrent.futures.Future[None] | None:
        return self.writing


class FakeClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


class FakeCounter:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def labels(self, reason: str) -> FakeCounter:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        return self

    def inc(self) -> None:
        pass


class FakeMetrics:
    def __init__(self) -> None:
        self.records_failed = FakeCounter()


class FakeService:
    def __init__(self) -> None:
        self.store = FakeStore()
        self.calls: list[tuple[str, list[int]]] = []
        self.seq = 0
        self.progress = Progress(0.0, 30.0)  # none unless a test sets an interval
        self.clock = FakeClock()
        self.source_uri = "/tsunagu/linkage"
        self.metrics = FakeMetrics()

    def _entries(self, kind: str, batch: list[Incoming]) -> list[tuple[int, Any]]:
        self.calls.append((kind, [item.offset for item in batch]))
        self.seq += 1
        return [(self.seq, ("linkage.facts.v1", b"k", f"{kind}{self.seq}".encode(), {"h": "v"}))]

    def handle_records(self, batch: list[Incoming]) -> list[tuple[int, Any]]:
        self.progress.handled(len(batch), self.source_time)
        return self._entries("records", batch)

    source_time: str | None = None  # of the records the fake handles

    def handle_decisions(self, batch: list[Incoming]) -> list[tuple[int, Any]]:
        return self._entries("decisions", batch)


def test_runs_of_one_topic_go_together_in_order_and_the_outbox_is_cleared_after_the_acknowledgement() -> None:
    service, producer = FakeService(), FakeProducer()
    batch = LinkageBatch(service, producer, records_topic="r", decisions_topic="d")  # type: ignore[arg-type]
    records = [Rec("r", 1), Rec("r", 2), Rec("d", 7), Rec("r", 3)]

    async def scenario() -> None:
        task = asyncio.create_task(batch(records))
        await until(lambda: bool(producer.acks), "the batch's outbox sent")
        for ack in producer.acks[:-1]:
            ack.set_result(None)
            for _ in range(3):
                await asyncio.sleep(0)
            assert service.store.acknowledged == [], "cleared only once everything sent is acknowledged"
        producer.acks[-1].set_result(None)
        await task

    asyncio.run(scenario())

    assert service.calls == [("records", [1, 2]), ("decisions", [7]), ("records", [3])]
    assert [v for _, _, v, _ in producer.sent] == [b"records1", b"decisions2", b"records3"]
    assert producer.sent[0][3] == [("h", b"v")]
    assert service.store.acknowledged == [1, 2, 3]


def test_apply_returns_with_the_batch_handed_over_and_its_finish_clears_the_outbox_after_the_broker() -> None:
    """The reader applies the next batch while this one's finish waits for the broker (BatchConsumer._handle)."""
    service, producer = FakeService(), FakeProducer()
    batch = LinkageBatch(service, producer, records_topic="r", decisions_topic="d")  # type: ignore[arg-type]

    async def scenario() -> None:
        first = await batch.apply([Rec("r", 1)])
        second = await batch.apply([Rec("r", 2)])  # applied while the first is not acknowledged yet
        assert [v for _, _, v, _ in producer.sent] == [b"records1", b"records2"], "handed over in order"
        finishing = asyncio.ensure_future(first)
        await asyncio.sleep(0)
        assert service.store.acknowledged == [], "not before the broker's acknowledgement"
        producer.acks[0].set_result(None)
        await finishing
        assert service.store.acknowledged == [1]
        producer.acks[1].set_result(None)
        await second

    asyncio.run(scenario())
    assert service.store.acknowledged == [1, 2]


def test_written_behind_a_batch_leaves_only_once_its_transaction_is_stored_and_after_the_batch_before() -> None:
    """SqliteStore's writer thread (``write_behind``): the next batch is applied while this one's transaction is
    written, but no outbox entry may reach the producer before its commit, and the batches keep their order."""
    service, producer = FakeService(), FakeProducer()
    batch = LinkageBatch(service, producer, records_topic="r", decisions_topic="d")  # type: ignore[arg-type]
    first_written, second_written = concurrent.futures.Future[None](), concurrent.futures.Future[None]()

    async def scenario() -> None:
        service.store.writing = first_written
        first = asyncio.ensure_future(await batch.apply([Rec("r", 1)]))
        service.store.writing = second_written
        second = asyncio.ensure_future(await batch.apply([Rec("r", 2)]))  # applied while the first is written
        for _ in range(5):
            await asyncio.sleep(0)
        assert producer.sent == [], "nothing before its transaction is stored"
        second_written.set_result(None)  # the later one written first: it still waits for the one before
        for _ in range(5):
            await asyncio.sleep(0)
        assert producer.sent == []
        first_written.set_result(None)
        await until(lambda: len(producer.sent) == 2, "both handed over")
        assert [v for _, _, v, _ in producer.sent] == [b"records1", b"records2"], "in their order"
        producer.acks[0].set_result(None)
        producer.acks[1].set_result(None)
        await first
        await second

    asyncio.run(scenario())
    assert service.store.acknowledged == [1, 2]


def test_a_batch_whose_transaction_failed_sends_nothing_and_fails_its_finish() -> None:
    service, producer = FakeService(), FakeProducer()
    batch = LinkageBatch(service, producer, records_topic="r", decisions_topic="d")  # type: ignore[arg-type]
    failed = concurrent.futures.Future[None]()
    failed.set_exception(OSError("disk full"))

    async def scenario() -> None:
        service.store.writing = failed
        finish = await batch.apply([Rec("r", 1)])
        with pytest.raises(OSError):
            await finish

    asyncio.run(scenario())
    assert producer.sent == [] and service.store.acknowledged == []


def test_a_transaction_not_written_in_time_sends_nothing_and_fails_the_finish(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.linkage.entrypoints import worker

    monkeypatch.setattr(worker, "WRITE_WAIT_S", 0.05)
    service, producer = FakeService(), FakeProducer()
    batch = LinkageBatch(service, producer, records_topic="r", decisions_topic="d")  # type: ignore[arg-type]

    async def scenario() -> None:
        service.store.writing = concurrent.futures.Future[None]()  # never written
        finish = await batch.apply([Rec("r", 1)])
        with pytest.raises(TimeoutError):
            await finish

    asyncio.run(scenario())
    assert producer.sent == [] and service.store.acknowledged == []


def test_a_failed_send_leaves_the_outbox_entry_for_the_next_start() -> None:
    service, producer = FakeService(), FakeProducer()
    batch = LinkageBatch(service, producer, records_topic="r", decisions_topic="d")  # type: ignore[arg-type]

    async def scenario() -> None:
        task = asyncio.create_task(batch([Rec("r", 1)]))
        await until(lambda: bool(producer.acks), "the batch's outbox sent")
        producer.acks[0].set_exception(ConnectionError("broker gone"))
        with pytest.raises(ConnectionError):
            await task

    asyncio.run(scenario())
    assert service.store.acknowledged == []


def test_a_batch_waiting_for_the_lock_runs_between_two_steps_of_the_retention_purge() -> None:
    service, producer = FakeService(), FakeProducer()
    batch = LinkageBatch(service, producer, records_topic="r", decisions_topic="d")  # type: ignore[arg-type]
    events: list[str] = []

    def steps() -> Iterator[list[tuple[int, Any]]]:
        for n in range(3):
            events.append(f"step {n}")
            yield [(100 + n, ("linkage.facts.v1", b"k", b"purged", {}))]

    async def scenario() -> None:
        purge = asyncio.create_task(purge_in_steps(batch, steps()))
        await until(lambda: bool(producer.acks), "purge step 0 sent")  # it holds the lock, waiting for the broker
        records = asyncio.create_task(batch([Rec("r", 1)]))  # arrives meanwhile: waits for the lock
        for _ in range(5):
            await asyncio.sleep(0)
        assert not service.calls, "no batch while a step holds the lock"
        def acknowledged_and_done() -> bool:
            producer.acknowledge_all()  # the broker acknowledges whatever was sent
            return purge.done() and records.done()

        await until(acknowledged_and_done, "the purge's three steps and the batch")
        await asyncio.gather(purge, records)

    asyncio.run(scenario())
    assert [e for e in events if e.startswith("step")] == ["step 0", "step 1", "step 2"]
    assert [v for _, _, v, _ in producer.sent] == [b"purged", b"records1", b"purged", b"purged"]  # the batch ran second
    assert service.store.acknowledged == [100, 1, 101, 102]


def _run_acknowledged(batch: LinkageBatch, producer: FakeProducer, records: list[Rec]) -> None:
    async def scenario() -> None:
        task = asyncio.create_task(batch(records))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while not task.done():
            assert loop.time() < deadline, "not within 5 s: the batch's sends acknowledged and the batch finished"
            for ack in producer.acks:
                if not ack.done():
                    ack.set_result(None)
            await asyncio.sleep(0)
        await task

    asyncio.run(scenario())


def test_while_records_are_behind_a_progress_report_goes_to_every_facts_partition_and_not_to_the_outbox() -> None:
    """Linkage's records may give no facts for a minute (adults' registry records); scoring must still learn that a
    backlog is being worked (contracts/topics/linkage_facts.py, ``ProgressV1``)."""
    service, producer = FakeService(), FakeProducer()
    service.progress = Progress(2.0, 30.0)
    service.source_time = (service.clock.at - timedelta(minutes=5)).isoformat()
    batch = LinkageBatch(service, producer, records_topic="r", decisions_topic="d")  # type: ignore[arg-type]
    batch.unread = lambda: 12_345

    _run_acknowledged(batch, producer, [Rec("r", 1), Rec("r", 2)])

    reports = [(key, value) for topic, key, value, _ in producer.sent if key and key.startswith(b"linkage-progress:")]
    assert len(reports) == 3, "one to each of the facts topic's partitions (the fake's three)"
    assert sorted((murmur2(key) & 0x7FFFFFFF) % 3 for key, _ in reports) == [0, 1, 2]
    envelope = Envelope[ProgressV1].model_validate_json(reports[0][1])
    assert envelope.type == PROGRESS_EVENT_TYPE
    assert envelope.data.records == 2 and envelope.data.source_time == service.source_time
    assert envelope.data.unread == 12_345 and envelope.data.reporter == service.progress.reporter
    assert orjson.loads(reports[0][1])["subject"] is None
    assert service.store.acknowledged == [1], "the outbox entry only: a report is not in the outbox"

    _run_acknowledged(batch, producer, [Rec("r", 3)])  # within the interval: no report yet
    assert sum(1 for _, key, _, _ in producer.sent if key and key.startswith(b"linkage-progress:")) == 3


def test_live_records_bring_no_progress_report() -> None:
    service, producer = FakeService(), FakeProducer()
    service.progress = Progress(2.0, 30.0)
    service.source_time = (service.clock.at - timedelta(seconds=1)).isoformat()
    batch = LinkageBatch(service, producer, records_topic="r", decisions_topic="d")  # type: ignore[arg-type]

    _run_acknowledged(batch, producer, [Rec("r", 1)])

    assert [key for _, key, _, _ in producer.sent] == [b"k"]


def _ingest_report(offset: int, unread: int | None, partition: int = 0) -> Rec:
    """Ingest's progress report as its worker writes it on ingest.records.v1 (contracts/progress.py)."""
    data = ProgressV1(records=500, source_time="2026-12-03T09:00:00+00:00", reporter="ingest-1", unread=unread)
    value = orjson.dumps(envelope_dict(data=data, type_="ingest.progress.reported", source="/tsunagu/ingest",
                                       subject=None))
    return Rec("r", offset, partition, f"ingest-progress:{partition}".encode(), value)


def test_ingests_report_is_not_a_record_and_its_count_goes_on_in_linkages_report_when_it_says_more() -> None:
    """While ingest runs ahead, linkage's own input grows though the backlog shrinks: what ingest had not handled
    when it wrote the report, read in order with the records, is what is not through linkage yet."""
    service, producer = FakeService(), FakeProducer()
    service.progress = Progress(2.0, 30.0)
    service.source_time = (service.clock.at - timedelta(minutes=5)).isoformat()
    batch = LinkageBatch(service, producer, records_topic="r", decisions_topic="d")  # type: ignore[arg-type]
    batch.unread = lambda: 12_345

    _run_acknowledged(batch, producer, [Rec("r", 1), _ingest_report(2, 90_000), Rec("r", 3)])

    assert service.calls == [("records", [1, 3])], "the report is not handed to the records' use case"
    reports = [value for _, key, value, _ in producer.sent if key and key.startswith(b"linkage-progress:")]
    # ingest's count, larger, less the batch's records (handled after the report was read: at most a batch more
    # than the records after it)
    assert Envelope[ProgressV1].model_validate_json(reports[0]).data.unread == 90_000 - 2


def test_linkages_own_count_goes_in_its_report_when_it_says_more_and_a_malformed_ingest_report_is_counted() -> None:
    service, producer = FakeService(), FakeProducer()
    service.progress = Progress(2.0, 30.0)
    service.source_time = (service.clock.at - timedelta(minutes=5)).isoformat()
    batch = LinkageBatch(service, producer, records_topic="r", decisions_topic="d")  # type: ignore[arg-type]
    batch.unread = lambda: 12_345

    _run_acknowledged(batch, producer, [_ingest_report(1, 1_000), Rec("r", 2, key=b"ingest-progress:0", value=b"{}")])

    assert service.calls == [] and service.metrics.records_failed.counts == {"invalid_progress": 1}
    assert [unread for unread, *_ in service.progress.upstream.values()] == [1_000]
    _run_acknowledged(batch, producer, [Rec("r", 3)])
    reports = [value for _, key, value, _ in producer.sent if key and key.startswith(b"linkage-progress:")]
    assert Envelope[ProgressV1].model_validate_json(reports[0]).data.unread == 12_345, "its own count, larger"
