"""Item weights and tier thresholds, as scoring applies them (score = sum of weights; first tier reached).

Evaluation keeps its own copy of this small arithmetic because services never import each other; the rule
file's ``[weights]`` table is the shared document. A change to an item's *definition* is scoring's to replay.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Weights:
    version: str
    per_item: Mapping[int, float]
    tiers: tuple[tuple[str, float], ...]  # (name, min_score), highest first
    default_weight: float = 1.0

    def weight(self, item: int) -> float:
        return self.per_item.get(item, self.default_weight)

    def score(self, items: Iterable[int]) -> float:
        return round(sum(self.weight(item) for item in items), 6)

    def tier(self, items: Iterable[int]) -> str | None:
        score = self.score(items)
        for name, min_score in self.tiers:
            if score >= min_score:
                return name
        return None

    @property
    def tier_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.tiers)
