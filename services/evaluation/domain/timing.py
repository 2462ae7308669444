"""Time from listing to first contact and to assessment: the distribution, not only its median (funnel.py).

Per tier at listing and for every listed child: how many were contacted (reached) / assessed at all, the quartiles
and the 90th percentile of the days, and the share of the listed children contacted within 14 and 30 days (Wilson
intervals) — a list that is right but reached late helps nobody.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.evaluation.domain.funnel import CaseSummary
from services.evaluation.domain.stats import Proportion, wilson

WITHIN_DAYS = (14, 30)
ALL = "全体"


@dataclass(frozen=True)
class TimingRow:
    group: str
    listed: int
    contacted: int
    contact_quantiles: tuple[float, float, float, float] | None  # 25 %, 50 %, 75 %, 90 % (days)
    contacted_within: tuple[Proportion, ...]  # over listed, for each of WITHIN_DAYS
    assessed: int
    assessment_quantiles: tuple[float, float, float, float] | None


def quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default, Hyndman–Fan type 7)."""
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _quantiles(values: Iterable[float]) -> tuple[float, float, float, float] | None:
    ordered = sorted(values)
    if not ordered:
        return None
    return (quantile(ordered, 0.25), quantile(ordered, 0.5), quantile(ordered, 0.75), quantile(ordered, 0.9))


def timing_row(group: str, cases: Sequence[CaseSummary]) -> TimingRow:
    contact = [c.days_to_contact for c in cases if c.days_to_contact is not None]
    assessment = [c.days_to_assessment for c in cases if c.days_to_assessment is not None]
    return TimingRow(group, len(cases), len(contact), _quantiles(contact),
                     tuple(wilson(sum(1 for d in contact if d <= days), len(cases)) for days in WITHIN_DAYS),
                     len(assessment), _quantiles(assessment))


def timing_tables(cases: Sequence[CaseSummary], tier_order: Sequence[str]) -> list[TimingRow]:
    """Every listed child first, then each tier in the rule file's order (tiers nobody was listed at are left out)."""
    tiers = [*tier_order, *sorted({c.tier for c in cases} - set(tier_order))]
    rows = [timing_row(ALL, cases)]
    rows += [timing_row(t, [c for c in cases if c.tier == t]) for t in tiers if any(c.tier == t for c in cases)]
    return rows


def days_lists(cases: Iterable[CaseSummary]) -> tuple[list[float], list[float]]:
    """Days to first contact and days to assessment of every listed child who got there (for the histogram)."""
    cases = list(cases)
    return ([c.days_to_contact for c in cases if c.days_to_contact is not None],
            [c.days_to_assessment for c in cases if c.days_to_assessment is not None])
