"""An in-memory unit of work for casework's use cases (service_layer/unit_of_work.py): no database, no ORM.

Records are plain dataclasses with the attributes the record protocols name; the repositories keep them in dicts
and lists. ``committed`` counts commits, so a test can tell a use case that commits from one that leaves it to
its caller.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from services.casework.domain.freshness import SourceHeard
from services.casework.domain.reports import ReportDocument
from services.casework.domain.workflow import OPEN_STATES
from services.casework.service_layer.unit_of_work import (
    AbstractUnitOfWork,
    NewAlert,
    NewOptOut,
    NewStep,
    OutboxEntry,
)


@dataclass
class FakeChild:
    child_id: str
    ward_code: str | None = None
    profile_ward_code: str | None = None
    profile_ward_since: str | None = None
    profile_version: int | None = None
    household_id: str | None = None
    name_kanji: str | None = None
    name_kana: str | None = None
    birth_date: str | None = None
    sex: str | None = None
    address: str | None = None
    status: str = "resident"
    profile_updated_at: datetime | None = None
    flags_ward_code: str | None = None
    flags_ward_since: str | None = None
    tier: str | None = None
    score: float = 0.0
    current_items: list[Any] = field(default_factory=list)
    flags: list[Any] = field(default_factory=list)
    flags_as_of: str | None = None
    supported_by_child_guidance: bool = False
    flags_updated_at: datetime | None = None
    pending_alert: dict[str, Any] | None = None
    signals: list[Any] | None = None
    current_signals: list[Any] | None = None
    alerts_purged: int = 0


@dataclass
class FakeAlert:
    seq: int
    alert_id: str
    alert_key: str
    child_id: str
    ward_code: str
    tier: str | None
    items: list[Any]
    reason: str
    raised_at: datetime
    state: str
    state_changed_at: datetime
    source_event_id: str | None = None
    lead_division: str | None = None
    name_kanji_at_raise: str | None = None
    name_kana_at_raise: str | None = None
    birth_date_at_raise: str | None = None
    signals_at_raise: list[Any] | None = None


@dataclass
class FakeStep:
    alert_id: str
    action: str
    at: datetime
    actor_id: str
    actor_role: str
    result: str | None = None
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    from_state: str | None = None
    to_state: str | None = None


@dataclass
class FakeReview:
    review_id: str
    payload: dict[str, Any]
    received_at: datetime
    status: str = "open"
    decision: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None


@dataclass
class FakeOutboxMessage:
    id: int
    topic: str
    key: str
    payload: str
    created_at: datetime
    published_at: datetime | None = None


@dataclass
class FakeHouseholdOptOut:
    household_id: str
    requested_by: str
    requested_on: str
    recorded_at: datetime


@dataclass
class FakeOptOut:
    child_id: str
    active: bool
    withdrawn_at: datetime | None = None
    via_household: str | None = None


class FakeCaseRepository:
    def __init__(self) -> None:
        self.children: dict[str, FakeChild] = {}
        self.alerts: list[FakeAlert] = []
        self.steps_: list[FakeStep] = []
        self.processed: dict[str, datetime] = {}
        self.opted_out_ids: set[str] = set()
        self.forgotten_ids: set[str] = set()
        self.household_opt_outs: dict[str, FakeHouseholdOptOut] = {}
        self.opt_outs: dict[str, FakeOptOut] = {}
        self.audit_entries: list[tuple[str, str, str]] = []  # action, child id, detail
        self.outbox: list[FakeOutboxMessage] = []
        self.preloaded: list[tuple[list[str], list[str]]] = []

    def preload(self, child_ids: Collection[str], event_keys: Collection[str]) -> None:
        self.preloaded.append((sorted(set(child_ids)), sorted(set(event_keys))))

    def already_processed(self, event_key: str) -> bool:
        return event_key in self.processed

    def mark_processed(self, event_key: str, at: datetime) -> None:
        self.processed[event_key] = at

    def opted_out(self, child_id: str) -> bool:
        return child_id in self.opted_out_ids

    def forgotten(self, child_id: str) -> bool:
        return child_id in self.forgotten_ids

    def household_opt_out(self, household_id: str) -> FakeHouseholdOptOut | None:
        return self.household_opt_outs.get(household_id)

    def opt_out_of(self, child_id: str) -> FakeOptOut | None:
        return self.opt_outs.get(child_id)

    def add_opt_out(self, new: NewOptOut) -> None:
        self.opt_outs[new.child_id] = FakeOptOut(new.child_id, True, None, new.via_household)
        self.opted_out_ids.add(new.child_id)

    def audit(self, action: str, at: datetime, *, child_id: str, ward_code: str | None, detail: str) -> None:
        self.audit_entries.append((action, child_id, detail))

    def child(self, child_id: str) -> FakeChild | None:
        return self.children.get(child_id)

    def child_or_new(self, child_id: str) -> FakeChild:
        return self.children.setdefault(child_id, FakeChild(child_id))

    def held_children(self) -> list[FakeChild]:
        return [c for c in self.children.values() if c.pending_alert]

    def alerts_of_child(self, child_id: str) -> list[FakeAlert]:
        return [a for a in self.alerts if a.child_id == child_id]

    def open_alert(self, child_id: str) -> FakeAlert | None:
        open_states = {s.value for s in OPEN_STATES}
        return next((a for a in reversed(self.alerts_of_child(child_id)) if a.state in open_states), None)

    def alert(self, alert_id: str) -> FakeAlert | None:
        return next((a for a in self.alerts if a.alert_id == alert_id), None)

    def add_alert(self, new: NewAlert) -> FakeAlert | None:
        if any(a.alert_key == new.alert_key for a in self.alerts):
            return None
        alert = FakeAlert(seq=len(self.alerts) + 1, state_changed_at=new.raised_at, **asdict(new))
        self.alerts.append(alert)
        return alert

    def add_step(self, step: NewStep) -> None:
        self.steps_.append(FakeStep(**asdict(step)))

    def steps(self, alert_ids: Sequence[str]) -> list[FakeStep]:
        return sorted((s for s in self.steps_ if s.alert_id in alert_ids), key=lambda s: s.at)

    def add_outbox(self, topic: str, key: str, payload: str, at: datetime) -> None:
        self.outbox.append(FakeOutboxMessage(len(self.outbox) + 1, topic, key, payload, at))


class FakeReviewRepository:
    def __init__(self) -> None:
        self.cases: dict[str, FakeReview] = {}

    def get(self, review_id: str) -> FakeReview | None:
        return self.cases.get(review_id)

    def add(self, review_id: str, payload: dict[str, Any], received_at: datetime) -> None:
        self.cases[review_id] = FakeReview(review_id, payload, received_at)

    def open(self, limit: int) -> list[FakeReview]:
        return sorted((r for r in self.cases.values() if r.status == "open"), key=lambda r: r.received_at)[:limit]


class FakeOutboxRelay:
    def __init__(self, cases: FakeCaseRepository) -> None:
        self._cases = cases
        self.claims = 0

    def claim(self) -> None:
        self.claims += 1

    def pending(self, limit: int) -> list[OutboxEntry]:
        return [OutboxEntry(m.id, m.topic, m.key, m.payload) for m in self._cases.outbox
                if m.published_at is None][:limit]

    def mark_published(self, ids: list[int], at: datetime) -> None:
        for m in self._cases.outbox:
            if m.id in ids:
                m.published_at = at


class FakeSourceStatus:
    def __init__(self) -> None:
        self.saved: list[SourceHeard] = []

    def save(self, heard: SourceHeard) -> None:
        self.saved.append(heard)


class FakeReports:
    def __init__(self) -> None:
        self.saved: dict[str, ReportDocument] = {}

    def save(self, document: ReportDocument, received_at: datetime) -> bool:
        return self.saved.setdefault(document.info.report_id, document) is document


class FakeUnitOfWork(AbstractUnitOfWork):
    """Keeps its state across ``with`` blocks (one fake database); a rollback does not undo writes, so tests check
    ``committed`` where it matters."""

    def __init__(self) -> None:
        self.cases: FakeCaseRepository = FakeCaseRepository()
        self.reviews: FakeReviewRepository = FakeReviewRepository()
        self.outbox: FakeOutboxRelay = FakeOutboxRelay(self.cases)
        self.source_status: FakeSourceStatus = FakeSourceStatus()
        self.reports: FakeReports = FakeReports()
        self.committed = 0

    def commit(self) -> None:
        self.committed += 1

    def rollback(self) -> None:
        pass
