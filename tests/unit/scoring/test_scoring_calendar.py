from __future__ import annotations

from datetime import date

import pytest

from services.scoring.domain.calendar import age_reached_on, school_year

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("born", "months", "expected"), [
    ("2024-01-31", 1, "2024-03-01"),   # no 31 February: the 1st of the next month (民法 143 条)
    ("2025-01-31", 1, "2025-03-01"),
    ("2024-01-29", 1, "2024-02-29"),   # a leap February has the 29th
    ("2025-01-29", 1, "2025-03-01"),
    ("2024-02-29", 12, "2025-03-01"),  # a leap-day child's first birthday in a common year
    ("2024-02-29", 48, "2028-02-29"),  # ...and in the next leap year
    ("2008-02-29", 216, "2026-03-01"),  # 18 years old (no longer a child) on 1 March 2026
    ("2024-08-31", 6, "2025-03-01"),
    ("2024-08-28", 6, "2025-02-28"),
    ("2024-03-31", 3, "2024-07-01"),
    ("2024-05-15", 18, "2025-11-15"),
    ("2024-12-31", 24, "2026-12-31"),
    ("2024-11-30", 3, "2025-03-01"),
    ("2024-12-31", 2, "2025-03-01"),
])
def test_an_age_is_reached_on_the_same_day_of_the_month_or_the_first_of_the_next(born: str, months: int,
                                                                                 expected: str) -> None:
    assert age_reached_on(date.fromisoformat(born), months) == date.fromisoformat(expected)


@pytest.mark.parametrize(("day", "expected"), [
    ("2025-04-01", 2025), ("2025-03-31", 2024), ("2026-01-15", 2025), ("2025-12-31", 2025),
])
def test_school_year_runs_april_to_march(day: str, expected: int) -> None:
    assert school_year(date.fromisoformat(day)) == expected
