"""Proportions with Wilson score intervals, and lift over a base rate."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile: two-sided 95 %


@dataclass(frozen=True)
class Proportion:
    k: int
    n: int
    low: float | None
    high: float | None

    @property
    def rate(self) -> float | None:
        return self.k / self.n if self.n else None


def wilson(k: int, n: int, z: float = Z95) -> Proportion:
    """The Wilson score interval: honest near 0 and 1 and for small n, where the normal one is not."""
    if n <= 0:
        return Proportion(k, n, None, None)
    if not 0 <= k <= n:
        raise ValueError(f"k={k} must lie within 0..n={n}")
    p = k / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return Proportion(k, n, max(0.0, centre - half), min(1.0, centre + half))


def lift(group: Proportion, base: Proportion) -> float | None:
    """How many times the base rate a group's rate is (None when either is undefined or the base is 0)."""
    if group.rate is None or not base.rate:
        return None
    return group.rate / base.rate
