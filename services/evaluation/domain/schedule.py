"""When the evaluation service produces its reports by itself, and which periods they cover. Pure: no clock, no I/O.

Every week at a weekday and time of day in Japan Standard Time (JST, UTC+9, no daylight saving) the report job is
*due*. The due instant decides the reports, so any instance, any restart, computes the same ones:

- the 週次報告書 of the last complete Monday–Sunday week before the due day's week (key ``weekly:<Monday>``);
- with ``period_report = "fiscal_year_to_date"``, the 評価・検証報告 of the fiscal year (年度, April–March) up to
  that week's Sunday (key ``period:<first day>..<last day>``, which is also a period the CLI accepts).

Only the latest due instant is considered: after a long stop the service catches up that one, not every missed week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

from services.evaluation.domain.periods import Period, week_of

JST = timezone(timedelta(hours=9), "JST")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PeriodReport = Literal["none", "fiscal_year_to_date"]
ScheduledKind = Literal["weekly", "period"]


@dataclass(frozen=True)
class Schedule:
    weekday: int  # 0 = Monday
    at: time  # JST wall-clock time
    period_report: PeriodReport = "fiscal_year_to_date"

    @classmethod
    def of(cls, weekday: str, at: time, period_report: PeriodReport = "fiscal_year_to_date") -> Schedule:
        return cls(WEEKDAYS.index(weekday.lower()[:3]), at.replace(tzinfo=None), period_report)


@dataclass(frozen=True)
class DueReport:
    key: str  # once per key, across restarts and instances (the store's eval_scheduled_reports)
    kind: ScheduledKind
    period: Period
    period_label: str  # evaluation.reports.v1's period_label: the week's Monday, or "<first>..<last>"
    file_stem: str  # the file name without extension, as the CLI names it
    due: datetime


def latest_due(now: datetime, schedule: Schedule) -> datetime:
    """The most recent due instant at or before ``now`` (aware), in JST."""
    local = now.astimezone(JST)
    back = (local.weekday() - schedule.weekday) % 7
    candidate = datetime.combine(local.date() - timedelta(days=back), schedule.at, tzinfo=JST)
    return candidate - timedelta(days=7) if candidate > local else candidate


def next_due(now: datetime, schedule: Schedule) -> datetime:
    return latest_due(now, schedule) + timedelta(days=7)


def fiscal_year_start(day: date) -> date:
    return date(day.year if day.month >= 4 else day.year - 1, 4, 1)


def due_reports(due: datetime, schedule: Schedule) -> list[DueReport]:
    day = due.astimezone(JST).date()
    week = week_of(day - timedelta(days=day.weekday() + 1))  # the week before the due day's week
    monday = week.start.isoformat()
    reports = [DueReport(f"weekly:{monday}", "weekly", week, monday, f"weekly-{monday}", due)]
    if schedule.period_report == "fiscal_year_to_date":
        start = fiscal_year_start(week.last)
        label = f"{start.isoformat()}..{week.last.isoformat()}"
        period = Period(f"{start.year}年度（{week.last.month}月{week.last.day}日まで）", start, week.end)
        reports.append(DueReport(f"period:{label}", "period", period, label, f"evaluation-{label}", due))
    return reports


def report_id(due: DueReport, fmt: str, scope: str = "city") -> str:
    """The same id for the same scheduled file whoever produces it: casework stores a report id once, so a second
    instance's (or a retried) publication of that file is not a second report on the HQ page."""
    return f"scheduled-{due.key.replace(':', '-')}-{scope}-{fmt}"
