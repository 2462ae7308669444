"""Evaluation's store as the use cases see it: records, the repository and the unit of work (issue 12).

The handlers (handlers.py, privacy.py), the worker and the reports take an ``AbstractUnitOfWork``, never a
SQLAlchemy session: adapters/unit_of_work.py implements it over the ORM (adapters/orm.py's rows satisfy the record
protocols), tests/unit/evaluation/fakes.py in memory. Handlers never commit; the worker commits one batch.
Items are kept as text ("3,17,18") and times as naive UTC (domain/stored.py).
"""

from __future__ import annotations

import abc
from datetime import datetime
from typing import Literal, Protocol

from services.evaluation.domain.model import Case


class CaseRecord(Protocol):
    """A listed child's case, keyed by casework's alert id; ``listed_at`` is None until the alert arrives."""

    case_id: str
    child_id: str
    ward_code: str
    listed_at: datetime | None
    tier: str | None
    items: str
    reason: str | None


class ChildRecord(Protocol):
    """A child's flags now (the newest assessment by date) and every item it ever carried."""

    child_id: str
    ward_code: str | None
    tier: str | None
    score: float
    items: str
    ever_items: str
    as_of: str
    event_time: datetime
    weights_version: str
    supported_by_child_guidance: bool


class ChildItems(Protocol):
    """A child as the reports read it (adapters/repository.py's ChildNow)."""

    @property
    def child_id(self) -> str: ...

    @property
    def ward_code(self) -> str | None: ...

    @property
    def items(self) -> frozenset[int]: ...

    @property
    def ever_items(self) -> frozenset[int]: ...

    @property
    def signals(self) -> frozenset[str]:
        """The connection signals (行政とのつながり) of the newest assessment, by code."""
        ...


Claim = Literal["claimed", "done", "busy"]


class EvaluationRepository(Protocol):
    def processed(self, key: str) -> bool:
        """Whether the event (``<kind>:<CloudEvents id>``) was applied before."""
        ...

    def mark_processed(self, key: str) -> None: ...

    def case(self, case_id: str) -> CaseRecord | None: ...

    def add_case(self, case_id: str, child_id: str, ward_code: str, items: str) -> CaseRecord:
        """A new case without its listing yet (listed_at, tier, reason None)."""
        ...

    def add_step(self, event_id: str, case_id: str, step: str, result: str | None, recorded_at: datetime) -> None: ...

    def child(self, child_id: str) -> ChildRecord | None: ...

    def add_child(self, child_id: str, as_of: str, event_time: datetime) -> ChildRecord:
        """A new child that has carried no item yet."""
        ...

    def set_signals(self, child_id: str, signals: str) -> None:
        """The child's current connection signals, as stored text ("moved_in,unenrolled"; "" = none)."""
        ...

    def forgotten(self, child_id: str) -> bool:
        """Deleted on request: later messages about the child are dropped."""
        ...

    def forget(self, child_id: str) -> None:
        """Deletes the child's rows (flags, signals), cases and steps, and remembers only a hash of its id."""
        ...

    def opt_out(self, child_id: str) -> tuple[bool, datetime] | None:
        """The child's opt-out as last recorded (active, changed_at as naive UTC), or None."""
        ...

    def set_opt_out(self, child_id: str, active: bool, changed_at: datetime) -> None:
        """Records the child's opt-out state; while active, children() and cases() leave the child out."""
        ...

    def children(self) -> list[ChildItems]:
        """Every child, in bulk (a city year is ≈ 220 k children)."""
        ...

    def cases(self) -> list[Case]:
        """Every case with its steps and the child's current items, in bulk."""
        ...

    def case_histories(self) -> list[Case]:
        """Every case with its steps, the opted-out children's included (retention: service_layer/retention.py)."""
        ...

    def count_steps(self, case_ids: list[str]) -> int:
        """How many steps these cases have."""
        ...

    def purge_cases(self, case_ids: list[str]) -> None:
        """Removes these cases and their steps (the processed-event ids stay)."""
        ...

    def claim_scheduled(self, key: str, owner: str, now: datetime, stale_before: datetime) -> Claim:
        """Claims a scheduled report (service_layer/scheduled.py) for ``owner``: "claimed" when nobody had it, or
        when the last claim is older than ``stale_before`` and not done (that instance crashed or failed); "done"
        once published; "busy" while another claim is fresh, or when another instance claimed it concurrently."""
        ...

    def finish_scheduled(self, key: str, now: datetime) -> None:
        """Marks a claimed scheduled report done: it is never produced again."""
        ...

    def scheduled_done_at(self, key: str) -> datetime | None:
        """When a scheduled report was marked done (aware, UTC), by whichever instance; None while it is not."""
        ...


class AbstractUnitOfWork(abc.ABC):
    """One transaction on the store. ``with uow:`` … ``uow.commit()``; leaving without a commit rolls back."""

    store: EvaluationRepository

    def __enter__(self) -> AbstractUnitOfWork:
        return self

    def __exit__(self, *args: object) -> None:
        self.rollback()

    def flush(self) -> None:  # noqa: B027 — a no-op where writes are seen at once (the fake)
        """Makes this message's writes visible to the next message's reads in the same batch."""

    @abc.abstractmethod
    def commit(self) -> None: ...

    @abc.abstractmethod
    def rollback(self) -> None: ...
