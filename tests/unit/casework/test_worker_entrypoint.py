"""The casework worker's batch step, outbox relay and duties with fakes (no broker, no database): a batch goes to
``process_records`` whole, its topics as kinds; a failing batch is retried with the same records and never skipped;
a stop while it fails leaves it uncommitted; the relay publishes once more after a stop and ends."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

import pytest

from contracts.kafka_batches import every
from services.casework.entrypoints.worker import KINDS, CaseworkBatch, Stopped, relay_outbox, send_many_with
from services.casework.service_layer.worker import Item, Processed, WorkerHandlers
from tests.unit.casework.factories import flags_event, raw
from tests.unit.casework.test_worker_batches import FakeCasework

pytestmark = pytest.mark.unit


@dataclass
class Rec:
    topic: str
    offset: int
    value: bytes | None = b"{}"
    partition: int = 0


class Apply:
    """Stands in for the transaction: fails ``failures`` times, then returns what ``outcome`` says."""

    def __init__(self, failures: int = 0, alert: bool = False) -> None:
        self.failures = failures
        self.alert = alert
        self.calls: list[list[Item]] = []

    async def __call__(self, items: Sequence[Item]) -> list[Processed]:
        self.calls.append(list(items))
        if len(self.calls) <= self.failures:
            raise ConnectionError("database gone")
        return [Processed("alert_raised", ["a-1"]) if self.alert else Processed("stored", []) for _ in items]


def batch_with(apply: Apply, stop: asyncio.Event, ready: asyncio.Event) -> tuple[CaseworkBatch, FakeCasework]:
    c = FakeCasework()
    kinds = {f"p.{name}": kind for name, kind in KINDS.items()}
    return CaseworkBatch(WorkerHandlers(c), kinds, ready, stop, apply=apply, max_delay_s=0.01), c  # type: ignore[arg-type]


def test_a_batch_of_all_topics_goes_whole_to_one_transaction_with_its_kinds() -> None:
    apply, ready = Apply(alert=True), asyncio.Event()
    batch, _ = batch_with(apply, asyncio.Event(), ready)
    records = [Rec("p.scoring.flags.v1", 4), Rec("p.linkage.children.v1", 9, partition=2),
               Rec("p.linkage.review.v1", 1), Rec("p.ingest.source_status.v1", 3),
               Rec("p.evaluation.reports.v1", 5, value=None)]
    asyncio.run(batch(records))  # type: ignore[arg-type]
    assert apply.calls == [[("flags", b"{}", "p.scoring.flags.v1-0@4"),
                            ("profile", b"{}", "p.linkage.children.v1-2@9"),
                            ("review", b"{}", "p.linkage.review.v1-0@1"),
                            ("source_status", b"{}", "p.ingest.source_status.v1-0@3"),
                            ("report", None, "p.evaluation.reports.v1-0@5")]]
    assert ready.is_set(), "a batch that raised alerts wakes the relay"


def test_a_batch_without_alerts_does_not_wake_the_relay() -> None:
    ready = asyncio.Event()
    batch, _ = batch_with(Apply(), asyncio.Event(), ready)
    asyncio.run(batch([Rec("p.linkage.review.v1", 1)]))  # type: ignore[list-item]
    assert not ready.is_set()


def test_a_failing_batch_is_retried_with_the_same_records_until_it_succeeds() -> None:
    apply = Apply(failures=3)
    batch, c = batch_with(apply, asyncio.Event(), asyncio.Event())
    asyncio.run(batch([Rec("p.scoring.flags.v1", 1), Rec("p.scoring.flags.v1", 2)]))  # type: ignore[list-item]
    assert len(apply.calls) == 4 and all(call == apply.calls[0] for call in apply.calls)
    assert c.sample("tsunagu_casework_flags_failed_total", reason="retrying") == 3


def test_a_stop_while_the_batch_fails_raises_stopped_so_it_is_not_committed() -> None:
    stop = asyncio.Event()
    apply = Apply(failures=10**6)
    batch, _ = batch_with(apply, stop, asyncio.Event())
    batch.max_delay_s = 60.0

    async def scenario() -> None:
        task = asyncio.create_task(batch([Rec("p.scoring.flags.v1", 1)]))  # type: ignore[list-item]
        while len(apply.calls) < 2:
            await asyncio.sleep(0.01)
        stop.set()
        with pytest.raises(Stopped):
            await asyncio.wait_for(task, timeout=5)

    asyncio.run(scenario())


class Producer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes]] = []

    async def send(self, topic: str, value: bytes | None, key: bytes) -> asyncio.Future[None]:
        self.sent.append((topic, value, key))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done


def test_the_relay_publishes_what_is_ready_and_once_more_after_the_stop() -> None:
    c = FakeCasework()
    handlers = WorkerHandlers(c)  # type: ignore[arg-type]
    producer = Producer()
    ready, stop = asyncio.Event(), asyncio.Event()

    async def scenario() -> None:
        relay = asyncio.create_task(relay_outbox(handlers, send_many_with(producer), ready, stop, interval_s=60))
        handlers.process("flags", raw(flags_event("c-1", "40131", None, [3], tier_after="予防")), where="")
        ready.set()
        while len(producer.sent) < 1:
            await asyncio.sleep(0.01)
        handlers.process("flags", raw(flags_event("c-2", "40132", None, [9], tier_after="重点")), where="")
        stop.set()  # not woken by ``ready``: the stop itself makes it publish the rest, then end
        await asyncio.wait_for(relay, timeout=5)

    asyncio.run(scenario())
    assert [(topic, key) for topic, _, key in producer.sent] == [("t.casework.alerts.v1", b"c-1"),
                                                                  ("t.casework.alerts.v1", b"c-2")]
    assert all(m.published_at is not None for m in c.unit.cases.outbox)


def test_a_duty_runs_at_once_then_every_interval_and_ends_with_the_stop() -> None:
    stop, runs = asyncio.Event(), []

    async def duty() -> None:
        runs.append(1)
        if len(runs) == 3:
            stop.set()

    asyncio.run(asyncio.wait_for(every(0.01, duty, stop, name="held listings", first_after_s=0), timeout=5))
    assert len(runs) == 3


def test_a_delayed_duty_does_not_run_when_stopped_first() -> None:
    stop, runs = asyncio.Event(), []

    async def duty() -> None:
        runs.append(1)

    async def scenario() -> None:
        task = asyncio.create_task(every(60, duty, stop, name="retention purge", first_after_s=60))
        await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, timeout=5)

    asyncio.run(scenario())
    assert runs == []
