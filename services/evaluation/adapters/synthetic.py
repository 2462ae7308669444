"""Synthetic listings and outcomes where the truth is known: for tests, the benchmark and a demonstration store.

Random pseudonymous ids only (``syn-…``); no names or any other personal data. Each listed child's need for
support is drawn from a logistic model whose odds ratios are given, so an analysis can be checked against them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from contracts.vocabulary import WARD_CODES
from services.evaluation.adapters.orm import CaseRow, ChildRow, StepRow, items_text
from services.evaluation.domain.model import APPROACH, ASSESS, CLOSE, CONFER, SCREEN, Case, Step
from services.evaluation.domain.weights import Weights

WARDS = WARD_CODES
# Share of children carrying each item (Fukuoka's enabled items dominate).
PREVALENCE = {3: 0.02, 9: 0.015, 10: 0.004, 11: 0.02, 12: 0.03, 13: 0.02, 15: 0.01, 16: 0.002, 17: 0.03,
              18: 0.03, 19: 0.06, 1: 0.002, 2: 0.001}


@dataclass(frozen=True)
class Truth:
    intercept: float = -1.6
    odds_ratios: Mapping[int, float] = field(default_factory=lambda: {18: 3.0, 17: 2.0, 3: 1.5, 12: 1.8})

    def p_need(self, items: frozenset[int]) -> float:
        logit = self.intercept + sum(math.log(self.odds_ratios.get(i, 1.0)) for i in items)
        return 1 / (1 + math.exp(-logit))


@dataclass
class SyntheticChild:
    child_id: str
    ward_code: str
    items: frozenset[int]
    case: Case | None


def generate(children: int, weights: Weights, *, seed: int = 7, truth: Truth | None = None,
             start: datetime = datetime(2026, 9, 1, tzinfo=UTC), days: int = 180) -> Iterator[SyntheticChild]:
    """``children`` children aged 0–15; those carrying items are flagged, those with a tier are listed."""
    rng = random.Random(seed)
    truth = truth or Truth()
    for n in range(children):
        items = frozenset(i for i, p in PREVALENCE.items() if rng.random() < p)
        child_id = f"syn-{seed}-{n}"
        ward = rng.choice(WARDS)
        tier = weights.tier(items) if items else None
        if tier is None:
            yield SyntheticChild(child_id, ward, items, None)
            continue
        listed = start + timedelta(days=rng.uniform(0, days))
        case = Case(f"case-{child_id}", child_id, ward, listed, tier, items,
                    _steps(rng, listed, rng.random() < truth.p_need(items)), items)
        if rng.random() < 0.05:  # a fact ended or was corrected after listing: an item cleared
            case.current_items = frozenset(sorted(items)[1:])
        yield SyntheticChild(child_id, ward, items, case)


def _steps(rng: random.Random, listed: datetime, needs: bool) -> list[Step]:
    t = listed + timedelta(days=rng.uniform(1, 10))
    if rng.random() < 0.08:
        return []  # not screened yet
    if rng.random() < 0.25:
        return [Step(SCREEN, "既に支援につながっている", t)]
    if rng.random() < 0.08:
        return [Step(SCREEN, "非該当", t)]
    steps = [Step(SCREEN, "要アプローチ", t)]
    t += timedelta(days=rng.uniform(1, 7))
    steps.append(Step(CONFER, "決定", t))
    for _attempt in range(3):
        t += timedelta(days=rng.uniform(2, 14))
        draw = rng.random()
        result = "面会できた" if draw < 0.6 else "電話で聴取できた" if draw < 0.75 else "拒否" if draw < 0.8 else "不在"
        steps.append(Step(APPROACH, result, t))
        if result != "不在":
            break
    else:
        steps.append(Step(CLOSE, "連絡不能", t + timedelta(days=1)))
        return steps
    t += timedelta(days=rng.uniform(1, 10))
    steps.append(Step(ASSESS, "支援が必要" if needs else "支援は不要", t))
    return steps


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def write(session: Session, rows: list[SyntheticChild], weights: Weights, as_of: str = "2027-03-31") -> None:
    """Bulk-inserts the children's flags, their listings and steps into the store (a fresh one)."""
    flagged = [c for c in rows if c.items]
    if flagged:
        session.execute(insert(ChildRow), [
            {"child_id": c.child_id, "ward_code": c.ward_code, "tier": weights.tier(c.items),
             "score": weights.score(c.items), "items": items_text(c.case.current_items if c.case and
                                                                  c.case.current_items is not None else c.items),
             "ever_items": items_text(c.items), "as_of": as_of, "event_time": datetime(2027, 3, 31),
             "weights_version": weights.version, "supported_by_child_guidance": False} for c in flagged])
    cases = [c.case for c in rows if c.case is not None]
    if cases:
        session.execute(insert(CaseRow), [
            {"case_id": k.case_id, "child_id": k.child_id, "ward_code": k.ward_code, "listed_at": _naive(k.listed_at),
             "tier": k.tier, "items": items_text(k.items), "reason": "entered_tier"} for k in cases])
        steps = [{"event_id": f"{k.case_id}-{j}", "case_id": k.case_id, "step": s.step, "result": s.result,
                  "recorded_at": _naive(s.at)} for k in cases for j, s in enumerate(k.steps)]
        if steps:
            session.execute(insert(StepRow), steps)
