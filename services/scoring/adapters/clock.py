"""Clocks (the service layer's ``Clock``): what 'today' is, by the system's clock in the municipality's time zone,
or a fixed day that tests and demos set by hand. Domain code never reads the time; it is given a date."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


class SystemClock:
    def __init__(self, timezone: str = "Asia/Tokyo") -> None:
        self._zone = ZoneInfo(timezone)

    def today(self) -> date:
        return datetime.now(self._zone).date()


class FixedClock:
    def __init__(self, day: date) -> None:
        self.day = day

    def today(self) -> date:
        return self.day
