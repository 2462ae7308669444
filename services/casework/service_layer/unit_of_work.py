"""The case database as the use cases see it: records, repositories and the unit of work (issue 12).

The use cases for flag and profile intake, workflow steps and review decisions take an ``AbstractUnitOfWork`` and
never a SQLAlchemy session: adapters/unit_of_work.py implements it over the ORM (adapters/orm.py's rows satisfy the
record protocols below), tests/unit/casework/fakes.py in memory. A use case never commits: its caller decides how
far the transaction reaches (the worker: one batch of messages; the web: a step together with its audit record).

Records are protocols, not classes: the use cases read and set these attributes and nothing else.
"""

from __future__ import annotations

import abc
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from services.casework.domain.freshness import SourceHeard
from services.casework.domain.reports import ReportDocument


class ChildRecord(Protocol):
    """A child: linkage's profile, scoring's current flags and signals, the wards they name, a held listing."""

    child_id: str
    ward_code: str | None
    profile_ward_code: str | None
    profile_ward_since: str | None
    profile_version: int | None
    household_id: str | None
    name_kanji: str | None
    name_kana: str | None
    birth_date: str | None
    sex: str | None
    address: str | None
    status: str
    profile_updated_at: datetime | None
    flags_ward_code: str | None
    flags_ward_since: str | None
    tier: str | None
    score: float
    current_items: list[Any]
    flags: list[Any]
    flags_as_of: str | None
    supported_by_child_guidance: bool
    flags_updated_at: datetime | None
    pending_alert: dict[str, Any] | None
    signals: list[Any] | None
    current_signals: list[Any] | None
    alerts_purged: int  # closed cases the retention purge removed (service_layer/retention.py)


class AlertRecord(Protocol):
    """An alert for a ward and the case it opened (``state`` moves through domain/workflow.py)."""

    seq: int
    alert_id: str
    child_id: str
    ward_code: str
    tier: str | None
    items: list[Any]
    reason: str
    raised_at: datetime
    state: str
    state_changed_at: datetime
    lead_division: str | None
    name_kanji_at_raise: str | None
    name_kana_at_raise: str | None
    birth_date_at_raise: str | None
    signals_at_raise: list[Any] | None


class StepRecord(Protocol):
    """One entry of a case's timeline."""

    alert_id: str
    action: str
    result: str | None
    reason: str
    details: dict[str, Any]
    from_state: str | None
    to_state: str | None
    actor_id: str
    actor_role: str
    at: datetime


class ReviewRecord(Protocol):
    """An uncertain pair from linkage, open until a person decides it."""

    review_id: str
    payload: dict[str, Any]
    received_at: datetime
    status: str
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None


@dataclass(frozen=True)
class NewAlert:
    """An alert to store, with what it shows its ward for good (the child's name, birth date, signals then)."""

    alert_id: str
    alert_key: str
    child_id: str
    ward_code: str
    tier: str | None
    items: list[int]
    reason: str
    raised_at: datetime
    state: str
    source_event_id: str
    name_kanji_at_raise: str | None = None
    name_kana_at_raise: str | None = None
    birth_date_at_raise: str | None = None
    signals_at_raise: list[str] | None = None


@dataclass(frozen=True)
class NewStep:
    """A timeline entry to store: a person's workflow step or a system event (actor ``system``)."""

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


class HouseholdOptOutRecord(Protocol):
    """A guardian's standing 利用停止 for a household, in force (docs/privacy.md, "Opt-out")."""

    household_id: str
    requested_by: str
    requested_on: str
    recorded_at: datetime


class OptOutRecord(Protocol):
    child_id: str
    active: bool
    withdrawn_at: datetime | None


@dataclass(frozen=True)
class NewOptOut:
    """An opt-out recorded by casework itself: a child who joined a household whose opt-out is in force."""

    child_id: str
    requested_by: str
    reason: str
    requested_on: str
    recorded_at: datetime
    via_household: str
    recorded_by: str = "system"


@dataclass(frozen=True)
class OutboxEntry:
    id: int
    topic: str
    key: str
    payload: str  # "" is a tombstone (published as a null value)


