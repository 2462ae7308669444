"""The store in the use cases' words (service_layer/unit_of_work.py's EvaluationRepository), and reading it back
as domain objects in bulk (a city year is ≈ 220 k children)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, outerjoin, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.evaluation.adapters.orm import (
    CaseRow,
    ChildRow,
    ChildSignalsRow,
    DeletedChild,
    OptOutRow,
    ProcessedEvent,
    ScheduledReportRow,
    StepRow,
    items_of,
)
from services.evaluation.domain.model import Case, Step
from services.evaluation.domain.stored import codes_of, to_utc_naive
from services.evaluation.service_layer.unit_of_work import ChildItems, Claim


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ChildNow:
    child_id: str
    ward_code: str | None
    tier: str | None
    items: frozenset[int]
    ever_items: frozenset[int]
    signals: frozenset[str] = frozenset()


def opted_out(session: Session) -> set[str]:
    """The children whose opt-out (利用停止) holds: left out of every figure while it does."""
    return set(session.scalars(select(OptOutRow.child_id).where(OptOutRow.active.is_(True))))


def load_children(session: Session) -> list[ChildNow]:
    """Every child's current flags, except the opted-out children's."""
    out = opted_out(session)
    rows = session.execute(select(ChildRow.child_id, ChildRow.ward_code, ChildRow.tier, ChildRow.items,
                                  ChildRow.ever_items, ChildSignalsRow.signals)
                           .select_from(outerjoin(ChildRow, ChildSignalsRow,
                                                  ChildRow.child_id == ChildSignalsRow.child_id)))
    return [ChildNow(cid, ward, tier, items_of(items), items_of(ever), codes_of(signals))
            for cid, ward, tier, items, ever, signals in rows if cid not in out]


def load_cases(session: Session, *, with_opted_out: bool = False) -> list[Case]:
    """Every case with its steps and the child's current items, except the opted-out children's (unless
    ``with_opted_out``). A case whose alert has not arrived yet is dated by its first step (the listing came before
    it)."""
    out = set() if with_opted_out else opted_out(session)
    steps: dict[str, list[Step]] = defaultdict(list)
    for case_id, step, result, at in session.execute(
            select(StepRow.case_id, StepRow.step, StepRow.result, StepRow.recorded_at)):
        steps[case_id].append(Step(step, result, _aware(at)))
    current = {cid: items_of(items) for cid, items in session.execute(select(ChildRow.child_id, ChildRow.items))}
    cases = []
    for row in session.execute(select(CaseRow.case_id, CaseRow.child_id, CaseRow.ward_code, CaseRow.listed_at,
                                      CaseRow.tier, CaseRow.items)):
        case_id, child_id, ward, listed_at, tier, items = row
        if child_id in out:
            continue
        mine = sorted(steps.get(case_id, []), key=lambda s: s.at)
        if listed_at is None and not mine:
            continue
        when = _aware(listed_at) if listed_at is not None else mine[0].at
        cases.append(Case(case_id, child_id, ward, when, tier, items_of(items), mine, current.get(child_id)))
    return cases


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    """Bounded IN lists (SQLite's variable limit, PostgreSQL's plan size)."""
    return [ids[i:i + size] for i in range(0, len(ids), size)]


def child_hash(child_id: str) -> str:
    return hashlib.sha256(child_id.encode()).hexdigest()


class SqlEvaluationRepository:
    """The caller owns the transaction (adapters/unit_of_work.py)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def processed(self, key: str) -> bool:
        return self.session.get(ProcessedEvent, key) is not None

    def mark_processed(self, key: str) -> None:
        self.session.add(ProcessedEvent(event_id=key))

    def case(self, case_id: str) -> CaseRow | None:
        return self.session.get(CaseRow, case_id)

    def add_case(self, case_id: str, child_id: str, ward_code: str, items: str) -> CaseRow:
        row = CaseRow(case_id=case_id, child_id=child_id, ward_code=ward_code, listed_at=None, tier=None, items=items,
                      reason=None)
        self.session.add(row)
        return row

    def add_step(self, event_id: str, case_id: str, step: str, result: str | None, recorded_at: datetime) -> None:
        self.session.add(StepRow(event_id=event_id, case_id=case_id, step=step, result=result,
                                 recorded_at=recorded_at))

    def child(self, child_id: str) -> ChildRow | None:
        return self.session.get(ChildRow, child_id)

    def add_child(self, child_id: str, as_of: str, event_time: datetime) -> ChildRow:
        row = ChildRow(child_id=child_id, ever_items="", as_of=as_of, event_time=event_time)
        self.session.add(row)
        return row

    def set_signals(self, child_id: str, signals: str) -> None:
        row = self.session.get(ChildSignalsRow, child_id)
        if row is None:
            self.session.add(ChildSignalsRow(child_id=child_id, signals=signals))
        else:
            row.signals = signals

    def forgotten(self, child_id: str) -> bool:
        return self.session.get(DeletedChild, child_hash(child_id)) is not None

    def forget(self, child_id: str) -> None:
        cases = select(CaseRow.case_id).where(CaseRow.child_id == child_id)
        self.session.execute(delete(StepRow).where(StepRow.case_id.in_(cases)))
        self.session.execute(delete(CaseRow).where(CaseRow.child_id == child_id))
        self.session.execute(delete(ChildRow).where(ChildRow.child_id == child_id))
        self.session.execute(delete(OptOutRow).where(OptOutRow.child_id == child_id))
        self.session.execute(delete(ChildSignalsRow).where(ChildSignalsRow.child_id == child_id))
        if not self.forgotten(child_id):
            self.session.add(DeletedChild(child_hash=child_hash(child_id)))

    def opt_out(self, child_id: str) -> tuple[bool, datetime] | None:
        row = self.session.get(OptOutRow, child_id)
        return None if row is None else (row.active, row.changed_at)

    def set_opt_out(self, child_id: str, active: bool, changed_at: datetime) -> None:
        row = self.session.get(OptOutRow, child_id)
        if row is None:
            self.session.add(OptOutRow(child_id=child_id, active=active, changed_at=changed_at))
        else:
            row.active, row.changed_at = active, changed_at

    def children(self) -> list[ChildItems]:
        return list(load_children(self.session))

    def cases(self) -> list[Case]:
        return load_cases(self.session)

    def case_histories(self) -> list[Case]:
        return load_cases(self.session, with_opted_out=True)

    def count_steps(self, case_ids: list[str]) -> int:
        return sum(int(self.session.scalar(select(func.count()).select_from(StepRow).where(
            StepRow.case_id.in_(chunk))) or 0) for chunk in _chunks(case_ids))

    def purge_cases(self, case_ids: list[str]) -> None:
        for chunk in _chunks(case_ids):
            self.session.execute(delete(StepRow).where(StepRow.case_id.in_(chunk)))
            self.session.execute(delete(CaseRow).where(CaseRow.case_id.in_(chunk)))

    def claim_scheduled(self, key: str, owner: str, now: datetime, stale_before: datetime) -> Claim:
        at, stale = to_utc_naive(now), to_utc_naive(stale_before)
        row = self.session.get(ScheduledReportRow, key)
        if row is None:
            self.session.add(ScheduledReportRow(key=key, owner=owner, claimed_at=at, done_at=None))
            try:
                self.session.flush()  # two instances: the primary key lets one insert win, the other waits and fails
            except IntegrityError:
                self.session.rollback()
                return "busy"
            return "claimed"
        if row.done_at is not None:
            return "done"
        if row.claimed_at > stale:
            return "busy"
        taken = self.session.execute(  # take over a stale claim only if nobody else did in between
            update(ScheduledReportRow)
            .where(ScheduledReportRow.key == key, ScheduledReportRow.claimed_at == row.claimed_at,
                   ScheduledReportRow.done_at.is_(None))
            .values(owner=owner, claimed_at=at)
            .execution_options(synchronize_session=False))
        return "claimed" if getattr(taken, "rowcount", 0) == 1 else "busy"

    def finish_scheduled(self, key: str, now: datetime) -> None:
        self.session.execute(update(ScheduledReportRow).where(ScheduledReportRow.key == key)
                             .values(done_at=to_utc_naive(now)).execution_options(synchronize_session=False))

    def scheduled_done_at(self, key: str) -> datetime | None:
        done = self.session.scalar(select(ScheduledReportRow.done_at).where(ScheduledReportRow.key == key))
        return None if done is None else done.replace(tzinfo=UTC)
