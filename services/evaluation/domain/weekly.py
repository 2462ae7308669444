"""The weekly report (週次報告書): a ward's (or the city's) week of listings and workflow, beside the week before."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from services.evaluation.domain.model import APPROACH, ASSESS, CLOSE, CLOSED_STATE, SCREEN, Case
from services.evaluation.domain.periods import Period

CITY = "全市"
AGE_BUCKETS = ((7, "7日未満"), (30, "7〜29日"), (90, "30〜89日"), (None, "90日以上"))
CLOSING_SCREEN_RESULTS = frozenset({"既に支援につながっている", "非該当"})
_TICK = timedelta(seconds=1)  # the state at the week's last second


@dataclass
class WeekFigures:
    new_alerts: int = 0
    screenings: int = 0
    approaches: int = 0
    reached: int = 0
    assessments: int = 0
    needing_support: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)  # closing results in the week
    backlog_by_state: Counter[str] = field(default_factory=Counter)  # open cases at the week's end
    backlog_by_age: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class WardWeek:
    ward: str
    this_week: WeekFigures
    last_week: WeekFigures


def _end(period: Period) -> datetime:
    return datetime.combine(period.end, time.min, tzinfo=UTC)


def age_bucket(days: float) -> str:
    for limit, label in AGE_BUCKETS:
        if limit is None or days < limit:
            return label
    raise AssertionError("unreachable")


def week_figures(cases: Iterable[Case], period: Period) -> WeekFigures:
    figures = WeekFigures()
    end = _end(period)
    for case in cases:
        if period.contains(case.listed_at):
            figures.new_alerts += 1
        for step in case.steps:
            if not period.contains(step.at):
                continue
            if step.step == SCREEN:
                figures.screenings += 1
                if step.result in CLOSING_SCREEN_RESULTS:
                    figures.outcomes[step.result or ""] += 1
            elif step.step == APPROACH:
                figures.approaches += 1
                figures.reached += step.result in ("面会できた", "電話で聴取できた")
            elif step.step == ASSESS:
                figures.assessments += 1
                figures.needing_support += step.result == "支援が必要"
                if step.result == "支援は不要":
                    figures.outcomes["支援は不要"] += 1
            elif step.step == CLOSE:
                figures.outcomes[step.result or ""] += 1
        state = case.state_at(end - _TICK)
        if state is not None and state != CLOSED_STATE:
            figures.backlog_by_state[state] += 1
            figures.backlog_by_age[age_bucket((end - case.listed_at).total_seconds() / 86400)] += 1
    return figures


def scoped(rows: list[WardWeek], ward_codes: Iterable[str]) -> list[tuple[str, list[WardWeek]]]:
    """The documents of one week: ``("city", every row)``, then ``(ward code, [that ward's row])`` for each ward —
    a ward with no case that week still gets its (empty) document, and sees no other ward's figures."""
    by_ward = {r.ward: r for r in rows}
    return [("city", rows), *((code, [by_ward.get(code) or WardWeek(code, WeekFigures(), WeekFigures())])
                              for code in ward_codes)]


def weekly(cases: list[Case], week: Period) -> list[WardWeek]:
    """Every ward with a case, then the whole city."""
    previous = week.previous()
    wards = sorted({c.ward_code for c in cases})
    rows = []
    for ward in [*wards, CITY]:
        mine = cases if ward == CITY else [c for c in cases if c.ward_code == ward]
        rows.append(WardWeek(ward, week_figures(mine, week), week_figures(mine, previous)))
    return rows
