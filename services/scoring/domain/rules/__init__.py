"""The 19 basic linkage items (基本連携データ項目), one RuleSpec each."""

from __future__ import annotations

from services.scoring.domain.rules import (
    checkups,
    connection,
    disability,
    guidance,
    low_weight,
    pregnancy,
    school,
    welfare,
)
from services.scoring.domain.rules.base import ConfiguredRule, NoParams, RuleSpec

RULE_SPECS: dict[int, RuleSpec] = {
    spec.item: spec
    for module in (guidance, checkups, low_weight, disability, school, pregnancy, welfare)
    for spec in module.RULES
}
assert sorted(RULE_SPECS) == list(range(1, 20)), "every guideline item has exactly one rule"
# 行政とのつながり (issue 18): the city's own signals, numbered from 101 inside scoring, published by code.
SIGNAL_SPECS: dict[str, RuleSpec] = {connection.SIGNAL_CODES[spec.item]: spec for spec in connection.SIGNALS}

__all__ = ["RULE_SPECS", "SIGNAL_SPECS", "ConfiguredRule", "NoParams", "RuleSpec"]
