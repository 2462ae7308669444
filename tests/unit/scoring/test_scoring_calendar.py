from __future__ import annotations

from datetime import date

import pytest

from services.scoring.domain.calendar import add_months, school_year

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("start", "months", "expected"), [
    ("2024-01-31", 1, "2024-02-29"),   # leap February
    ("2025-01-31", 1, "2025-02-28"),   # common February
    ("2024-02-29", 12, "2025-02-28"),  # a leap-day child's first birthday in a common year
    ("2024-02-29", 48, "2028-02-29"),  # ...and in the next leap year
    ("2024-08-31", 6, "2025-02-28"),
    ("2024-03-31", 3, "2024-06-30"),
    ("2024-05-15", 18, "2025-11-15"),
    ("2024-12-31", 24, "2026-12-31"),
    ("2024-11-30", 3, "2025-02-28"),
])
def test_add_months_keeps_the_day_or_falls_back_to_the_month_end(start: str, months: int, expected: str) -> None:
    assert add_months(date.fromisoformat(start), months) == date.fromisoformat(expected)


@pytest.mark.parametrize(("day", "expected"), [
    ("2025-04-01", 2025), ("2025-03-31", 2024), ("2026-01-15", 2025), ("2025-12-31", 2025),
])
def test_school_year_runs_april_to_march(day: str, expected: int) -> None:
    assert school_year(date.fromisoformat(day)) == expected
