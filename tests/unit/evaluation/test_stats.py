"""Wilson intervals against statsmodels and hand-computed figures; lift; periods."""

from __future__ import annotations

from datetime import date

import pytest
from statsmodels.stats.proportion import proportion_confint

from services.evaluation.domain.periods import PeriodError, parse_period, week_of
from services.evaluation.domain.stats import lift, wilson

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("k", "n"), [(0, 1), (0, 10), (1, 10), (8, 20), (20, 20), (639, 2727), (3, 1000)])
def test_wilson_matches_statsmodels(k: int, n: int) -> None:
    ours = wilson(k, n)
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert ours.low == pytest.approx(low, abs=1e-12) and ours.high == pytest.approx(high, abs=1e-12)


def test_wilson_by_hand() -> None:
    # 8 of 20: p=0.4, z=1.96; centre (0.4+0.09604)/1.19208=0.41611, half 1.96*sqrt(0.012+0.0024010)/1.19208=0.19731
    p = wilson(8, 20)
    assert p.rate == 0.4
    assert p.low == pytest.approx(0.2188, abs=1e-4) and p.high == pytest.approx(0.6134, abs=1e-4)


def test_wilson_of_nothing_is_undefined() -> None:
    p = wilson(0, 0)
    assert p.rate is None and p.low is None and p.high is None
    with pytest.raises(ValueError):
        wilson(3, 2)


def test_lift_is_the_ratio_of_rates() -> None:
    assert lift(wilson(6, 10), wilson(30, 100)) == pytest.approx(2.0)
    assert lift(wilson(1, 10), wilson(0, 100)) is None
    assert lift(wilson(0, 0), wilson(3, 10)) is None


def test_periods() -> None:
    fy = parse_period("FY2026")
    assert (fy.start, fy.last, fy.label) == (date(2026, 4, 1), date(2027, 3, 31), "2026年度")
    assert parse_period("2026-12").end == date(2027, 1, 1)
    span = parse_period("2026-09-01..2026-09-30")
    assert span.contains(date(2026, 9, 30)) and not span.contains(date(2026, 10, 1))
    week = week_of(date(2026, 11, 4))  # a Wednesday
    assert (week.start, week.last) == (date(2026, 11, 2), date(2026, 11, 8))
    assert week.previous().start == date(2026, 10, 26)
    with pytest.raises(PeriodError):
        parse_period("last year")