class CaseRepository(Protocol):
    """Children, alerts, timelines, idempotency keys, privacy markers, and events queued in the same transaction."""

    def preload(self, child_ids: Collection[str], event_keys: Collection[str]) -> None:
        """A batch of messages about these children follows: the store may read what they touch at once."""
        ...

    def already_processed(self, event_key: str) -> bool: ...

    def mark_processed(self, event_key: str, at: datetime) -> None: ...

    def opted_out(self, child_id: str) -> bool:
        """利用停止: no alert is raised for the child while this holds."""
        ...

    def forgotten(self, child_id: str) -> bool:
        """Deleted on request: late messages about the child are dropped, not re-stored."""
        ...

    def household_opt_out(self, household_id: str) -> HouseholdOptOutRecord | None:
        """The household's standing opt-out, if one is in force."""
        ...

    def opt_out_of(self, child_id: str) -> OptOutRecord | None:
        """The child's own opt-out record, in force or withdrawn."""
        ...

    def add_opt_out(self, new: NewOptOut) -> None:
        """Records (or renews a withdrawn) opt-out; ``opted_out`` holds for the child from now on."""
        ...

    def audit(self, action: str, at: datetime, *, child_id: str, ward_code: str | None, detail: str) -> None:
        """Appends an audit entry made by casework itself (actor ``system``) in this transaction."""
        ...

    def child(self, child_id: str) -> ChildRecord | None: ...

    def child_or_new(self, child_id: str) -> ChildRecord:
        """The child, or a new one (resident, no tier, no items) stored with this transaction."""
        ...

    def held_children(self) -> Sequence[ChildRecord]:
        """Children whose listing is held for want of a ward (``pending_alert`` set), in no particular order."""
        ...

    def alerts_of_child(self, child_id: str) -> Sequence[AlertRecord]:
        """Oldest first."""
        ...

    def open_alert(self, child_id: str) -> AlertRecord | None:
        """The child's newest alert whose case is not closed or transferred."""
        ...

    def alert(self, alert_id: str) -> AlertRecord | None: ...

    def add_alert(self, new: NewAlert) -> AlertRecord | None:
        """Stores the alert unless one with the same ``alert_key`` exists (then None: a duplicate)."""
        ...

    def add_step(self, step: NewStep) -> None: ...

    def steps(self, alert_ids: Sequence[str]) -> Sequence[StepRecord]:
        """The timelines of these alerts, in time order."""
        ...

    def add_outbox(self, topic: str, key: str, payload: str, at: datetime) -> None:
        """Queues an event, published after commit by the worker's relay (at-least-once)."""
        ...


class ReviewRepository(Protocol):
    def get(self, review_id: str) -> ReviewRecord | None: ...

    def add(self, review_id: str, payload: dict[str, Any], received_at: datetime) -> None:
        """Stores a new open review case."""
        ...

    def open(self, limit: int) -> Sequence[ReviewRecord]:
        """Open cases, oldest first."""
        ...


class OutboxRelay(Protocol):
    """The relay's side of the outbox: what is still to publish, and marking it published."""

    def claim(self) -> None:
        """Waits until no other relay sharing the database is in a round; held until this unit of work ends."""
        ...

    def pending(self, limit: int) -> list[OutboxEntry]: ...

    def mark_published(self, ids: list[int], at: datetime) -> None: ...


class SourceStatusRepository(Protocol):
    def save(self, heard: SourceHeard) -> None:
        """Keeps the newest report per system (domain.freshness.merged)."""
        ...


class ReportRepository(Protocol):
    def save(self, document: ReportDocument, received_at: datetime) -> bool:
        """Stores a report once; False when the report id was already there."""
        ...


class DisclosureRequestRecord(Protocol):
    request_id: str
    child_id: str
    services: list[Any]


class DisclosureRepository(Protocol):
    """Disclosure requests (開示) and the services' answers (privacy_disclosure.store_reply)."""

    def request(self, request_id: str) -> DisclosureRequestRecord | None: ...

    def has_reply(self, request_id: str, service: str) -> bool: ...

    def add_reply(self, request_id: str, service: str, *, answered_at: datetime, held: bool,
                  payload: dict[str, Any], received_at: datetime) -> None: ...


class Conflict(Exception):
    """The commit met a concurrent write of the same row (two agents created the same child): redo the work."""


class AbstractUnitOfWork(abc.ABC):
    """One transaction on the case database. ``with uow:`` … ``uow.commit()``; leaving without a commit rolls back."""

    cases: CaseRepository
    reviews: ReviewRepository
    outbox: OutboxRelay
    source_status: SourceStatusRepository
    reports: ReportRepository
    disclosures: DisclosureRepository

    def __enter__(self) -> AbstractUnitOfWork:
        return self

    def __exit__(self, *args: object) -> None:
        self.rollback()

    def preload(self, child_ids: Collection[str] = (), event_keys: Collection[str] = ()) -> None:
        """A batch of messages follows: read what they touch now and write only at commit (the worker's batches)."""
        self.cases.preload(child_ids, event_keys)

    @abc.abstractmethod
    def commit(self) -> None:
        """Makes the work durable; raises ``Conflict`` when a concurrent write got there first."""

    @abc.abstractmethod
    def rollback(self) -> None: ...
