"""The shape of a rule: an item of the guideline, its parameters and a pure evaluation."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.scoring.domain.facts import ChildFacts
from services.scoring.domain.model import Finding
from services.scoring.domain.retention import Lookback

HORIZON_PARAM = "records_from"  # the params field that carries the data horizon (see RuleSpec.absence_sources)

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
    # The source systems that would hold the records whose absence the rule concludes from (every rule that
    # concludes from an absence names at least one). Their data horizon (the day from which a system's records
    # are complete, set at go-live in the rule file's [data_horizons]; of several, the latest) reaches the rule
    # as its params' ``records_from``: nothing before it is read as missed (missing data is not a negative).
    absence_sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.concludes_absence:
            if self.absence_sources:
                raise ValueError(f"item {self.item}: absence_sources without concludes_absence")
            return
        if not self.absence_sources:
            raise ValueError(f"item {self.item} concludes from an absence: name the source systems it reads it "
                             "from (absence_sources), so their data horizon applies")
        if HORIZON_PARAM not in {f.name for f in dataclasses.fields(self.params_type)}:
            raise ValueError(f"item {self.item} concludes from an absence: its params need {HORIZON_PARAM}")


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
