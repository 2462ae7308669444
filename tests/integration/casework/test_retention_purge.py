"""Retention in casework over real databases and the real worker (issue 15, docs/privacy.md "Retention in
casework"): migration 0011, the purge through the CLI on PostgreSQL and SQLite, and the worker's scheduled purge
on PostgreSQL with the broker, its metrics and its log."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, func, select, text, update

from services.casework.adapters.db import alembic_config, migrate
from services.casework.adapters.orm import Alert, AuditRecord, CaseStep, Child, OutboxMessage
from services.casework.bootstrap import Container
from services.casework.domain.access import Principal, Role
from services.casework.domain.workflow import Action, StepCommand
from services.casework.entrypoints import cli
from services.casework.service_layer import audit_log, cases, retention
from services.casework.service_layer.worker import WorkerHandlers
from tests.integration.casework.containers import FakeClock
from tests.integration.casework.processes import casework_env, running, start_group_at_end
from tests.kafka_reader import wait_until
from tests.unit.casework.factories import flags_event, profile_event, raw

pytestmark = pytest.mark.integration
EAST = Principal(user_id="u-east", username="higashi", role=Role.WARD_STAFF, ward_code="40131")
READY = "Worker ready"


def seed(c: Container, clock: FakeClock) -> dict[str, str]:
    """Three children alerted through the real intake: one case closed 120 days ago, one closed 10 days ago, one
    left open since 120 days ago; every outbox row published 120 days ago. Returns child → alert id."""
    now = datetime.now(UTC)
    clock.now = now - timedelta(days=120)
    handlers = WorkerHandlers(c)
    alerts = {}
    for child in ("rt-old", "rt-recent", "rt-open"):
        handlers.process("profile", raw(profile_event(child, "40131", name=f"保存 {child}")), where="t")
        result = handlers.process("flags", raw(flags_event(child, "40131", None, [17], tier_after="予防")), where="t")
        [alerts[child]] = result.alert_ids
    for child, closed_at in (("rt-old", now - timedelta(days=120)), ("rt-recent", now - timedelta(days=10))):
        uow = c.uow()
        with uow:
            alert = uow.cases.alert(alerts[child])
            assert alert is not None
            cases.record_step(uow, EAST, alert, StepCommand(Action.SCREEN, "非該当", f"聞き取りの記録 {child}"),
                              closed_at)
            uow.commit()
    with c.sessions.begin() as session:
        session.execute(update(OutboxMessage).values(published_at=now - timedelta(days=120)))
    clock.now = now
    return alerts


def rows(c: Container, table: type, *where: object) -> int:
    with c.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(table).where(*where)) or 0)  # type: ignore[arg-type]


def test_the_cli_purges_past_retention_on_postgres_and_sqlite(container: Container, clock: FakeClock,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    alerts = seed(container, clock)
    monkeypatch.setenv("TSUNAGU_CASEWORK_DATABASE_URL", str(container.settings.database_url))
    monkeypatch.setenv("TSUNAGU_CASEWORK_ENVIRONMENT", "test")
    monkeypatch.setenv("TSUNAGU_CASEWORK_SESSION_SECRET", "t" * 32)
    monkeypatch.setenv("TSUNAGU_CASEWORK_CLOSED_CASE_RETENTION_DAYS", "90")
    outbox = rows(container, OutboxMessage)

    assert cli.main(["retention-purge", "--dry-run"]) == 0
    assert "would remove: alerts=1, case_steps=2, review_cases=0, outbox=" in capsys.readouterr().out
    assert rows(container, Alert) == 3 and rows(container, OutboxMessage) == outbox  # a dry run changes nothing

    assert cli.main(["retention-purge"]) == 0
    assert "removed: alerts=1, case_steps=2" in capsys.readouterr().out
    assert rows(container, Alert, Alert.alert_id == alerts["rt-old"]) == 0
    assert rows(container, CaseStep, CaseStep.alert_id == alerts["rt-old"]) == 0
    assert rows(container, Alert, Alert.alert_id.in_([alerts["rt-recent"], alerts["rt-open"]])) == 2
    assert rows(container, OutboxMessage) == 0  # every row was published 120 days ago (> 30)
    with container.sessions() as session:
        child = session.get(Child, "rt-old")
        assert child is not None and child.alerts_purged == 1
        [entry] = session.scalars(select(AuditRecord).where(AuditRecord.action == retention.ACTION))
        assert entry.child_id is None and entry.user_id == "cli" and "alerts=1" in entry.detail
        assert "rt-old" not in entry.detail and alerts["rt-old"] not in entry.detail
        assert audit_log.verify(session).ok

    assert cli.main(["retention-purge"]) == 0  # again: nothing left, no second entry
    assert "removed: alerts=0, case_steps=0, review_cases=0, outbox=0" in capsys.readouterr().out
    assert rows(container, AuditRecord, AuditRecord.action == retention.ACTION) == 1


def test_the_worker_purges_on_its_schedule(kafka_bootstrap: str, pg_container: Container, clock: FakeClock,
                                           tmp_path: Path) -> None:
    alerts = seed(pg_container, clock)
    env = casework_env(kafka_bootstrap, str(pg_container.settings.database_url), tmp_path,
                       TSUNAGU_CASEWORK_CLOSED_CASE_RETENTION_DAYS="90",
                       TSUNAGU_CASEWORK_RETENTION_PURGE_INTERVAL_S="2")
    start_group_at_end(kafka_bootstrap, env["TSUNAGU_CASEWORK_APP_ID"],
                       ["scoring.flags.v1", "linkage.children.v1", "linkage.review.v1"])
    log = tmp_path / "casework.log"
    with running("services.casework.entrypoints.worker", env, log, READY, 90):
        wait_until(lambda: rows(pg_container, Alert, Alert.alert_id == alerts["rt-old"]) == 0 or None, 60,
                   "the worker's scheduled purge")
        port = env["TSUNAGU_CASEWORK_METRICS_PORT"]

        def purge_counted() -> str | None:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                text = response.read().decode()
            return text if 'tsunagu_casework_retention_purge_runs_total{outcome="ok"}' in text else None

        metrics = wait_until(purge_counted, 30, "the purge metrics")
    assert 'tsunagu_casework_retention_purged_total{store="alerts"} 1.0' in metrics
    assert 'tsunagu_casework_retention_purged_total{store="case_steps"} 2.0' in metrics
    # the seeded children only: the worker reads the shared flags topics from their end, and other tests' flags
    # published meanwhile become alerts in this database too (a CI run counted 622 alerts here)
    assert rows(pg_container, Alert, Alert.child_id.in_(alerts)) == 2
    assert rows(pg_container, Alert, Alert.child_id == "rt-open") == 1
    text = log.read_text(errors="replace")
    assert "retention purge: alerts=1 case_steps=2" in text
    for child, alert_id in alerts.items():  # counts only: no child or alert id, no name in the worker's log
        assert child not in text and alert_id not in text
    assert "保存" not in text
    with pg_container.sessions() as session:
        [entry] = session.scalars(select(AuditRecord).where(AuditRecord.action == retention.ACTION))
        assert entry.user_id == "system" and entry.child_id is None
        assert audit_log.verify(session).ok


def test_migration_0011_counts_nothing_purged_for_children_from_before(db_url: str, clock: FakeClock) -> None:
    command.upgrade(alembic_config(db_url), "0010_totp_secret_sealed")  # a database from before this change
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO children (child_id, status, score, current_items, flags, "
                          "supported_by_child_guidance) VALUES ('mig-1', 'resident', 0, '[]', '[]', false)"))
    migrate(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT alerts_purged FROM children WHERE child_id = 'mig-1'")).scalar_one() == 0
    command.downgrade(alembic_config(db_url), "0010_totp_secret_sealed")  # and back
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM children")).scalar_one() == 1
    engine.dispose()
