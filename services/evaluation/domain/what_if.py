"""What-if before a rule change: each child's current items re-tiered under proposed weights and thresholds.

Only weights and thresholds can be tried here (the items and connection signals each child carries stay as scoring
reported them); a signal (行政とのつながり) counts only with a weight in ``[weights.signals]``.
Nothing is applied: adopting new weights is HQ's separate, audited act in scoring's rule file.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from services.evaluation.domain.model import NO_TIER
from services.evaluation.domain.weights import Weights

CITY = "全市"


@dataclass(frozen=True)
class ChildItems:
    ward_code: str
    items: frozenset[int]
    signals: frozenset[str] = frozenset()


@dataclass
class WardShift:
    ward: str
    children: int = 0
    before: Counter[str] = field(default_factory=Counter)
    after: Counter[str] = field(default_factory=Counter)
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)  # (before, after), only changes
    drivers: Counter[int] = field(default_factory=Counter)  # items carried by children whose tier changed
    signal_drivers: Counter[str] = field(default_factory=Counter)  # signals, likewise (by code)

    def entering(self, tier: str) -> int:
        return sum(n for (b, a), n in self.moves.items() if a == tier and b != tier)

    def leaving(self, tier: str) -> int:
        return sum(n for (b, a), n in self.moves.items() if b == tier and a != tier)

    @property
    def changed(self) -> int:
        return sum(self.moves.values())


@dataclass(frozen=True)
class WhatIf:
    current: Weights
    proposed: Weights
    wards: dict[str, WardShift]  # every ward, and CITY
    tiers: tuple[str, ...]


def what_if(children: Iterable[ChildItems], current: Weights, proposed: Weights) -> WhatIf:
    wards: dict[str, WardShift] = defaultdict(lambda: WardShift(""))
    changed_weights = {i for i in range(1, 20) if current.weight(i) != proposed.weight(i)}
    changed_signals = {s for s in {*current.per_signal, *proposed.per_signal}
                       if current.signal_weight(s) != proposed.signal_weight(s)}
    cache: dict[tuple[frozenset[int], frozenset[str]], tuple[str, str]] = {}  # few distinct sets: ~220 k children
    for child in children:
        carried = (child.items, child.signals)
        pair = cache.get(carried)
        if pair is None:
            pair = (current.tier(child.items, child.signals) or NO_TIER,
                    proposed.tier(child.items, child.signals) or NO_TIER)
            cache[carried] = pair
        before, after = pair
        for key in (child.ward_code, CITY):
            shift = wards[key]
            shift.ward = key
            shift.children += 1
            shift.before[before] += 1
            shift.after[after] += 1
            if before != after:
                shift.moves[(before, after)] += 1
                # What moved the child: the items and signals it carries whose weight changed; with only
                # threshold changes, every item it carries (and every signal that weighs something).
                items, signals = child.items & changed_weights, child.signals & changed_signals
                if not items and not signals:
                    items = child.items
                    signals = frozenset(s for s in child.signals if proposed.signal_weight(s) or
                                        current.signal_weight(s))
                shift.drivers.update(items)
                shift.signal_drivers.update(signals)
    names = list(dict.fromkeys([*current.tier_names, *proposed.tier_names]))
    return WhatIf(current, proposed, dict(wards), (*names, NO_TIER))
