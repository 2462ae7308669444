"""The shipped WHO weight-for-age reference and the ローレル指数."""

from __future__ import annotations

import pytest

from services.scoring.domain.growth import rohrer_index, weight_for_age_lms, weight_for_age_percentile

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("sex", "day", "median"), [
    # WHO Child Growth Standards, weight-for-age medians (boys/girls at birth, 1 year, 3 years)
    ("1", 0, 3.3464), ("2", 0, 3.2322), ("1", 365, 9.646), ("2", 365, 8.9462), ("1", 1095, 14.3387),
])
def test_the_table_holds_the_who_medians(sex: str, day: int, median: float) -> None:
    lms = weight_for_age_lms(sex, day)
    assert lms is not None and lms.m == median
    assert weight_for_age_percentile(sex, day, median) == pytest.approx(50.0)


def test_the_table_covers_every_day_to_five_years_for_both_sexes_and_nothing_else() -> None:
    assert all(weight_for_age_lms(sex, day) for sex in "12" for day in range(0, 1827))
    assert weight_for_age_lms("1", 1827) is None and weight_for_age_lms("3", 100) is None


def test_percentiles_rise_with_weight() -> None:
    low, mid, high = (weight_for_age_percentile("2", 547, w) for w in (8.0, 10.2, 13.0))
    assert low is not None and mid is not None and high is not None
    assert low < 3 < mid < high


def test_rohrer_index() -> None:
    assert rohrer_index(21.97, 130.0) == 100.0
    assert rohrer_index(30.0, 140.0) == pytest.approx(109.3, abs=0.05)
