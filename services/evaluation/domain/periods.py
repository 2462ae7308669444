"""Reporting periods: a year, a fiscal year (年度, April–March), a month, a week, or an explicit range."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class Period:
    label: str
    start: date  # inclusive
    end: date  # exclusive

    def contains(self, moment: datetime | date) -> bool:
        day = moment.date() if isinstance(moment, datetime) else moment
        return self.start <= day < self.end

    @property
    def last(self) -> date:
        return self.end - timedelta(days=1)

    def previous(self) -> Period:
        length = self.end - self.start
        return Period(f"{self.label} の前期間", self.start - length, self.start)


class PeriodError(ValueError):
    pass


def week_of(day: date) -> Period:
    """The Monday-to-Sunday week holding ``day``."""
    monday = day - timedelta(days=day.weekday())
    return Period(f"{monday.isoformat()} 週", monday, monday + timedelta(days=7))


def _month_after(year: int, month: int) -> date:
    return date(year + month // 12, month % 12 + 1, 1)


def parse_period(text: str) -> Period:
    """``2026``, ``FY2026`` (2026-04-01..2027-03-31), ``2026-09``, ``2026-09-01..2027-03-31`` (both inclusive)."""
    text = text.strip()
    if m := re.fullmatch(r"(\d{4})", text):
        year = int(m[1])
        return Period(f"{year}年", date(year, 1, 1), date(year + 1, 1, 1))
    if m := re.fullmatch(r"FY(\d{4})", text, flags=re.IGNORECASE):
        year = int(m[1])
        return Period(f"{year}年度", date(year, 4, 1), date(year + 1, 4, 1))
    if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise PeriodError(f"no month {month}")
        return Period(f"{year}年{month}月", date(year, month, 1), _month_after(year, month))
    if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", text):
        start, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
        if last < start:
            raise PeriodError("the range ends before it starts")
        return Period(f"{start.isoformat()}〜{last.isoformat()}", start, last + timedelta(days=1))
    raise PeriodError(f"unknown period {text!r}: use 2026, FY2026, 2026-09 or 2026-09-01..2027-03-31")


def month_key(moment: datetime | date) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"
