"""Ages, age windows and school years, as the municipality counts them."""

from __future__ import annotations

import calendar as _calendar
from datetime import date


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later; a day the month lacks falls back to its last day.

    A child born on 31 January is 1 month old on 28 (or 29) February; one born on 29 February turns one
    on 28 February of a common year.
    """
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, _calendar.monthrange(year, month)[1])
    return date(year, month, day)


def age_in_days(birth: date, on: date) -> int:
    return (on - birth).days


def school_year(on: date) -> int:
    """年度: April to March, named by the western year of its April."""
    return on.year if on.month >= 4 else on.year - 1
