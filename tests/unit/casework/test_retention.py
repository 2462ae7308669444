"""Retention in casework (保有の制限, docs/privacy.md): closed cases past the retention period, decided review cases
and published outbox rows are purged; open cases, recent ones, unpublished rows and the audit trail stay; the
alert policy still counts the purged cases (issue 15). In-memory SQLite, the worker's real intake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select, update

from contracts.envelope import envelope_dict
from contracts.topics.privacy_disclosures import REPLY_EVENT_TYPE, DisclosureReplyV1
from services.casework.adapters.orm import (
    Alert,
    AuditRecord,
    CaseStep,
    Child,
    OutboxMessage,
    PrivacyDisclosureReply,
    ReviewCase,
)
from services.casework.bootstrap import Container
from services.casework.domain.access import Principal, Role
from services.casework.domain.workflow import Action, StepCommand
from services.casework.metrics import CaseworkMetrics
from services.casework.service_layer import audit_log, cases, privacy_disclosure, retention
from services.casework.service_layer.worker import WorkerHandlers
from tests.unit.casework.factories import flags_event, profile_event, raw, review_event
from tests.unit.casework.privacy_data import NOW, add_users, memory_container

pytestmark = pytest.mark.unit
EAST = Principal(user_id="u-east", username="higashi", role=Role.WARD_STAFF, ward_code="40131")
POLICY = retention.RetentionPolicy(closed_case_days=1826, outbox_days=30)
PAST = NOW + timedelta(days=1827)  # a case closed at NOW is past the retention period then


@pytest.fixture
def c() -> Iterator[Container]:
    container = memory_container()
    yield container
    container.engine.dispose()


def alert_for(c: Container, child: str, items: list[int], before: list[int] | None = None, *,
              event_id: str | None = None) -> str:
    handlers = WorkerHandlers(c)
    if before is None:
        handlers.process("profile", raw(profile_event(child, "40131", name=f"試験 {child}")), where="t")
    result = handlers.process("flags", raw(flags_event(child, "40131", before, items, tier_after="予防",
                                                       event_id=event_id)), where="t")
    return result.outcome


def close(c: Container, child: str, at: datetime) -> str:
    """The child's open case screened out (非該当 → 終結) at ``at``, with a free-text reason."""
    uow = c.uow()
    with uow:
        [alert] = [a for a in uow.cases.alerts_of_child(child) if a.state == "一次スクリーニング"]
        cases.record_step(uow, EAST, alert, StepCommand(Action.SCREEN, "非該当", f"家庭訪問の記録 {child}"), at)
        uow.commit()
    return alert.alert_id


def count(c: Container, table: type, *where: object) -> int:
    with c.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)  # type: ignore[arg-type]


def publish_all(c: Container, at: datetime) -> None:
    with c.sessions.begin() as session:
        session.execute(update(OutboxMessage).values(published_at=at))


def test_a_closed_case_past_retention_goes_with_its_timeline_others_stay(c: Container) -> None:
    assert alert_for(c, "old-closed", [17]) == "alert_raised"
    assert alert_for(c, "recent-closed", [17]) == "alert_raised"
    assert alert_for(c, "old-open", [17]) == "alert_raised"
    old = close(c, "old-closed", NOW)
    recent = close(c, "recent-closed", NOW + timedelta(days=1000))
    steps_before = count(c, CaseStep)
    metrics = CaseworkMetrics(CollectorRegistry())

    result = retention.purge(c.sessions, POLICY, PAST, metrics=metrics)

    assert result.counts["alerts"] == 1 and result.counts["case_steps"] == 2  # 一次スクリーニング + the screening
    assert count(c, Alert, Alert.alert_id == old) == 0 and count(c, CaseStep, CaseStep.alert_id == old) == 0
    assert count(c, Alert, Alert.alert_id == recent) == 1
    assert count(c, Alert, Alert.child_id == "old-open") == 1  # open cases are never purged, however old
    assert count(c, CaseStep) == steps_before - 2
    with c.sessions() as session:
        child = session.get(Child, "old-closed")
        assert child is not None and child.alerts_purged == 1 and child.name_kanji  # the child row stays
        assert session.get(Child, "recent-closed").alerts_purged == 0  # type: ignore[union-attr]
    assert metrics.retention_purged.labels(store="alerts")._value.get() == 1
    assert metrics.retention_purged.labels(store="case_steps")._value.get() == 2
    assert metrics.retention_runs.labels(outcome="ok")._value.get() == 1
    assert metrics.retention_last_run._value.get() == PAST.timestamp()


def test_the_audit_trail_records_the_purge_without_content_and_stays_intact(c: Container) -> None:
    alert_for(c, "pc-1", [17])
    alert_id = close(c, "pc-1", NOW)
    retention.purge(c.sessions, POLICY, PAST)
    with c.sessions() as session:
        entries = list(session.scalars(select(AuditRecord).where(AuditRecord.action == retention.ACTION)))
        assert len(entries) == 1
        [entry] = entries
        assert entry.child_id is None and entry.target is None and entry.user_id == "system"
        text = " ".join(str(v) for v in (entry.detail, entry.target, entry.child_id))
        assert "pc-1" not in text and alert_id not in text and "家庭訪問" not in text and "試験" not in text
        assert "alerts=1" in entry.detail and "case_steps=2" in entry.detail and "closed_case_days=1826" in entry.detail
        assert audit_log.verify(session).ok


