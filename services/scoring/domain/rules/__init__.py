"""The 19 basic linkage items (基本連携データ項目), one RuleSpec each."""

from __future__ import annotations

from services.scoring.domain.rules import welfare
from services.scoring.domain.rules.base import ConfiguredRule, NoParams, RuleSpec

RULE_SPECS: dict[int, RuleSpec] = {spec.item: spec for spec in (*welfare.RULES,)}

__all__ = ["RULE_SPECS", "ConfiguredRule", "NoParams", "RuleSpec"]
