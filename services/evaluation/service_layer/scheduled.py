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
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from contracts.topics.evaluation_reports import ReportFormat, ReportTooLarge
from services.evaluation.domain.periods import Period
from services.evaluation.domain.schedule import DueReport, Schedule, due_reports, latest_due, report_id
from services.evaluation.domain.weekly import WardWeek
from services.evaluation.service_layer.ports import Reporting, ReportSettings
from services.evaluation.service_layer.publishing import ReportPublisher, publish_report
from services.evaluation.service_layer.reports import EvaluationReport, evaluation_report, weekly_report

log = logging.getLogger("tsunagu.evaluation.scheduled")


class ReportFiles(Protocol):
    """Renders and writes report files (adapters/report_files.py's ReportFileWriter)."""

    def weekly_html(self, rows: list[WardWeek], week: Period, generated_at: datetime) -> str: ...

    def evaluation_html(self, report: EvaluationReport) -> str: ...

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
    """Produces the reports due at the latest due instant that nobody produced yet. ``owner``: this instance."""
    now = container.clock()
    stale_before = now - timedelta(seconds=container.settings.schedule_retry_after_s)
    outcomes = []
    for due in due_reports(latest_due(now, container.schedule), container.schedule):
        with container.uow() as uow:
            claim = uow.store.claim_scheduled(due.key, owner, now, stale_before)
            uow.commit()
        if claim != "claimed":
            outcomes.append(ScheduledOutcome(due.key, due.kind, claim))
            continue
        outcome = _produce(container, due)
        container.metrics.scheduled_reports.labels(kind=due.kind, outcome=outcome.outcome).inc()
        if outcome.outcome != "failed":
            with container.uow() as uow:
                uow.store.finish_scheduled(due.key, container.clock())
                uow.commit()
            container.metrics.scheduled_report_last_success.labels(kind=due.kind).set(container.clock().timestamp())
        outcomes.append(outcome)
    return outcomes


def _produce(container: ScheduledReporting, due: DueReport) -> ScheduledOutcome:
    generated_at = container.clock()
    try:
        if due.kind == "weekly":
            html = container.files.weekly_html(weekly_report(container, due.period), due.period, generated_at)
        else:
            html = container.files.evaluation_html(evaluation_report(container, due.period))
        documents = container.files.write(html, due.file_stem, container.settings.schedule_pdf)
    except Exception as exc:  # the store or the disk failed: claimed, not done, retried after the retry delay
        log.error("scheduled %s report %s not produced: %s", due.kind, due.period_label, type(exc).__name__)
        return ScheduledOutcome(due.key, due.kind, "failed", type(exc).__name__)
    if container.publisher is None:  # PUBLISH_REPORTS=false: files only
        return ScheduledOutcome(due.key, due.kind, "written")
    too_large = []
    for data, fmt in documents:
        try:
            publish_report(container.publisher, data, kind=due.kind, period_label=due.period_label, fmt=fmt,
                           generated_at=generated_at, report_id=report_id(due, fmt))
        except ReportTooLarge:
            too_large.append(fmt)
        except Exception as exc:  # broker away: retried after the retry delay, with the same report ids
            log.error("scheduled %s report %s (%s) not published: %s", due.kind, due.period_label, fmt,
                      type(exc).__name__)
            return ScheduledOutcome(due.key, due.kind, "failed", type(exc).__name__)
    if too_large:
        log.error("scheduled %s report %s: %s too large for a message; written only", due.kind, due.period_label,
                  ",".join(too_large))
        return ScheduledOutcome(due.key, due.kind, "too_large", ",".join(too_large))
    return ScheduledOutcome(due.key, due.kind, "published")
