"""The one place that builds evaluation's settings, store, weights in force and metrics and hands them down."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.evaluation.adapters.db import create_schema, make_engine, session_factory
from services.evaluation.adapters.messages import decode
from services.evaluation.adapters.report_files import ReportFileWriter
from services.evaluation.adapters.report_publisher import KafkaReportPublisher
from services.evaluation.adapters.unit_of_work import SqlUnitOfWork
from services.evaluation.adapters.weights_file import load_weights
from services.evaluation.config import EvaluationSettings
from services.evaluation.domain.periods import parse_period
from services.evaluation.domain.schedule import Milestone, MilestoneKind, Schedule
from services.evaluation.domain.weights import Weights
from services.evaluation.metrics import EvaluationMetrics
from services.evaluation.service_layer.ports import Clock, Decoder
from services.evaluation.service_layer.publishing import ReportPublisher


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Container:
    """Satisfies the service layer's ports (service_layer/ports.py: Store, Reporting; service_layer/scheduled.py:
    ScheduledReporting); passed in by the entrypoints."""

    settings: EvaluationSettings
    engine: Engine
    sessions: sessionmaker[Session]
    current_weights: Weights
    ward_population: dict[str, int]
    metrics: EvaluationMetrics
    clock: Clock
    publisher: ReportPublisher | None = None  # evaluation.reports.v1; None: files only (PUBLISH_REPORTS=false)
    decode: Decoder = decode  # raw bytes → envelope at the edge (adapters/messages.py)
    schedule: Schedule = field(default_factory=lambda: Schedule(0, time(7, 0)))  # SCHEDULE_*

    @property
    def files(self) -> ReportFileWriter:
        """Renders and writes the scheduled reports' files in REPORTS_DIR."""
        return ReportFileWriter(self.settings.reports_dir, self.settings.chromium_path,
                                self.settings.min_combination_cases, self.settings.survey_dir)

    def uow(self) -> SqlUnitOfWork:
        """A unit of work on the store (service_layer/unit_of_work.py), for one transaction."""
        return SqlUnitOfWork(self.sessions)


def bootstrap(settings: EvaluationSettings | None = None, *, metrics: EvaluationMetrics | None = None,
              clock: Clock = system_clock) -> Container:
    settings = settings or EvaluationSettings()
    engine = make_engine(settings.database_url)
    create_schema(engine)
    population: dict[str, int] = {}
    if settings.ward_population_file is not None:
        population = {str(k): int(v) for k, v in json.loads(settings.ward_population_file.read_text()).items()}
    publisher = (KafkaReportPublisher(settings.kafka_bootstrap, settings.kafka_client_options())
                 if settings.publish_reports else None)
    schedule = Schedule.of(settings.schedule_weekday, settings.schedule_time, settings.schedule_period_report,
                           milestones(settings))
    return Container(settings, engine, session_factory(engine), load_weights(settings.rule_file), population,
                     metrics or EvaluationMetrics(), clock, publisher, schedule=schedule)


def milestones(settings: EvaluationSettings) -> tuple[Milestone, ...]:
    """The interim/final reports the city set a day for; a period that does not parse stops the start (PeriodError)."""
    days: tuple[tuple[MilestoneKind, date | None, str | None], ...] = (
        ("interim", settings.interim_report_on, settings.interim_report_period),
        ("final", settings.final_report_on, settings.final_report_period))
    return tuple(Milestone(kind, on, parse_period(period) if period else None)
                 for kind, on, period in days if on is not None)
