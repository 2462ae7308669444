"""Item 9: low weight — below a weight-for-age percentile at the 1歳6か月/3歳 checkups, or a low ローレル指数
at the school health checkup."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from services.scoring.domain.facts import ChildFacts, Fact
from services.scoring.domain.growth import rohrer_index, weight_for_age_percentile
from services.scoring.domain.model import Evidence, Finding
from services.scoring.domain.rules.base import RuleSpec, jp_date
from services.scoring.domain.rules.checkups import CHECKUP_JA


@dataclass(frozen=True)
class LowWeightParams:
    infant_checkups: tuple[str, ...] = ("1y6m", "3y")
    percentile_below: float = 3.0
    rohrer_below: float = 100.0
    # "latest": the most recent measurement (infant or school) decides, so a child who has since gained
    # weight is cleared; "any": any low measurement ever.
    basis: Literal["latest", "any"] = "latest"
    # Instead of the WHO table, a municipality may set its own 3rd-percentile weights per checkup and sex
    # (e.g. from the 乳幼児身体発育調査), as {"1y6m": {"1": kg, "2": kg}, ...}: weight below it is low.
    fixed_limits_kg: dict[str, dict[str, float]] | None = None

    def __post_init__(self) -> None:
        if set(self.infant_checkups) - set(CHECKUP_JA):
            raise ValueError(f"infant_checkups must be among {sorted(CHECKUP_JA)}")
        if not 0 < self.percentile_below < 100 or self.rohrer_below <= 0:
            raise ValueError("percentile_below must be in (0, 100) and rohrer_below positive")
        for checkup, by_sex in (self.fixed_limits_kg or {}).items():
            if checkup not in CHECKUP_JA or set(by_sex) - {"1", "2"} or any(kg <= 0 for kg in by_sex.values()):
                raise ValueError("fixed_limits_kg: {checkup: {\"1\"|\"2\": positive kg}}")


# when, fact id, low?, and how to say it: the evidence is written only for the measurements a finding reports
_Measurement = tuple[date, str, bool, Callable[[], Evidence]]


def _infant(fact: Fact, born: date | None, sex: str | None, params: LowWeightParams) -> _Measurement | None:
    measured, weight, checkup = fact.dated("checkup_date"), fact.number_attr("weight_kg"), fact.attr("checkup")
    if measured is None or weight is None or checkup not in params.infant_checkups or sex is None:
        return None
    name = CHECKUP_JA[str(checkup)]
    if params.fixed_limits_kg is not None:
        limit = params.fixed_limits_kg.get(str(checkup), {}).get(sex)
        if limit is None:
            return None
        return measured, fact.fact_id, weight < limit, lambda: Evidence.of(
            fact, f"{name}（{jp_date(measured)}）体重 {weight:g}kg（基準 {limit:g}kg 未満で低体重）",
            weight_kg=weight, limit_kg=limit)
    if born is None:
        return None
    percentile = weight_for_age_percentile(sex, (measured - born).days, weight)
    if percentile is None:
        return None
    return measured, fact.fact_id, percentile < params.percentile_below, lambda: Evidence.of(
        fact, f"{name}（{jp_date(measured)}）体重 {weight:g}kg、WHO体重パーセンタイル {percentile:.1f}"
              f"（{params.percentile_below:g}未満で低体重）",
        weight_kg=weight, percentile=round(percentile, 2), reference="WHO 2006 weight-for-age")


def _school(fact: Fact, params: LowWeightParams) -> _Measurement | None:
    measured, weight, height = fact.dated("checkup_date"), fact.number_attr("weight_kg"), fact.number_attr("height_cm")
    if measured is None or weight is None or not height:
        return None
    rohrer = rohrer_index(weight, height)
    return measured, fact.fact_id, rohrer < params.rohrer_below, lambda: Evidence.of(
        fact, f"学校健診（{jp_date(measured)}）身長 {height:g}cm・体重 {weight:g}kg、ローレル指数 {rohrer:.1f}"
              f"（{params.rohrer_below:g}未満で低体重）",
        height_cm=height, weight_kg=weight, rohrer_index=round(rohrer, 1))


def low_weight(facts: ChildFacts, today: date, params: LowWeightParams) -> Finding | None:
    born, sex = facts.birth_date(today), facts.sex(today)
    measurements = [m for f in facts.of_kind("infant_checkup") if f.relation == "self"
                    and (m := _infant(f, born, sex, params)) is not None]
    measurements += [m for f in facts.of_kind("school_health_checkup") if f.relation == "self"
                     and (m := _school(f, params)) is not None]
    measurements = sorted((m for m in measurements if m[0] <= today), key=lambda m: (m[0], m[1]))
    if not measurements:
        return None
    if params.basis == "any":
        low = [m for m in measurements if m[2]]
    else:  # the trailing run of low measurements: low since the first of them, unless the latest is not low
        low = []
        for measurement in reversed(measurements):
            if not measurement[2]:
                break
            low.insert(0, measurement)
    if not low:
        return None
    return Finding(low[0][0], "健診で低体重", tuple(m[3]() for m in low))


RULES = (
    RuleSpec(9, "低体重",
             ("infant_checkup", "school_health_checkup", "residence", "birth", "school_enrolment"), LowWeightParams,
             low_weight),
)