def test_nothing_past_retention_changes_nothing_and_writes_no_entry(c: Container) -> None:
    alert_for(c, "pc-1", [17])
    close(c, "pc-1", NOW)
    result = retention.purge(c.sessions, POLICY, NOW + timedelta(days=1825))
    assert result.total == 0 and count(c, Alert) == 1
    assert count(c, AuditRecord, AuditRecord.action == retention.ACTION) == 0


def test_a_purged_child_is_not_news_again_and_a_new_alert_gets_a_new_key(c: Container) -> None:
    alert_for(c, "pc-1", [17])
    old = close(c, "pc-1", NOW)
    retention.purge(c.sessions, POLICY, PAST)
    # The same flags again (nothing changed): a child never alerted would be listed; this one was, so nothing.
    assert alert_for(c, "pc-1", [17], before=[17], event_id="again-1") == "no_alert:no_trigger"
    # A real change raises a new alert whose key (episode 1) differs from the purged one's (episode 0).
    assert alert_for(c, "pc-1", [17, 19], before=[17], event_id="again-2") == "alert_raised"
    with c.sessions() as session:
        [alert] = session.scalars(select(Alert).where(Alert.child_id == "pc-1"))
        assert alert.alert_id != old


def test_decided_reviews_and_published_outbox_rows_go_unpublished_and_open_ones_stay(c: Container) -> None:
    handlers = WorkerHandlers(c)
    for rid in ("rv-decided", "rv-open"):
        handlers.process("review", raw(review_event(rid)), where="t")
    with c.sessions.begin() as session:
        decided = session.get(ReviewCase, "rv-decided")
        assert decided is not None
        decided.status, decided.decision, decided.decided_at = "decided", "link", NOW
    alert_for(c, "pc-1", [17])
    publish_all(c, NOW)  # the alert event: published at NOW
    alert_for(c, "pc-2", [17])  # its alert event stays unpublished
    assert count(c, OutboxMessage, OutboxMessage.published_at.is_(None)) == 1

    result = retention.purge(c.sessions, POLICY, NOW + timedelta(days=31))
    assert result.counts == {"alerts": 0, "case_steps": 0, "review_cases": 0, "outbox": 1, "disclosures": 0,
                             "disclosure_replies": 0}
    assert count(c, OutboxMessage) == 1 and count(c, OutboxMessage, OutboxMessage.published_at.is_(None)) == 1

    result = retention.purge(c.sessions, POLICY, PAST)
    assert result.counts["review_cases"] == 1 and count(c, ReviewCase, ReviewCase.review_id == "rv-open") == 1
    assert count(c, ReviewCase) == 1


def test_dry_run_counts_what_the_purge_removes_and_batches_cover_everything(c: Container) -> None:
    for i in range(3):
        alert_for(c, f"pc-{i}", [17])
        close(c, f"pc-{i}", NOW)
    publish_all(c, NOW)
    with c.sessions() as session:
        planned = retention.plan(session, POLICY, PAST)
    assert count(c, Alert) == 3  # the plan changed nothing
    result = retention.purge(c.sessions, POLICY, PAST, batch=1)
    assert result.counts == planned.counts == {"alerts": 3, "case_steps": 6, "review_cases": 0,
                                               "outbox": planned.counts["outbox"], "disclosures": 0,
                                               "disclosure_replies": 0}
    assert planned.counts["outbox"] >= 6 and count(c, Alert) == 0 and count(c, OutboxMessage) == 0
    assert count(c, AuditRecord, AuditRecord.action == retention.ACTION) >= 3  # one entry per batch transaction
    with c.sessions() as session:
        assert audit_log.verify(session).ok


def test_retention_periods_are_checked() -> None:
    with pytest.raises(ValueError):
        retention.RetentionPolicy(closed_case_days=0, outbox_days=30)


def test_disclosure_requests_and_their_answers_go_after_the_period(c: Container) -> None:
    """開示: the answers are copies of what linkage and scoring held; they are kept for the city's period, then go
    with their request (the audit trail keeps that a disclosure was requested and produced)."""
    add_users(c)
    alert_for(c, "pc-d", [17])
    old = privacy_disclosure.request(c, username="privacy", child_id="pc-d", request_ref="R-old")
    reply = DisclosureReplyV1(request_id=old.request_id, child_id="pc-d", service="linkage",
                              answered_at=NOW.isoformat(), held=True)
    value = json.dumps(envelope_dict(data=reply, type_=REPLY_EVENT_TYPE, source="/t", subject="pc-d")).encode()
    assert WorkerHandlers(c).process("disclosure_reply", value, where="t").outcome == "stored"
    later = NOW + timedelta(days=400)
    c.clock = lambda: later
    recent = privacy_disclosure.request(c, username="privacy", child_id="pc-d", request_ref="R-new")
    with c.sessions() as session:
        planned = retention.plan(session, POLICY, PAST)
    assert (planned.counts["disclosures"], planned.counts["disclosure_replies"]) == (1, 1)
    result = retention.purge(c.sessions, POLICY, PAST)
    assert (result.counts["disclosures"], result.counts["disclosure_replies"]) == (1, 1)
    with c.sessions() as session:
        assert privacy_disclosure.status_of(session, old.request_id, PAST) is None
        assert privacy_disclosure.status_of(session, recent.request_id, PAST) is not None
        assert count(c, PrivacyDisclosureReply) == 0
        actions = [a.action for a in session.scalars(select(AuditRecord).where(AuditRecord.child_id == "pc-d"))]
    assert actions.count("disclosure_request") == 2  # the trail keeps both requests
