"""Item weights and tier thresholds, as scoring applies them (score = sum of weights; first tier reached).

Evaluation keeps its own copy of this small arithmetic because services never import each other; the rule
file's ``[weights]`` table is the shared document. A change to an item's *definition* is scoring's to replay.
The connection signals (行政とのつながり, by code) weigh 0 unless ``[weights.signals]`` gives one, as in scoring.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Weights:
    version: str
    per_item: Mapping[int, float]
    tiers: tuple[tuple[str, float], ...]  # (name, min_score), highest first
    default_weight: float = 1.0
    per_signal: Mapping[str, float] = field(default_factory=dict)  # unlisted signals weigh 0 (not the default)

    def weight(self, item: int) -> float:
        return self.per_item.get(item, self.default_weight)

    def signal_weight(self, code: str) -> float:
        return self.per_signal.get(code, 0.0)

    def score(self, items: Iterable[int], signals: Iterable[str] = ()) -> float:
        return round(sum(self.weight(item) for item in items) + sum(self.signal_weight(s) for s in signals), 6)

    def tier(self, items: Iterable[int], signals: Iterable[str] = ()) -> str | None:
        score = self.score(items, signals)
        for name, min_score in self.tiers:
            if score >= min_score:
                return name
        return None

    @property
    def tier_names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.tiers)
