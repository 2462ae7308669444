"""Items 10 (発達障がいで精神障害者保健福祉手帳) and 11 (障害児支援受給者証), from 障がい (保健福祉総合)."""

from __future__ import annotations

from datetime import date

from services.scoring.domain.facts import ChildFacts
from services.scoring.domain.model import Evidence, Finding
from services.scoring.domain.rules.base import NoParams, RuleSpec, jp_date


def developmental_disability_certificate(facts: ChildFacts, today: date, params: NoParams) -> Finding | None:
    held = [f for f in facts.of_kind("disability_certificate")
            if f.relation == "self" and f.attr("certificate") == "mental_health_welfare"
            and f.attr("developmental_disability") is True and f.active_on(today)]
    if not held:
        return None
    evidence = tuple(Evidence.of(f, f"精神障害者保健福祉手帳（発達障がい）交付 {jp_date(f.valid_from)}",
                                 certificate="mental_health_welfare", developmental_disability=True,
                                 grade=f.attr("grade")) for f in held)
    return Finding(min((d for f in held if (d := f.dated()) is not None), default=None),
                   "発達障がいにより精神障害者保健福祉手帳を所持", evidence)


def child_support_recipient_certificate(facts: ChildFacts, today: date, params: NoParams) -> Finding | None:
    issued = [f for f in facts.of_kind("disability_certificate")
              if f.relation == "self" and f.attr("certificate") == "child_support_recipient" and f.started_by(today)]
    if not issued:
        return None
    evidence = tuple(Evidence.of(f, f"障害児支援受給者証 交付 {jp_date(f.valid_from)}"
                                    + (f"（{jp_date(f.valid_to)} 終了）" if f.valid_to else ""),
                                 certificate="child_support_recipient") for f in issued)
    return Finding(min((d for f in issued if (d := f.dated()) is not None), default=None),
                   "障害児支援受給者証の交付歴あり", evidence)


RULES = (
    RuleSpec(10, "発達障がい（精神障害者保健福祉手帳）",
             ("disability_certificate",), NoParams, developmental_disability_certificate),
    RuleSpec(11, "障害児支援受給者証", ("disability_certificate",), NoParams, child_support_recipient_certificate),
)
