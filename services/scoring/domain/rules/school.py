"""School (校務系): items 12 (many absences), 13 (many late arrivals), 14 (the child's own distress)."""

from __future__ import annotations

import calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from services.scoring.domain.calendar import school_year
from services.scoring.domain.facts import ChildFacts, Fact
from services.scoring.domain.model import Evidence, Finding
from services.scoring.domain.rules.base import Evaluate, RuleSpec, jp_date

_POSITION_IN_SCHOOL_YEAR = {month: index for index, month in enumerate((4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3))}


@dataclass(frozen=True)
class SchoolCountParams:
    threshold: int
    # 1 = the current 年度 only (the flag clears on 1 April); 2 keeps last year's visible for another year.
    school_years_considered: int = 1
    # Early pace (optional): an average of at least this many per reported month in the current 年度,
    # once at least pace_min_months months are reported.
    pace_per_month: float | None = None
    pace_min_months: int = 3

    def __post_init__(self) -> None:
        if self.threshold < 1 or self.school_years_considered < 1 or self.pace_min_months < 1:
            raise ValueError("threshold, school_years_considered and pace_min_months must be at least 1")
        if self.pace_per_month is not None and self.pace_per_month <= 0:
            raise ValueError("pace_per_month must be positive when set")


@dataclass(frozen=True)
class AbsenceParams(SchoolCountParams):
    threshold: int = 30


@dataclass(frozen=True)
class LateArrivalParams(SchoolCountParams):
    threshold: int = 20


def _month_end(year: int, month: int) -> date:
    calendar_year = year if month >= 4 else year + 1
    return date(calendar_year, month, calendar.monthrange(calendar_year, month)[1])


def _counted(field: str, noun_ja: str, unit_ja: str) -> Evaluate:
    def evaluate(facts: ChildFacts, today: date, params: SchoolCountParams) -> Finding | None:
        current = school_year(today)
        oldest = current - params.school_years_considered
        rows: dict[int, list[tuple[int, str, int, Fact]]] = defaultdict(list)
        totals: dict[int, int] = defaultdict(int)
        for fact in facts.of_kind("attendance"):
            attributes = fact.attributes
            year, month, count = attributes.get("school_year"), attributes.get("month"), attributes.get(field)
            if (fact.relation != "self" or not isinstance(year, int) or isinstance(year, bool)
                    or not oldest < year <= current or not isinstance(month, int)
                    or month not in _POSITION_IN_SCHOOL_YEAR
                    or not isinstance(count, int | float) or isinstance(count, bool)):
                continue
            rows[year].append((_POSITION_IN_SCHOOL_YEAR[month], fact.fact_id, int(count), fact))
            totals[year] += int(count)
        pace_possible = params.pace_per_month is not None
        for year in sorted(rows, reverse=True):
            if totals[year] < params.threshold and not (pace_possible and year == current):
                continue
            months = [(position, fact, count) for position, _, count, fact in sorted(rows[year])]
            total, crossing = 0, None
            for _, fact, count in months:
                total += count
                if crossing is None and total >= params.threshold:
                    crossing = fact
            paced = (year == current and params.pace_per_month is not None and crossing is None
                     and len({m for m, _, _ in months}) >= params.pace_min_months
                     and total / len({m for m, _, _ in months}) >= params.pace_per_month)
            if crossing is None and not paced:
                continue
            evidence = tuple(
                Evidence.of(f, f"{year}年度 {f.attr('month')}月 {noun_ja} {count}{unit_ja}",
                            school_year=year, month=f.attr("month"), **{field: count})
                for _, f, count in months if count > 0)
            basis = crossing or months[-1][1]
            month = basis.attr("month")
            raised = basis.recorded_on or _month_end(year, month if isinstance(month, int) else 3)
            if crossing is not None:
                detail = f"{year}年度の{noun_ja} {total}{unit_ja}（{params.threshold}{unit_ja}以上）"
            else:
                detail = (f"{year}年度の{noun_ja}が月平均 {total / len({m for m, _, _ in months}):.1f}{unit_ja}"
                          f"（{params.pace_per_month:g}{unit_ja}/月以上のペース）")
            return Finding(raised, detail, evidence)
        return None
    return evaluate


def next_school_year(facts: ChildFacts, today: date, params: SchoolCountParams) -> list[date]:
    return [date(school_year(today) + 1, 4, 1)] if facts.of_kind("attendance") else []


@dataclass(frozen=True)
class DistressParams:
    # The latest survey answer about distress decides (a later answer without distress clears the flag);
    # optionally an answer older than this many days no longer counts.
    max_age_days: int | None = None

    def __post_init__(self) -> None:
        if self.max_age_days is not None and self.max_age_days < 1:
            raise ValueError("max_age_days must be at least 1 when set")


def _answers(facts: ChildFacts, today: date) -> list[tuple[date, str, Fact]]:
    return sorted((answered, f.fact_id, f) for f in facts.of_kind("survey")
                  if f.relation == "self" and isinstance(f.attr("distress"), bool)
                  and (answered := f.dated("answered_date")) is not None and answered <= today)


def distress(facts: ChildFacts, today: date, params: DistressParams) -> Finding | None:
    answers = _answers(facts, today)
    if not answers or answers[-1][2].attr("distress") is not True:
        return None
    answered = answers[-1][0]
    if params.max_age_days is not None and today >= answered + timedelta(days=params.max_age_days):
        return None
    run: list[tuple[date, Fact]] = []
    for when, _, earlier in reversed(answers):
        if earlier.attr("distress") is not True:
            break
        run.insert(0, (when, earlier))
    evidence = tuple(Evidence.of(f, f"調査（{jp_date(d)}）で本人の困り感・希死念慮の回答あり",
                                 survey=f.attr("survey"), distress=True) for d, f in run)
    return Finding(run[0][0], "直近の調査で本人の困り感・希死念慮の回答", evidence)


def answer_expiry(facts: ChildFacts, today: date, params: DistressParams) -> list[date]:
    if params.max_age_days is None:
        return []
    return [d + timedelta(days=params.max_age_days) for d, _, _ in _answers(facts, date.max)]


RULES = (
    RuleSpec(12, "欠席が多い",
             ("attendance",), AbsenceParams, _counted("absence_days", "欠席日数", "日"), next_school_year),
    RuleSpec(13, "遅刻が多い",
             ("attendance",), LateArrivalParams, _counted("late_arrivals", "遅刻回数", "回"), next_school_year),
    RuleSpec(14, "本人の困り感・希死念慮", ("survey",), DistressParams, distress, answer_expiry),
)
