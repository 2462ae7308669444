"""When could a child's assessment next change with no new fact? The clock sweep skips children until then.

Rules compare today with dates: the facts' own dates (start, end, record date, dated attributes) and dates
derived from them (an age window closing, a look-back running out, a new school year, a fact's look-back
window from the rule file closing: domain/retention.py). Between two such
dates every rule's outcome stays the same, so the earliest one after today is the next day worth a look.
"""

from __future__ import annotations

from datetime import date

from services.scoring.domain.evaluation import RuleSet, adulthood
from services.scoring.domain.facts import ChildFacts
from services.scoring.domain.retention import closings


def next_change(facts: ChildFacts, today: date, rules: RuleSet, kinds: set[str] | None = None) -> date | None:
    """The earliest day after ``today`` on which re-evaluating could give another result; ``None``: never.

    With ``kinds``, only facts of those kinds and the rules reading them are looked at: the answer for a change
    of those kinds, to be combined with the horizon already known for the rest.
    """
    if kinds is None:
        upcoming = [d for d in facts.dates() if d > today]
    else:
        upcoming = [d for kind in kinds for fact in facts.of_kind(kind) for d in fact.dates() if d > today]
    if kinds is None and (of_age := adulthood(facts, today, rules)) is not None and of_age > today:
        upcoming.append(of_age)
    for rule in rules.rules if kinds is None else rules.reading(kinds):
        if rule.enabled and rule.spec.derived_dates is not None:
            upcoming.extend(d for d in rule.spec.derived_dates(facts, today, rule.params) if d > today)
        if rule.enabled and rule.lookback is not None:  # a fact's window closing: the flag may clear that day
            upcoming.extend(d for d in closings(facts, today, rule.lookback) if d > today)
    return min(upcoming, default=None)
