"""The worker's batch step and outbox relay on the fake unit of work, with the container's own metrics: outcomes
and failures counted, events relayed once and marked (no database, no broker)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from services.casework.bootstrap import bootstrap
from services.casework.config import CaseworkSettings
from services.casework.domain.access import Principal, Role
from services.casework.domain.alert_policy import AlertPolicy
from services.casework.metrics import CaseworkMetrics
from services.casework.service_layer import audit_log
from services.casework.service_layer import worker as worker_module
from services.casework.service_layer.worker import WorkerHandlers
from tests.unit.casework.factories import flags_event, profile_event, raw, review_event
from tests.unit.casework.fakes import FakeUnitOfWork

pytestmark = pytest.mark.unit
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


class _Settings:
    def topic(self, name: str) -> str:
        return f"t.{name}"


@dataclass
class FakeCasework:
    unit: FakeUnitOfWork = field(default_factory=FakeUnitOfWork)
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    policy: AlertPolicy = field(default_factory=AlertPolicy)
    settings: _Settings = field(default_factory=_Settings)

    def __post_init__(self) -> None:
        self.metrics = CaseworkMetrics(self.registry)

    def clock(self) -> datetime:
        return NOW

    def uow(self) -> FakeUnitOfWork:
        return self.unit

    def sample(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, labels)


def test_a_batch_is_applied_in_one_commit_and_counted_by_outcome() -> None:
    c = FakeCasework()
    worker = WorkerHandlers(c)  # type: ignore[arg-type]
    alert_raising = raw(flags_event("c-1", "40131", None, [3], tier_after="予防", event_id="f-1"))
    done = worker.process_batch("flags", [(alert_raising, "flags-0@1"), (b"{", "flags-0@2"), (None, "flags-0@3"),
                                          (alert_raising, "flags-0@4")])
    assert [p.outcome for p in done] == ["alert_raised", "skipped:invalid_schema", "skipped:empty_or_oversized",
                                         "duplicate"]
    assert done[0].alert_ids == [c.unit.cases.alerts[0].alert_id]
    assert c.unit.committed == 1
    assert c.unit.cases.preloaded == [(["c-1"], ["flags:f-1"])]
    assert c.sample("tsunagu_casework_flags_processed_total", outcome="alert_raised") == 1
    assert c.sample("tsunagu_casework_flags_processed_total", outcome="duplicate") == 1
    assert c.sample("tsunagu_casework_flags_failed_total", reason="invalid_schema") == 1
    assert c.sample("tsunagu_casework_alerts_raised_total", ward="40131") == 1
    assert c.sample("tsunagu_casework_processing_duration_seconds_count") == 4


def test_review_cases_go_through_the_same_unit_of_work() -> None:
    c = FakeCasework()
    done = WorkerHandlers(c).process("review", raw(review_event("rv-1")), where="review-0@0")  # type: ignore[arg-type]
    assert done.outcome == "review_received" and c.unit.reviews.get("rv-1") is not None
    assert c.unit.committed == 1


def test_the_relay_publishes_queued_events_in_order_once_and_marks_them() -> None:
    c = FakeCasework()
    worker = WorkerHandlers(c)  # type: ignore[arg-type]
    worker.process("flags", raw(flags_event("c-1", "40131", None, [3], tier_after="予防", event_id="f-1")), where="")
    worker.process("flags", raw(flags_event("c-2", "40132", None, [9], tier_after="重点", event_id="f-2")), where="")
    sent: list[list[tuple[str, str, bytes | None]]] = []

    async def send_many(batch: list[tuple[str, str, bytes | None]]) -> None:
        sent.append(batch)

    assert asyncio.run(worker.publish_outbox(send_many)) == 2
    assert [[(topic, key) for topic, key, _ in batch] for batch in sent] == [
        [("t.casework.alerts.v1", "c-1"), ("t.casework.alerts.v1", "c-2")]]
    assert all(m.published_at == NOW for m in c.unit.cases.outbox)
    assert asyncio.run(worker.publish_outbox(send_many)) == 0 and len(sent) == 1
    # every round claims the outbox before reading it; a round that found fewer than RELAY_ROUND rows is the last
    assert c.unit.outbox.claims == 2
    assert c.sample("tsunagu_casework_outbox_published_total", topic="t.casework.alerts.v1") == 2
    assert c.sample("tsunagu_casework_outbox_pending") == 0


def test_the_relay_goes_on_while_rounds_are_full_and_stops_after_the_first_that_is_not(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """No empty round (a transaction, a claim and a query) after every wake: a round that found fewer rows than it
    may take read all there was."""
    monkeypatch.setattr(worker_module, "RELAY_ROUND", 2)
    c = FakeCasework()
    worker = WorkerHandlers(c)  # type: ignore[arg-type]
    for i, ward in enumerate(("40131", "40132", "40133")):
        worker.process("flags", raw(flags_event(f"c-{i}", ward, None, [3], tier_after="予防", event_id=f"f-{i}")),
                       where="")
    sent: list[int] = []

    async def send_many(batch: list[tuple[str, str, bytes | None]]) -> None:
        sent.append(len(batch))

    assert asyncio.run(worker.publish_outbox(send_many)) == 3
    assert sent == [2, 1] and c.unit.outbox.claims == 2
    assert all(m.published_at == NOW for m in c.unit.cases.outbox)


def test_a_failed_send_leaves_the_rows_unpublished_for_the_next_round() -> None:
    c = FakeCasework()
    worker = WorkerHandlers(c)  # type: ignore[arg-type]
    worker.process("flags", raw(flags_event("c-1", "40131", None, [3], tier_after="予防", event_id="f-1")), where="")

    async def broker_down(batch: list[tuple[str, str, bytes | None]]) -> None:
        raise ConnectionError("no broker")

    with pytest.raises(ConnectionError):
        asyncio.run(worker.publish_outbox(broker_down))
    assert [m.published_at for m in c.unit.cases.outbox] == [None]
    assert c.sample("tsunagu_casework_outbox_published_total", topic="t.casework.alerts.v1") is None


def test_audit_entries_count_in_the_containers_metrics(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    container = bootstrap(CaseworkSettings(database_url=f"sqlite:///{tmp_path}/cw.db", environment="test",
                                           session_secret="s" * 32), clock=lambda: NOW,
                          metrics=CaseworkMetrics(registry))
    try:
        actor = audit_log.Actor.of(Principal("u-1", "higashi", Role.WARD_STAFF, "40131"), "127.0.0.1")
        with container.sessions.begin() as session:
            audit_log.append(session, actor, "view_child", NOW, child_id="c-1")
            audit_log.append(session, actor, "view_child", NOW, child_id="c-2")
        assert registry.get_sample_value("tsunagu_casework_audit_entries_total", {"action": "view_child"}) == 2
    finally:
        container.engine.dispose()


def test_a_batch_of_every_kind_is_one_commit_in_the_order_given() -> None:
    c = FakeCasework()
    worker = WorkerHandlers(c)  # type: ignore[arg-type]
    done = worker.process_records([
        ("profile", raw(profile_event("c-1", "40131", event_id="p-1")), "children-0@1"),
        ("review", raw(review_event("rv-1")), "review-0@1"),
        ("flags", raw(flags_event("c-1", None, None, [3], tier_after="予防", event_id="f-1")), "flags-0@1"),
        ("flags", b"{", "flags-0@2"),
    ])
    assert [p.outcome for p in done][1:] == ["review_received", "alert_raised", "skipped:invalid_schema"]
    assert c.unit.committed == 1
    # flags and profiles are preloaded together; the profile came first, so the alert is in its ward
    assert c.unit.cases.preloaded == [(["c-1"], ["flags:f-1", "profile:p-1"])]
    assert c.unit.cases.alerts[0].ward_code == "40131"
    assert c.unit.reviews.get("rv-1") is not None
