"""データの鮮度 (issue 17): relative time in Japanese, silent sources, and the worker's intake of ingest's reports
into the source_status table (the real WorkerHandlers on in-memory SQLite)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from contracts.sources.cadence import SILENCE_ALLOWED_S
from services.casework.adapters.orm import Base, SourceStatusRow
from services.casework.adapters.report_store import SqlReportStore
from services.casework.adapters.source_status import SqlSourceStatusStore
from services.casework.adapters.unit_of_work import SqlUnitOfWork
from services.casework.domain.alert_policy import AlertPolicy
from services.casework.domain.freshness import (
    SourceHeard,
    freshness_rows,
    is_silent,
    merged,
    relative_ja,
)
from services.casework.entrypoints.web_common import SOURCE_LABELS
from services.casework.metrics import CaseworkMetrics
from services.casework.service_layer.worker import WorkerHandlers

pytestmark = pytest.mark.unit
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
DAY = 86_400


@pytest.mark.parametrize(("ago", "words"), [
    (timedelta(seconds=0), "たった今"), (timedelta(seconds=59), "たった今"), (timedelta(minutes=2), "2分前"),
    (timedelta(minutes=59, seconds=59), "59分前"), (timedelta(hours=1), "1時間前"), (timedelta(hours=23), "23時間前"),
    (timedelta(days=1), "1日前"), (timedelta(days=3, hours=5), "3日前"), (timedelta(days=400), "400日前"),
    (timedelta(minutes=-5), "たった今"),  # a clock ahead of ours is not "in the future" to staff
])
def test_relative_time_in_japanese(ago: timedelta, words: str) -> None:
    assert relative_ja(NOW - ago, NOW) == words


def test_a_source_is_silent_beyond_its_cadence_and_when_never_heard_from() -> None:
    assert not is_silent(NOW - timedelta(days=4), NOW, 4 * DAY)
    assert is_silent(NOW - timedelta(days=4, seconds=1), NOW, 4 * DAY)
    assert is_silent(None, NOW, 4 * DAY)
    assert not is_silent(NOW - timedelta(days=999), NOW, None)  # no cadence configured: no judgement


def heard(system: str, last: datetime, reported: datetime = NOW, events: int = 1,
          allowed: int | None = None) -> SourceHeard:
    return SourceHeard(system=system, last_event_at=last, events_24h=events, counted_since=None,
                       silence_allowed_s=allowed, reported_at=reported)


def test_the_newest_report_wins_but_the_last_event_time_never_goes_back() -> None:
    stored = heard("childcare", NOW - timedelta(hours=1), reported=NOW - timedelta(minutes=1), events=9)
    restarted = heard("childcare", NOW - timedelta(hours=3), reported=NOW, events=1)  # an ingest that restarted
    kept = merged(stored, restarted)
    assert kept.last_event_at == NOW - timedelta(hours=1) and kept.events_24h == 1
    late = heard("childcare", NOW, reported=NOW - timedelta(hours=2), events=4)  # an older report, delivered late
    kept = merged(stored, late)
    assert kept.events_24h == 9 and kept.last_event_at == NOW


def test_the_panel_lists_every_source_in_japanese_and_marks_the_silent_ones() -> None:
    rows = freshness_rows([
        heard("resident_registry", NOW - timedelta(minutes=2)),
        heard("school_affairs", NOW - timedelta(days=40)),
        heard("childcare", NOW - timedelta(days=3), allowed=DAY),  # the cadence the report carried wins
    ], NOW, SOURCE_LABELS, SILENCE_ALLOWED_S)
    by = {r.system: r for r in rows}
    assert [r.system for r in rows] == list(SOURCE_LABELS)  # all 16, in the catalogue's order
    assert (by["resident_registry"].label_ja, by["resident_registry"].ago_ja) == ("住民記録", "2分前")
    assert not by["resident_registry"].silent and by["resident_registry"].cadence_ja == "4日以内"
    assert by["school_affairs"].silent and by["school_affairs"].ago_ja == "40日前"
    assert by["childcare"].silent and by["childcare"].cadence_ja == "1日以内"
    assert by["disability"].silent and by["disability"].ago_ja == "受信記録なし"
    assert by["disability"].events_24h is None


@dataclass
class _Settings:
    def topic(self, name: str) -> str:
        return name


@dataclass
class _Container:
    sessions: sessionmaker[Session]
    clock: Any = lambda: NOW
    policy: AlertPolicy = field(default_factory=AlertPolicy)
    settings: _Settings = field(default_factory=_Settings)
    source_status: SqlSourceStatusStore = field(default_factory=SqlSourceStatusStore)
    metrics: CaseworkMetrics = field(default_factory=lambda: CaseworkMetrics(CollectorRegistry()))

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.sessions, self.source_status, SqlReportStore())


@pytest.fixture
def worker() -> Iterator[WorkerHandlers]:
    engine = create_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    yield WorkerHandlers(_Container(sessionmaker(bind=engine, expire_on_commit=False)))
    engine.dispose()


def report(system: str, last: datetime, at: datetime, events: int = 3) -> bytes:
    return json.dumps({
        "specversion": "1.0", "id": f"st-{system}-{at.timestamp()}", "source": "/tsunagu/ingest",
        "type": "ingest.source_status.reported", "time": at.isoformat(), "subject": system,
        "data": {"system": system, "last_event_time": last.isoformat(), "events_24h": events,
                 "counted_since": (at - timedelta(hours=24)).isoformat(), "silence_allowed_s": 4 * DAY},
    }).encode()


def rows(worker: WorkerHandlers) -> dict[str, SourceStatusRow]:
    with worker.c.sessions() as session:
        return {r.system: r for r in session.query(SourceStatusRow)}


def test_the_worker_stores_one_row_per_system_and_keeps_the_newest(worker: WorkerHandlers) -> None:
    first = worker.process_batch("source_status", [
        (report("resident_registry", NOW - timedelta(minutes=5), NOW - timedelta(seconds=30)), "t-0@0"),
        (report("school_affairs", NOW - timedelta(days=2), NOW - timedelta(seconds=30)), "t-0@1"),
    ])
    assert [p.outcome for p in first] == ["stored", "stored"]
    worker.process("source_status", report("resident_registry", NOW - timedelta(minutes=1), NOW, events=7),
                   where="t-0@2")
    stored = rows(worker)
    assert set(stored) == {"resident_registry", "school_affairs"}
    assert stored["resident_registry"].last_event_at == NOW - timedelta(minutes=1)
    assert stored["resident_registry"].events_24h == 7 and stored["resident_registry"].silence_allowed_s == 4 * DAY
    # a restarted ingest reports an older last event: the row keeps the newer one, takes the new count
    worker.process("source_status", report("resident_registry", NOW - timedelta(hours=2), NOW + timedelta(
        seconds=30), events=1), where="t-0@3")
    again = rows(worker)["resident_registry"]
    assert again.last_event_at == NOW - timedelta(minutes=1) and again.events_24h == 1


def test_an_invalid_report_is_skipped_not_stored(worker: WorkerHandlers) -> None:
    [bad] = worker.process_batch("source_status", [(b'{"data": {"system": "x"}}', "t-0@9")])
    assert bad.outcome == "skipped:invalid_schema"
    assert rows(worker) == {}
