"""Clocks: what 'today' is. Domain code never reads the time; it is given a date."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def today(self) -> date: ...


class SystemClock:
    def __init__(self, timezone: str = "Asia/Tokyo") -> None:
        self._zone = ZoneInfo(timezone)

    def today(self) -> date:
        return datetime.now(self._zone).date()


class FixedClock:
    """A clock tests and demos set by hand."""

    def __init__(self, day: date) -> None:
        self.day = day

    def today(self) -> date:
        return self.day

    def advance(self, days: int) -> None:
        from datetime import timedelta

        self.day = self.day + timedelta(days=days)
