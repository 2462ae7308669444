"""Items 18 (生活保護) and 19 (児童扶養手当): benefits the household or guardian receives now."""

from __future__ import annotations

from datetime import date

from services.scoring.domain.facts import ChildFacts
from services.scoring.domain.model import Evidence, Finding
from services.scoring.domain.rules.base import NoParams, RuleSpec, jp_date

_RELATION_JA = {"self": "本人", "mother": "母", "household": "世帯", "guardian": "保護者"}


def household_on_public_assistance(facts: ChildFacts, today: date, params: NoParams) -> Finding | None:
    current = [f for f in facts.of_kind("public_assistance") if f.relation in ("household", "self")
               and f.active_on(today)]
    if not current:
        return None
    evidence = tuple(
        Evidence.of(f, f"生活保護 保護開始 {jp_date(f.valid_from)}（{_RELATION_JA.get(f.relation, f.relation)}）",
                    case_no=f.attr("case_no"), start_date=f.valid_from.isoformat() if f.valid_from else None)
        for f in current
    )
    since = min((d for f in current if (d := f.dated()) is not None), default=None)
    return Finding(since, "世帯が生活保護を受給中", evidence)


def guardian_receives_child_rearing_allowance(facts: ChildFacts, today: date, params: NoParams) -> Finding | None:
    current = [f for f in facts.of_kind("allowance")
               if f.attr("allowance") == "jido_fuyo_teate" and f.active_on(today)]
    if not current:
        return None
    evidence = tuple(
        Evidence.of(f, f"児童扶養手当 受給開始 {jp_date(f.valid_from)}（{_RELATION_JA.get(f.relation, f.relation)}）",
                    allowance="jido_fuyo_teate", start_date=f.valid_from.isoformat() if f.valid_from else None)
        for f in current
    )
    since = min((d for f in current if (d := f.dated()) is not None), default=None)
    return Finding(since, "監護する者が児童扶養手当を受給中", evidence)


RULES = (
    RuleSpec(18, "生活保護受給世帯",
             ("public_assistance",), NoParams, household_on_public_assistance),
    RuleSpec(19, "児童扶養手当受給", ("allowance",), NoParams, guardian_receives_child_rearing_allowance),
)
