"""Items 1 (要対協 registration history) and 2 (一時保護 history), from 児童相談 records."""

from __future__ import annotations

from datetime import date

from services.scoring.domain.facts import ChildFacts
from services.scoring.domain.model import Evidence, Finding
from services.scoring.domain.rules.base import Evaluate, NoParams, RuleSpec, jp_date

_LABEL = {"youtaikyo": "要保護児童対策地域協議会 登録", "temporary_protection": "一時保護"}


def _ever(involvement: str, detail: str) -> Evaluate:
    def evaluate(facts: ChildFacts, today: date, params: NoParams) -> Finding | None:
        found = [f for f in facts.of_kind("child_guidance")
                 if f.attr("involvement") == involvement and f.started_by(today)]
        if not found:
            return None
        evidence = tuple(
            Evidence.of(f, f"{_LABEL[involvement]} {jp_date(f.valid_from)}"
                           + (f"〜{jp_date(f.valid_to)}" if f.valid_to else "（継続中）"),
                        involvement=involvement, start_date=f.valid_from.isoformat() if f.valid_from else None,
                        end_date=f.valid_to.isoformat() if f.valid_to else None)
            for f in found
        )
        return Finding(min((d for f in found if (d := f.dated()) is not None), default=None), detail, evidence)
    return evaluate


RULES = (
    RuleSpec(1, "要対協登録歴", ("child_guidance",), NoParams, _ever("youtaikyo", "要対協に登録歴あり")),
    RuleSpec(2, "一時保護歴", ("child_guidance",), NoParams, _ever("temporary_protection", "一時保護の履歴あり")),
)
