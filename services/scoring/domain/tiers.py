"""Priority: a weighted score over the raised items and the tier it falls in (重点 / 予防 / 見守り)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class TierThreshold:
    name: str
    min_score: float


@dataclass(frozen=True)
class Weights:
    version: str
    per_item: Mapping[int, float]
    tiers: tuple[TierThreshold, ...]  # highest first
    default_weight: float = 1.0

    def score(self, items: frozenset[int]) -> float:
        return round(sum(self.per_item.get(item, self.default_weight) for item in items), 6)

    def tier(self, score: float) -> str | None:
        for threshold in self.tiers:
            if score >= threshold.min_score:
                return threshold.name
        return None
