"""Evaluating a child: every enabled rule over the child's facts on a date. A pure function."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property

from services.scoring.domain.calendar import age_reached_on
from services.scoring.domain.facts import ChildFacts
from services.scoring.domain.model import Assessment, Evidence, Flag
from services.scoring.domain.retention import COUNTS_UNTIL, Lookback, until_by_fact, within
from services.scoring.domain.rules.base import ConfiguredRule
from services.scoring.domain.tiers import Weights

# Facts that decide whether the child is in scope at all (lives here, under the age limit): when one of these
# changes, every rule is evaluated again.
SCOPE_KINDS = frozenset({"residence", "birth"})


@dataclass(frozen=True)
class RuleSet:
    version: str
    rules: Sequence[ConfiguredRule]
    age_limit_years: int = 18  # from this birthday on, a person is no longer a child here: no flags
    _reading: dict[frozenset[str], list[ConfiguredRule]] = field(default_factory=dict, compare=False, repr=False)

    @property
    def enabled(self) -> list[ConfiguredRule]:
        return [r for r in self.rules if r.enabled]

    @cached_property
    def raised_by_clock_only(self) -> frozenset[int]:
        """Items whose rule concludes from an absence: a new fact may clear them, only the clock raises them."""
        return frozenset(r.item for r in self.rules if r.enabled and r.spec.concludes_absence)

    def reading(self, kinds: set[str]) -> list[ConfiguredRule]:
        """The enabled rules whose outcome can depend on facts of these kinds."""
        key = frozenset(kinds)
        found = self._reading.get(key)
        if found is None:
            found = self._reading[key] = [r for r in self.rules if r.enabled and not key.isdisjoint(r.spec.reads)]
        return found


def supported_by_child_guidance(facts: ChildFacts, today: date) -> bool:
    return any(f.attr("involvement") == "support" and f.active_on(today) for f in facts.of_kind("child_guidance"))


def adulthood(facts: ChildFacts, today: date, rules: RuleSet) -> date | None:
    born = facts.birth_date(today)
    return age_reached_on(born, 12 * rules.age_limit_years) if born else None


def in_scope(facts: ChildFacts, today: date, rules: RuleSet) -> bool:
    """A child the city looks after today: not moved away or dead (a residence that ended and no current one),
    and not yet of age. A child known only from other systems (no residence fact yet) is in scope."""
    residences = facts.of_kind("residence")
    if residences and facts.residence(today) is None and all(f.started_by(today) for f in residences):
        return False
    of_age = adulthood(facts, today, rules)
    return of_age is None or today < of_age


def evaluate_rules(facts: ChildFacts, today: date, rules: Iterable[ConfiguredRule]) -> list[Flag]:
    flags = []
    born = facts.birth_date(today)
    for rule in rules:
        if not rule.enabled:
            continue
        seen = facts if rule.lookback is None else within(facts, today, rule.lookback)
        finding = rule.spec.evaluate(seen, today, rule.params)
        if finding is not None:
            raised = finding.raised_on
            if raised is not None and born is not None and raised < born:
                raised = born  # a household's or mother's fact concerns the child from birth on
            evidence = finding.evidence if rule.lookback is None else _until(seen, today, rule.lookback,
                                                                            finding.evidence)
            flags.append(Flag(rule.item, rule.spec.label_ja, rule.version, raised, finding.detail_ja, evidence))
    return flags


def _until(facts: ChildFacts, today: date, lookback: Lookback,
           evidence: tuple[Evidence, ...]) -> tuple[Evidence, ...]:
    """The evidence with, for each fact whose window has an end, the day from which it no longer counts."""
    until = until_by_fact(facts, today, lookback)
    return tuple(replace(e, values={**e.values, COUNTS_UNTIL: until[e.fact_id].isoformat()})
                 if e.fact_id in until else e for e in evidence)


def evaluate(facts: ChildFacts, today: date, rules: RuleSet, weights: Weights) -> Assessment:
    if not in_scope(facts, today, rules):
        return Assessment((), 0.0, None, supported_by_child_guidance(facts, today))
    raised = evaluate_rules(facts, today, rules.rules)
    raised.sort(key=lambda f: f.item)
    score = weights.score(frozenset(f.item for f in raised))
    flags, signals = tuple(f for f in raised if f.item < 100), tuple(f for f in raised if f.item > 100)
    return Assessment(flags, score, weights.tier(score) if raised else None,
                      supported_by_child_guidance(facts, today), signals)
