"""Ages, age windows and school years, as the municipality counts them."""

from __future__ import annotations

import calendar as _calendar
from datetime import date

_REACHED: dict[tuple[date, int], date] = {}  # (born, months) → the day: the rules ask the same few ages again and again
_REACHED_MAX = 200_000


def age_reached_on(born: date, months: int) -> date:
    """``_age_reached_on``, remembered (a pure function of its arguments; bounded)."""
    key = (born, months)
    day = _REACHED.get(key)
    if day is None:
        if len(_REACHED) >= _REACHED_MAX:
            _REACHED.clear()
        day = _REACHED[key] = _age_reached_on(born, months)
    return day


def _age_reached_on(born: date, months: int) -> date:
    """The first day on which a child born on ``born`` is ``months`` months old (満N か月, 満N歳).

    年齢計算ニ関スル法律 counts age from the day of birth, and 民法 143 条 ends a period of months or years at the end
    of the day before the corresponding day — or, when the last month has no such day, at the end of that month.
    So the age is reached on the corresponding day, or on the 1st of the next month when the month lacks it: a
    child born on 31 August is 6 months old on 1 March; one born on 29 February turns one on 1 March of a
    common year (and 18 on 1 March 2026 when born in 2008).
    """
    month_index = born.month - 1 + months
    year, month = born.year + month_index // 12, month_index % 12 + 1
    if born.day <= _calendar.monthrange(year, month)[1]:
        return date(year, month, born.day)
    return date(year + month // 12, month % 12 + 1, 1)


def school_year(on: date) -> int:
    """年度: April to March, named by the western year of its April."""
    return on.year if on.month >= 4 else on.year - 1
