"""Item 9: low weight — below a weight-for-age percentile at the 1歳6か月/3歳 checkups, or a low ローレル指数
at the school health checkup."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from services.scoring.domain.facts import ChildFacts
from services.scoring.domain.growth import rohrer_index, weight_for_age_percentile
from services.scoring.domain.model import Evidence, Finding
from services.scoring.domain.rules.base import RuleSpec, jp_date
from services.scoring.domain.rules.checkups import CHECKUP_JA


@dataclass(frozen=True)
class LowWeightParams:
    infant_checkups: tuple[str, ...] = ("1y6m", "3y")
    percentile_below: float = 3.0
    rohrer_below: float = 100.0
    school_checkups: Literal["latest", "any"] = "latest"  # a child who has since gained weight is not flagged

    def __post_init__(self) -> None:
        if set(self.infant_checkups) - set(CHECKUP_JA):
            raise ValueError(f"infant_checkups must be among {sorted(CHECKUP_JA)}")
        if not 0 < self.percentile_below < 100 or self.rohrer_below <= 0:
            raise ValueError("percentile_below must be in (0, 100) and rohrer_below positive")


def low_weight(facts: ChildFacts, today: date, params: LowWeightParams) -> Finding | None:
    evidence: list[tuple[date, Evidence]] = []
    born, sex = facts.birth_date(today), facts.sex(today)
    for fact in facts.of_kind("infant_checkup"):
        measured, weight = fact.dated("checkup_date"), fact.number_attr("weight_kg")
        if (fact.relation != "self" or fact.attr("checkup") not in params.infant_checkups or measured is None
                or weight is None or born is None or sex is None or measured > today):
            continue
        percentile = weight_for_age_percentile(sex, (measured - born).days, weight)
        if percentile is not None and percentile < params.percentile_below:
            evidence.append((measured, Evidence.of(
                fact, f"{CHECKUP_JA[str(fact.attr('checkup'))]}（{jp_date(measured)}）体重 {weight:g}kg、"
                      f"WHO体重パーセンタイル {percentile:.1f}（{params.percentile_below:g}未満）",
                weight_kg=weight, percentile=round(percentile, 2), reference="WHO 2006 weight-for-age")))
    school = sorted((f for f in facts.of_kind("school_health_checkup")
                     if f.relation == "self" and (d := f.dated("checkup_date")) is not None and d <= today),
                    key=lambda f: (f.dated("checkup_date") or date.min, f.fact_id))
    for fact in school if params.school_checkups == "any" else school[-1:]:
        weight, height = fact.number_attr("weight_kg"), fact.number_attr("height_cm")
        if weight is None or not height:
            continue
        rohrer = rohrer_index(weight, height)
        if rohrer < params.rohrer_below:
            measured = fact.dated("checkup_date") or date.max  # undated ones were filtered out above
            evidence.append((measured, Evidence.of(
                fact, f"学校健診（{jp_date(measured)}）身長 {height:g}cm・体重 {weight:g}kg、"
                      f"ローレル指数 {rohrer:.1f}（{params.rohrer_below:g}未満）",
                height_cm=height, weight_kg=weight, rohrer_index=round(rohrer, 1))))
    if not evidence:
        return None
    evidence.sort(key=lambda pair: (pair[0], pair[1].fact_id))
    return Finding(evidence[0][0], "健診で低体重", tuple(e for _, e in evidence))


RULES = (
    RuleSpec(9, "低体重",
             "1歳6か月児／3歳児健診で体重が年齢・性別の3パーセンタイル未満（WHO基準）、"
             "または学校健診でローレル指数100未満",
             ("infant_checkup", "school_health_checkup", "residence", "birth", "school_enrolment"), LowWeightParams,
             low_weight),
)
