"""Evaluating a child: every enabled rule over the child's facts on a date. A pure function."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from services.scoring.domain.facts import ChildFacts
from services.scoring.domain.model import Assessment, Flag
from services.scoring.domain.rules.base import ConfiguredRule
from services.scoring.domain.tiers import Weights


@dataclass(frozen=True)
class RuleSet:
    version: str
    rules: Sequence[ConfiguredRule]

    @property
    def enabled(self) -> list[ConfiguredRule]:
        return [r for r in self.rules if r.enabled]

    def reading(self, kinds: set[str]) -> list[ConfiguredRule]:
        """The enabled rules whose outcome can depend on facts of these kinds."""
        return [r for r in self.rules if r.enabled and not kinds.isdisjoint(r.spec.reads)]


def supported_by_child_guidance(facts: ChildFacts, today: date) -> bool:
    return any(f.attr("involvement") == "support" and f.active_on(today) for f in facts.of_kind("child_guidance"))


def evaluate_rules(facts: ChildFacts, today: date, rules: Iterable[ConfiguredRule]) -> list[Flag]:
    flags = []
    for rule in rules:
        if not rule.enabled:
            continue
        finding = rule.spec.evaluate(facts, today, rule.params)
        if finding is not None:
            flags.append(Flag(rule.item, rule.spec.label_ja, rule.version, finding.raised_on, finding.detail_ja,
                              finding.evidence))
    return flags


def evaluate(facts: ChildFacts, today: date, rules: RuleSet, weights: Weights) -> Assessment:
    flags = evaluate_rules(facts, today, rules.rules)
    flags.sort(key=lambda f: f.item)
    score = weights.score(frozenset(f.item for f in flags))
    return Assessment(tuple(flags), score, weights.tier(score) if flags else None,
                      supported_by_child_guidance(facts, today))
