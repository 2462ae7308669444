"""The weight-for-age reference the generator draws infant weights from: the WHO Child Growth Standards (2006)
LMS table shipped in the repository (``services/scoring/domain/data/who_wfa_lms_by_day.csv``, see its header),
read here on its own so that the truth does not depend on scoring's code. Only the data is shared: it is the
reference table the guideline item 9 names, as the municipality's rule file and the generator both use it.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from statistics import NormalDist

TABLE = Path(__file__).resolve().parents[1] / "services" / "scoring" / "domain" / "data" / "who_wfa_lms_by_day.csv"
P3_Z = NormalDist().inv_cdf(0.03)  # -1.8808: the 3rd percentile


@cache
def _lms() -> dict[tuple[str, int], tuple[float, float, float]]:
    with TABLE.open(encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {(r["sex"], int(r["day"])): (float(r["L"]), float(r["M"]), float(r["S"])) for r in rows}


def weight_at_z(sex: str, age_days: int, z: float) -> float:
    """The weight (kg) at z-score ``z`` for a sex (``"1"`` boys, ``"2"`` girls) and age in days (0–1826)."""
    lms = _lms().get((sex, min(age_days, 1826)))
    if lms is None:
        raise ValueError(f"no reference for sex {sex!r} at {age_days} days")
    l, m, s = lms  # noqa: E741 - the LMS method's names
    return m * (1 + l * s * z) ** (1 / l)
