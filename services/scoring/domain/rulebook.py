"""A municipality's rule book as the handlers use it: its rules, weights and data horizons (loaded from TOML by
adapters/rulebook.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from services.scoring.domain.evaluation import RuleSet
from services.scoring.domain.rules.base import HORIZON_PARAM
from services.scoring.domain.tiers import Weights

__all__ = ["HORIZON_PARAM", "Rulebook", "records_from", "with_horizons"]


@dataclass(frozen=True)
class Rulebook:
    municipality: str
    rules: RuleSet
    weights: Weights
    path: str
    horizons: Mapping[str, date] = dataclasses.field(default_factory=dict)
    horizons_version: str | None = None

    @cached_property
    def versions(self) -> str:
        """What a child's state was evaluated with: a change re-evaluates every child."""
        base = f"{self.rules.version}|{self.weights.version}"
        return f"{base}|{self.horizons_version}" if self.horizons_version else base


def records_from(horizons: Mapping[str, date], sources: tuple[str, ...]) -> date | None:
    """From when an absence in these source systems means something: the latest of their horizons (a window
    that any of them might not cover is unknown); None when none has one (complete history)."""
    return max((horizons[s] for s in sources if s in horizons), default=None)


def with_horizons(book: Rulebook, horizons: Mapping[str, date], version: str) -> Rulebook:
    """The same rule file with these data horizons (per source system): each rule that concludes from an
    absence judges only what lies after the horizon of the systems it reads the absence from."""
    rules = [
        dataclasses.replace(rule, params=dataclasses.replace(
            rule.params, **{HORIZON_PARAM: records_from(horizons, rule.spec.absence_sources)}))
        if rule.spec.concludes_absence else rule
        for rule in book.rules.rules
    ]
    return dataclasses.replace(book, rules=dataclasses.replace(book.rules, rules=rules, _reading={}),
                               horizons=dict(horizons), horizons_version=version)
