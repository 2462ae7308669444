"""A municipality's rule book as the handlers use it: its rules, weights and data horizons (loaded from TOML by
adapters/rulebook.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from services.scoring.domain.evaluation import RuleSet
from services.scoring.domain.tiers import Weights


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


HORIZON_PARAM = "records_from"  # filled from [data_horizons] for the rules that conclude from an absence


def with_horizons(book: Rulebook, horizons: Mapping[str, date], version: str) -> Rulebook:
    """The same rule file with these data horizons (per source system): each absence rule whose record would
    come from a source with a horizon judges only windows after it."""
    rules = [
        dataclasses.replace(rule, params=dataclasses.replace(
            rule.params, **{HORIZON_PARAM: horizons.get(rule.spec.absence_source)}))
        if rule.spec.absence_source is not None else rule
        for rule in book.rules.rules
    ]
    return dataclasses.replace(book, rules=dataclasses.replace(book.rules, rules=rules, _reading={}),
                               horizons=dict(horizons), horizons_version=version)
