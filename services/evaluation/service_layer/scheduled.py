"""Reports on a schedule: the worker produces the weekly (and period) report by itself, once per period.

Every ``SCHEDULE_CHECK_S`` the worker calls ``run_due``. The latest due instant (domain/schedule.py) names the
reports; for each, the instance *claims* it in the store (``eval_scheduled_reports``, primary key = the period's
key), builds it from the store, writes the files and publishes each to evaluation.reports.v1 like the CLI, then
marks it done. Once at most per period, across restarts and instances:

- a report marked done is never produced again (a restart, a second instance on the same store);
- two instances claiming at the same moment: the primary key lets one win, the other sees "busy";
- a claim left undone (the instance crashed, the broker was away) is taken over after ``SCHEDULE_RETRY_AFTER_S``;
- each scheduled file carries a deterministic report id (domain/schedule.py's ``report_id``), and casework stores a
  report id once, so even a retry after a partial publication, or instances on separate stores, show one report
  per file on HQ's page.

A document too large for a message stays a written file and the report is marked done (a retry cannot shrink it).

The weekly report is several documents: the city's (every ward and the city) and one per ward (that ward only,
``scope`` = its code, so casework lets that ward's staff download it). The interim and final reports (中間報告 /
最終報告) are due on the days the city configured (domain/schedule.py ``Milestone``) and stay due until produced.

``…_last_success_timestamp_seconds{kind}`` is set when this instance produces a report, and also when it finds the
latest due report already done (by another instance, or before a restart), from the store's ``done_at``: so the
alert on it (deploy/prometheus/rules.yml) sees the last success whichever instance produced it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from contracts.topics.evaluation_reports import ReportFormat, ReportKind, ReportTooLarge
from contracts.vocabulary import WARD_CODES
from services.evaluation.domain.periods import Period
from services.evaluation.domain.schedule import (
    DueReport,
    Schedule,
    due_reports,
    latest_due,
    milestone_reports,
    report_id,
)
from services.evaluation.domain.weekly import WardWeek, scoped
from services.evaluation.service_layer.ports import Reporting, ReportSettings
from services.evaluation.service_layer.publishing import ReportPublisher, publish_report
from services.evaluation.service_layer.reports import EvaluationReport, evaluation_report, weekly_report

log = logging.getLogger("tsunagu.evaluation.scheduled")


class ReportFiles(Protocol):
    """Renders and writes report files (adapters/report_files.py's ReportFileWriter)."""

    def weekly_html(self, rows: list[WardWeek], week: Period, generated_at: datetime, scope: str = "city") -> str: ...

    def evaluation_html(self, report: EvaluationReport, variant: str = "period") -> str:
        """``variant``: period (評価・検証報告), interim (中間報告) or final (最終報告)."""
        ...

    def write(self, html: str, stem: str, pdf: bool) -> list[tuple[bytes, ReportFormat]]:
        """Writes ``<stem>.html`` (and ``<stem>.pdf`` when asked and possible); returns each file's bytes."""
        ...


class ScheduleSettings(ReportSettings, Protocol):
    @property
    def schedule_pdf(self) -> bool: ...

    @property
    def schedule_retry_after_s(self) -> float: ...


class ScheduledReporting(Reporting, Protocol):
    @property
    def settings(self) -> ScheduleSettings: ...

    @property
    def schedule(self) -> Schedule: ...

    @property
    def files(self) -> ReportFiles: ...

    @property
    def publisher(self) -> ReportPublisher | None: ...


@dataclass(frozen=True)
class ScheduledOutcome:
    key: str
    kind: str
    outcome: str  # published / written / failed / too_large (produced now) · done / busy (not this instance's job)
    detail: str = ""


def run_due(container: ScheduledReporting, owner: str) -> list[ScheduledOutcome]:
    """Produces the reports due at the latest due instant, and the interim/final reports whose day has come, that
    nobody produced yet. ``owner``: this instance."""
    now = container.clock()
    stale_before = now - timedelta(seconds=container.settings.schedule_retry_after_s)
    outcomes = []
    schedule = container.schedule
    for due in [*due_reports(latest_due(now, schedule), schedule), *milestone_reports(now, schedule)]:
        with container.uow() as uow:
            claim = uow.store.claim_scheduled(due.key, owner, now, stale_before)
            done_at = uow.store.scheduled_done_at(due.key) if claim == "done" else None
            uow.commit()
        if claim != "claimed":
            if done_at is not None:
                _seen_success(container, due.kind, done_at)
            outcomes.append(ScheduledOutcome(due.key, due.kind, claim))
            continue
        outcome = _produce(container, due)
        container.metrics.scheduled_reports.labels(kind=due.kind, outcome=outcome.outcome).inc()
        if outcome.outcome != "failed":
            with container.uow() as uow:
                uow.store.finish_scheduled(due.key, container.clock())
                uow.commit()
            _seen_success(container, due.kind, container.clock())
        outcomes.append(outcome)
    return outcomes


def _seen_success(container: ScheduledReporting, kind: str, at: datetime) -> None:
    container.metrics.scheduled_report_last_success.labels(kind=kind).set(at.timestamp())


def _documents(container: ScheduledReporting, due: DueReport, generated_at: datetime) -> list[tuple[str, str, str]]:
    """(scope, stem, html) of each document the due report consists of."""
    if due.kind == "weekly":
        rows = weekly_report(container, due.period)
        return [(scope, due.file_stem if scope == "city" else f"{due.file_stem}-{scope}",
                 container.files.weekly_html(mine, due.period, generated_at, scope))
                for scope, mine in scoped(rows, WARD_CODES)]
    report = evaluation_report(container, due.period)
    return [("city", due.file_stem, container.files.evaluation_html(report, due.kind))]


def _produce(container: ScheduledReporting, due: DueReport) -> ScheduledOutcome:
    generated_at = container.clock()
    try:
        documents = [(scope, data, fmt) for scope, stem, html in _documents(container, due, generated_at)
                     for data, fmt in container.files.write(html, stem, container.settings.schedule_pdf)]
    except Exception as exc:  # the store or the disk failed: claimed, not done, retried after the retry delay
        log.error("scheduled %s report %s not produced: %s", due.kind, due.period_label, type(exc).__name__)
        return ScheduledOutcome(due.key, due.kind, "failed", type(exc).__name__)
    if container.publisher is None:  # PUBLISH_REPORTS=false: files only
        return ScheduledOutcome(due.key, due.kind, "written")
    too_large = []
    # the contract's kinds are weekly and period: interim/final are period reports told apart by their period label
    kind: ReportKind = "weekly" if due.kind == "weekly" else "period"
    for scope, data, fmt in documents:
        try:
            publish_report(container.publisher, data, kind=kind, period_label=due.period_label, fmt=fmt,
                           generated_at=generated_at, report_id=report_id(due, fmt, scope), scope=scope)
        except ReportTooLarge:
            too_large.append(f"{scope}-{fmt}")
        except Exception as exc:  # broker away: retried after the retry delay, with the same report ids
            log.error("scheduled %s report %s (%s) not published: %s", due.kind, due.period_label, fmt,
                      type(exc).__name__)
            return ScheduledOutcome(due.key, due.kind, "failed", type(exc).__name__)
    if too_large:
        log.error("scheduled %s report %s: %s too large for a message; written only", due.kind, due.period_label,
                  ",".join(too_large))
        return ScheduledOutcome(due.key, due.kind, "too_large", ",".join(too_large))
    return ScheduledOutcome(due.key, due.kind, "published")
