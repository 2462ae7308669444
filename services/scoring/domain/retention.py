"""Look-back windows (issue 15, 保有の制限): how long a rule's facts count.

A rule file may give an item a window; a fact of the kinds the window covers counts for that item until the
window closes — ``until_age_months`` (the child's age: an EPDS of the birth counts until the child turns 1) and/or
``years_after_end`` (an episode with an end date counts until N years after it ended; an ongoing episode, or a
record without an end date, is bounded by the age limit only). A fact counts on a day strictly before the day
its window closes. No window: the fact counts as long as the rule says (the guideline's "歴" items: forever).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from services.scoring.domain.calendar import age_reached_on
from services.scoring.domain.facts import ChildFacts, Fact

COUNTS_UNTIL = "counts_until"  # the evidence value: the day from which the fact no longer counts (ISO date)


@dataclass(frozen=True)
class Lookback:
    until_age_months: int | None = None
    years_after_end: int | None = None
    kinds: tuple[str, ...] = ()  # the fact kinds it covers: the rule's, except those that place the child

    def __post_init__(self) -> None:
        if self.until_age_months is None and self.years_after_end is None:
            raise ValueError("a look-back window needs until_age_months or years_after_end")
        if (self.until_age_months is not None and self.until_age_months < 1) or (
                self.years_after_end is not None and self.years_after_end < 1):
            raise ValueError("until_age_months and years_after_end must be at least 1")

    def counts_until(self, fact: Fact, born: date | None) -> date | None:
        """The first day on which ``fact`` no longer counts; ``None``: no end known (counts)."""
        ends = []
        if self.until_age_months is not None and born is not None:
            ends.append(age_reached_on(born, self.until_age_months))
        if self.years_after_end is not None and fact.valid_to is not None:
            ends.append(age_reached_on(fact.valid_to, 12 * self.years_after_end))
        return min(ends, default=None)


def counts_on(until: date | None, today: date) -> bool:
    return until is None or today < until


def within(facts: ChildFacts, today: date, lookback: Lookback) -> ChildFacts:
    """The child's facts as the rule sees them today: those of the covered kinds whose window closed left out."""
    covered = [f for kind in lookback.kinds for f in facts.of_kind(kind)]
    if not covered:
        return facts  # most children: nothing to look at, nothing to copy
    born = facts.birth_date(today)
    if all(counts_on(lookback.counts_until(f, born), today) for f in covered):
        return facts
    return facts.keeping(lookback.kinds, lambda f: counts_on(lookback.counts_until(f, born), today))


def closings(facts: ChildFacts, today: date, lookback: Lookback) -> Iterable[date]:
    """The days on which a covered fact stops counting (the clock sweep clears the flag on that day)."""
    born = facts.birth_date(today)
    for kind in lookback.kinds:
        for fact in facts.of_kind(kind):
            if (until := lookback.counts_until(fact, born)) is not None:
                yield until


def until_by_fact(facts: ChildFacts, today: date, lookback: Lookback) -> dict[str, date]:
    born = facts.birth_date(today)
    return {f.fact_id: until for kind in lookback.kinds for f in facts.of_kind(kind)
            if (until := lookback.counts_until(f, born)) is not None}
