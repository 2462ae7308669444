"""When the evaluation service produces its reports by itself, and which periods they cover. Pure: no clock, no I/O.

Every week at a weekday and time of day in Japan Standard Time (JST, UTC+9, no daylight saving) the report job is
*due*. The due instant decides the reports, so any instance, any restart, computes the same ones:

- the 週次報告書 of the last complete Monday–Sunday week before the due day's week (key ``weekly:<Monday>``);
- with ``period_report = "fiscal_year_to_date"``, the 評価・検証報告 of the fiscal year (年度, April–March) up to
  that week's Sunday (key ``period:<first day>..<last day>``, which is also a period the CLI accepts).

Only the latest due instant is considered: after a long stop the service catches up that one, not every missed week.

The interim and final evaluation reports (中間報告 / 最終報告) are due once each, on the day the city configures
(``Milestone``), at the same time of day: key ``interim:<first>..<last>`` / ``final:<first>..<last>``. Unlike the
weekly one, a milestone stays due until it is produced (its key is done), whenever the service runs after that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

from services.evaluation.domain.periods import Period, week_of

JST = timezone(timedelta(hours=9), "JST")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
PeriodReport = Literal["none", "fiscal_year_to_date"]
ScheduledKind = Literal["weekly", "period", "interim", "final"]
MilestoneKind = Literal["interim", "final"]
MILESTONE_TITLES: dict[str, str] = {"interim": "中間報告", "final": "最終報告"}


@dataclass(frozen=True)
class Milestone:
    """An interim or final report the city set a date for; ``period``: what it covers (default: the fiscal year up
    to the end of the month before ``on``, e.g. on 2026-10-15 → 2026-04-01..2026-09-30, on 2027-04-20 → FY2026)."""

    kind: MilestoneKind
    on: date
    period: Period | None = None

    def covers(self) -> Period:
        if self.period is not None:
            return self.period
        last = self.on.replace(day=1) - timedelta(days=1)
        start = fiscal_year_start(last)
        return Period(f"{start.year}年度（{last.month}月{last.day}日まで）", start, last + timedelta(days=1))


@dataclass(frozen=True)
class Schedule:
    weekday: int  # 0 = Monday
    at: time  # JST wall-clock time
    period_report: PeriodReport = "fiscal_year_to_date"
    milestones: tuple[Milestone, ...] = ()

    @classmethod
    def of(cls, weekday: str, at: time, period_report: PeriodReport = "fiscal_year_to_date",
           milestones: tuple[Milestone, ...] = ()) -> Schedule:
        return cls(WEEKDAYS.index(weekday.lower()[:3]), at.replace(tzinfo=None), period_report, milestones)


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


def milestone_reports(now: datetime, schedule: Schedule) -> list[DueReport]:
    """The interim/final reports whose day and time (JST) have come: each stays due until its key is done."""
    reports = []
    for milestone in schedule.milestones:
        due = datetime.combine(milestone.on, schedule.at, tzinfo=JST)
        if due > now.astimezone(JST):
            continue
        period = milestone.covers()
        span = f"{period.start.isoformat()}..{period.last.isoformat()}"
        reports.append(DueReport(f"{milestone.kind}:{span}", milestone.kind, period, f"{milestone.kind}-{span}",
                                 f"evaluation-{milestone.kind}-{span}", due))
    return reports


def report_id(due: DueReport, fmt: str, scope: str = "city") -> str:
    """The same id for the same scheduled file whoever produces it: casework stores a report id once, so a second
    instance's (or a retried) publication of that file is not a second report on the HQ page."""
    return f"scheduled-{due.key.replace(':', '-')}-{scope}-{fmt}"
