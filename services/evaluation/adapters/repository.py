"""Reading the store back as domain objects, in bulk (a city year is ≈ 220 k children)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.evaluation.adapters.orm import CaseRow, ChildRow, StepRow, items_of
from services.evaluation.domain.model import Case, Step


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class ChildNow:
    child_id: str
    ward_code: str | None
    tier: str | None
    items: frozenset[int]
    ever_items: frozenset[int]


def load_children(session: Session) -> list[ChildNow]:
    rows = session.execute(select(ChildRow.child_id, ChildRow.ward_code, ChildRow.tier, ChildRow.items,
                                  ChildRow.ever_items))
    return [ChildNow(cid, ward, tier, items_of(items), items_of(ever)) for cid, ward, tier, items, ever in rows]


def load_cases(session: Session) -> list[Case]:
    """Every case with its steps and the child's current items. A case whose alert has not arrived yet is
    dated by its first step (the listing came before it)."""
    steps: dict[str, list[Step]] = defaultdict(list)
    for case_id, step, result, at in session.execute(
            select(StepRow.case_id, StepRow.step, StepRow.result, StepRow.recorded_at)):
        steps[case_id].append(Step(step, result, _aware(at)))
    current = {cid: items_of(items) for cid, items in session.execute(select(ChildRow.child_id, ChildRow.items))}
    cases = []
    for row in session.execute(select(CaseRow.case_id, CaseRow.child_id, CaseRow.ward_code, CaseRow.listed_at,
                                      CaseRow.tier, CaseRow.items)):
        case_id, child_id, ward, listed_at, tier, items = row
        mine = sorted(steps.get(case_id, []), key=lambda s: s.at)
        if listed_at is None and not mine:
            continue
        when = _aware(listed_at) if listed_at is not None else mine[0].at
        cases.append(Case(case_id, child_id, ward, when, tier, items_of(items), mine, current.get(child_id)))
    return cases
