"""The shape of a rule: an item of the guideline, its parameters and a pure evaluation."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.scoring.domain.facts import ChildFacts
from services.scoring.domain.model import Finding
from services.scoring.domain.retention import Lookback

Evaluate = Callable[[ChildFacts, date, Any], Finding | None]
# Dates computed from the facts (not carried by them) on which the rule's outcome can change.
DerivedDates = Callable[[ChildFacts, date, Any], Iterable[date]]


@dataclass(frozen=True)
class NoParams:
    pass


@dataclass(frozen=True)
class RuleSpec:
    item: int
    label_ja: str
    reads: tuple[str, ...]  # fact kinds the rule looks at
    params_type: type
    evaluate: Evaluate
    derived_dates: DerivedDates | None = None
    # The rule concludes from an absence (no checkup record by a deadline): a fact that arrives cannot raise it,
    # only the clock can, the day after — by then the day's records from every system are in, so a child whose
    # history is still loading (go-live, a burst of late records) is not flagged for a record that is on its way.
    # A fact can clear it at once.
    concludes_absence: bool = False
    # The source system that would hold the record whose absence the rule concludes from. Its data horizon (the
    # day from which its records are complete, set at go-live in the rule file's [data_horizons]) reaches the
    # rule as the ``records_from`` parameter: a window before it is not judged (missing data is not a negative).
    absence_source: str | None = None


@dataclass(frozen=True)
class ConfiguredRule:
    spec: RuleSpec
    enabled: bool
    version: str
    params: Any
    lookback: Lookback | None = None  # from the rule file: how long the rule's facts count (None: as it says)

    @property
    def item(self) -> int:
        return self.spec.item


def jp_date(value: date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else "日付不明"
