"""The one place that builds settings, the database engine and the alert policy, and hands them on."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from services.casework.adapters.audit_anchor import AuditAnchor
from services.casework.adapters.audit_anchor import attach as attach_anchor
from services.casework.adapters.db import make_engine, migrate, session_factory
from services.casework.adapters.report_store import SqlReportStore
from services.casework.adapters.secret_box import AesGcmSecretBox
from services.casework.adapters.source_status import SqlSourceStatusStore
from services.casework.adapters.unit_of_work import SqlUnitOfWork
from services.casework.config import CaseworkSettings
from services.casework.domain.alert_policy import AlertPolicy
from services.casework.metrics import CaseworkMetrics, process_metrics
from services.casework.service_layer.audit_log import count_audit_entries
from services.casework.service_layer.ports import Clock, ReportStore, SecretBox, SourceStatusStore

log = logging.getLogger("tsunagu.casework")


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Container:
    """Satisfies the service layer's ports (service_layer/ports.py: Stores, Casework); passed in by the entrypoints."""

    settings: CaseworkSettings
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]  # for hot read-only paths; never write through these
    policy: AlertPolicy
    clock: Clock
    totp_box: SecretBox  # seals users' TOTP secrets in the database (adapters/secret_box.py)
    metrics: CaseworkMetrics = field(default_factory=process_metrics)
    audit_anchor: AuditAnchor | None = None  # the audit chain's head, published outside the database
    source_status: SourceStatusStore = field(default_factory=SqlSourceStatusStore)  # データの鮮度
    reports: ReportStore = field(default_factory=SqlReportStore)  # 報告書 (evaluation.reports.v1)

    def uow(self) -> SqlUnitOfWork:
        """A unit of work on the case database (service_layer/unit_of_work.py), for one transaction."""
        return SqlUnitOfWork(self.sessions, self.source_status, self.reports)


def bootstrap(settings: CaseworkSettings | None = None, *, run_migrations: bool = True,
              clock: Clock = system_clock, metrics: CaseworkMetrics | None = None) -> Container:
    """``metrics``: the process's (``metrics.process_metrics()``, the default registry) unless given."""
    settings = settings or CaseworkSettings()
    if run_migrations:
        migrate(settings.database_url)
    engine = make_engine(settings.database_url)
    policy = AlertPolicy(alert_items=frozenset(settings.alert_items),
                         cooldown=timedelta(days=settings.alert_cooldown_days))
    read_engine = make_engine(settings.database_url, read_only=True)
    metrics = metrics or process_metrics()
    sessions = session_factory(engine)
    count_audit_entries(sessions, metrics)
    anchor = AuditAnchor(settings.audit_anchor_path) if settings.audit_anchor_path else None
    if anchor is not None:
        attach_anchor(sessions, anchor)
    return Container(settings=settings, engine=engine, sessions=sessions,
                     read_sessions=session_factory(read_engine), policy=policy, clock=clock, metrics=metrics,
                     audit_anchor=anchor, totp_box=totp_box(settings))


def totp_box(settings: CaseworkSettings) -> SecretBox:
    """The keyring TOTP secrets are sealed with. Without a configured key (development and test only: production
    refuses to start) that is the public development key, and the log says so every time."""
    box = AesGcmSecretBox(settings.totp_keys(), accept_plaintext=settings.totp_accept_plaintext)
    if settings.totp_key_is_development:
        log.warning("TSUNAGU_CASEWORK_TOTP_KEY_FILE is not set: TOTP secrets are encrypted with the PUBLIC "
                    "development key (config.DEVELOPMENT_TOTP_KEY, key id %s), which protects nothing; production "
                    "refuses it", box.current_key_id)
    else:
        log.info("TOTP secrets are sealed under key %s", box.current_key_id)
    return box
