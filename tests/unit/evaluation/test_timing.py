"""Time from listing to first contact and to assessment: quartiles and shares within 14/30 days, by hand."""

from __future__ import annotations

import pytest

from services.evaluation.domain.funnel import CaseSummary
from services.evaluation.domain.timing import days_lists, quantile, timing_tables

pytestmark = pytest.mark.unit


def case(tier: str, contact: float | None, assessment: float | None = None) -> CaseSummary:
    return CaseSummary("40131", tier, "2026-09", frozenset({3}), True, contact is not None, contact is not None,
                       assessment is not None, False, False, False, contact, assessment, 0)


def test_quantiles_interpolate_like_numpy() -> None:
    assert quantile([1, 2, 3, 4], 0.5) == 2.5
    assert quantile([1, 2, 3, 4], 0.25) == 1.75
    assert quantile([10.0], 0.9) == 10.0


def test_timing_rows_per_tier_and_overall_by_hand() -> None:
    cases = [case("重点", 2, 10), case("重点", 12, 40), case("重点", None), case("予防", 31, 35), case("予防", 14)]
    overall, top, middle = timing_tables(cases, ("重点", "予防", "見守り"))
    assert (overall.group, overall.listed, overall.contacted, overall.assessed) == ("全体", 5, 4, 3)
    assert overall.contact_quantiles == (quantile([2, 12, 14, 31], 0.25), 13.0, quantile([2, 12, 14, 31], 0.75),
                                         quantile([2, 12, 14, 31], 0.9))
    within_14, within_30 = overall.contacted_within
    assert (within_14.k, within_14.n, within_30.k, within_30.n) == (3, 5, 3, 5)  # 14 days counts; 31 does not
    assert (top.group, top.listed, top.contacted) == ("重点", 3, 2)
    assert top.contacted_within[0].k == 2 and top.assessment_quantiles is not None
    assert top.assessment_quantiles[1] == 25.0
    assert middle.group == "予防" and middle.assessment_quantiles == (35.0, 35.0, 35.0, 35.0)
    assert days_lists(cases) == ([2, 12, 31, 14], [10, 40, 35])


def test_nobody_contacted_has_no_quantiles() -> None:
    [row] = timing_tables([case("見守り", None)], ("重点", "予防", "見守り"))[1:]
    assert row.contact_quantiles is None and row.contacted_within[0].rate == 0.0
