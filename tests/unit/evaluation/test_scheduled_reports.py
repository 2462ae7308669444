"""Reports on a schedule: which reports are due when (JST), and that each goes out once per period — across
restarts, two instances, a failed publication and its retry — with a fake clock, fake files and a fake publisher."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from contracts.topics.evaluation_reports import EvaluationReportV1, ReportTooLarge
from services.evaluation.adapters.messages import decode
from services.evaluation.adapters.weights_file import load_weights
from services.evaluation.bootstrap import Container, bootstrap
from services.evaluation.config import DEFAULT_RULE_FILE, EvaluationSettings
from services.evaluation.domain.schedule import JST, Schedule, due_reports, latest_due, next_due, report_id
from services.evaluation.metrics import EvaluationMetrics
from services.evaluation.service_layer.scheduled import run_due
from services.evaluation.service_layer.worker import process_batch
from tests.unit.evaluation import factories as f
from tests.unit.evaluation.fakes import FakeUnitOfWork

pytestmark = pytest.mark.unit
MONDAY_7 = Schedule.of("mon", time(7, 0))


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)


# ---- when, and which periods ------------------------------------------------------------------------------------

def test_the_latest_due_instant_is_the_weekday_and_time_in_jst() -> None:
    assert latest_due(jst(2026, 11, 9, 6, 59), MONDAY_7) == jst(2026, 11, 2, 7, 0)
    assert latest_due(jst(2026, 11, 9, 7, 0), MONDAY_7) == jst(2026, 11, 9, 7, 0)
    assert latest_due(jst(2026, 11, 15, 23, 0), MONDAY_7) == jst(2026, 11, 9, 7, 0)
    # Monday 07:00 JST is Sunday 22:00 UTC: a UTC clock must not be read as local time.
    assert latest_due(datetime(2026, 11, 8, 22, 0, tzinfo=UTC), MONDAY_7) == jst(2026, 11, 9, 7, 0)
    assert latest_due(datetime(2026, 11, 8, 21, 59, tzinfo=UTC), MONDAY_7) == jst(2026, 11, 2, 7, 0)
    friday = Schedule.of("Fri", time(17, 30))
    assert latest_due(jst(2026, 11, 9, 12, 0), friday) == jst(2026, 11, 6, 17, 30)
    assert next_due(jst(2026, 11, 9, 12, 0), friday) == jst(2026, 11, 13, 17, 30)


def test_the_due_reports_are_last_weeks_and_the_fiscal_year_to_its_sunday() -> None:
    weekly, period = due_reports(jst(2026, 11, 9, 7, 0), MONDAY_7)
    assert (weekly.key, weekly.kind, weekly.period.start, weekly.period.end) == (
        "weekly:2026-11-02", "weekly", date(2026, 11, 2), date(2026, 11, 9))
    assert (weekly.period_label, weekly.file_stem) == ("2026-11-02", "weekly-2026-11-02")
    assert (period.key, period.period.start, period.period.last) == (
        "period:2026-04-01..2026-11-08", date(2026, 4, 1), date(2026, 11, 8))
    assert period.period.label == "2026年度（11月8日まで）"
    # A Friday due day reports the last *complete* week, not the one still running.
    [friday_week, _] = due_reports(jst(2026, 11, 13, 17, 30), Schedule.of("fri", time(17, 30)))
    assert friday_week.period.start == date(2026, 11, 2)
    # January belongs to the fiscal year that began the April before; the first week of April to the new one.
    assert due_reports(jst(2027, 1, 4, 7), MONDAY_7)[1].period_label == "2026-04-01..2027-01-03"
    assert due_reports(jst(2027, 4, 5, 7), MONDAY_7)[1].period_label == "2027-04-01..2027-04-04"
    assert [d.kind for d in due_reports(jst(2026, 11, 9, 7), Schedule.of("mon", time(7), "none"))] == ["weekly"]


def test_scheduled_report_ids_are_deterministic_and_fit_the_contract() -> None:
    for due in due_reports(jst(2026, 11, 9, 7, 0), MONDAY_7):
        for fmt in ("html", "pdf"):
            rid = report_id(due, fmt)
            assert rid == report_id(due, fmt) and len(rid) <= 64
            EvaluationReportV1.of(b"<html></html>", report_id=rid, kind=due.kind, period_label=due.period_label,
                                  fmt=fmt, generated_at=due.due)
    assert report_id(due_reports(jst(2026, 11, 9, 7), MONDAY_7)[0], "html") == "scheduled-weekly-2026-11-02-city-html"


# ---- once per period ---------------------------------------------------------------------------------------------

@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class FakeFiles:
    written: list[tuple[str, bool]] = field(default_factory=list)
    weekly_alerts: list[int] = field(default_factory=list)
    fail: bool = False

    def weekly_html(self, rows: list[Any], week: Any, generated_at: datetime) -> str:
        self.weekly_alerts.append(next(r.this_week.new_alerts for r in rows if r.ward == "全市"))
        return f"<html>weekly {week.start}</html>"

    def evaluation_html(self, report: Any) -> str:
        return f"<html>evaluation {report.period.label} cases={report.cases}</html>"

    def write(self, html: str, stem: str, pdf: bool) -> list[tuple[bytes, str]]:
        if self.fail:
            raise OSError("disk full")
        self.written.append((stem, pdf))
        return [(html.encode(), "html"), (b"%PDF-1.4 " + html.encode(), "pdf")] if pdf else [(html.encode(), "html")]


@dataclass
class FakePublisher:
    sent: list[EvaluationReportV1] = field(default_factory=list)
    fail: Exception | None = None

    def publish(self, report: EvaluationReportV1) -> None:
        if self.fail is not None:
            raise self.fail
        self.sent.append(report)

    def close(self) -> None:
        pass


@dataclass
class SchedContainer:
    unit: FakeUnitOfWork
    clock: Clock
    publisher: FakePublisher | None = field(default_factory=FakePublisher)
    files: FakeFiles = field(default_factory=FakeFiles)
    schedule: Schedule = MONDAY_7
    settings: Any = field(default_factory=lambda: SimpleNamespace(
        min_cases=10, min_combination_cases=20, schedule_pdf=True, schedule_retry_after_s=900.0))
    metrics: EvaluationMetrics = field(default_factory=lambda: EvaluationMetrics(CollectorRegistry()))
    current_weights: Any = field(default_factory=lambda: load_weights(DEFAULT_RULE_FILE))
    ward_population: dict[str, int] = field(default_factory=dict)
    decode: Any = decode

    def uow(self) -> FakeUnitOfWork:
        return self.unit

    def counted(self, kind: str, outcome: str) -> float:
        return self.metrics.scheduled_reports.labels(kind=kind, outcome=outcome)._value.get()


@pytest.fixture
def sched() -> SchedContainer:
    unit = FakeUnitOfWork()
    c = SchedContainer(unit, Clock(jst(2026, 11, 9, 7, 0, 30)))
    # Two listings in the week of 2 November, one the week before: the weekly report counts two new alerts.
    process_batch(c, "alerts", [(f.raw(f.alert(f"case-{i}", f"child-{i}", raised_at=at)), f"t-0@{i}")
                                for i, at in enumerate(["2026-11-03T01:00:00+00:00", "2026-11-06T01:00:00+00:00",
                                                        "2026-10-28T01:00:00+00:00"])])
    return c


def test_a_due_report_is_produced_and_published_once(sched: SchedContainer) -> None:
    first = run_due(sched, "host-a:1")
    assert [(o.kind, o.outcome) for o in first] == [("weekly", "published"), ("period", "published")]
    assert sched.files.written == [("weekly-2026-11-02", True), ("evaluation-2026-04-01..2026-11-08", True)]
    assert sched.files.weekly_alerts == [2]
    assert [(r.report_id, r.kind, r.period_label, r.format) for r in sched.publisher.sent] == [
        ("scheduled-weekly-2026-11-02-city-html", "weekly", "2026-11-02", "html"),
        ("scheduled-weekly-2026-11-02-city-pdf", "weekly", "2026-11-02", "pdf"),
        ("scheduled-period-2026-04-01..2026-11-08-city-html", "period", "2026-04-01..2026-11-08", "html"),
        ("scheduled-period-2026-04-01..2026-11-08-city-pdf", "period", "2026-04-01..2026-11-08", "pdf")]
    assert b"cases=3" in sched.publisher.sent[2].document()  # the fiscal year to date holds all three listings
    assert sched.counted("weekly", "published") == 1 and sched.counted("period", "published") == 1
    assert sched.metrics.scheduled_report_last_success.labels(kind="weekly")._value.get() == pytest.approx(
        sched.clock.now.timestamp())
    # Later checks in the same week, and a "restart" (a new container on the same store), produce nothing.
    sched.clock.now += timedelta(days=3)
    assert {o.outcome for o in run_due(sched, "host-a:1")} == {"done"}
    restarted = SchedContainer(sched.unit, sched.clock, publisher=sched.publisher)
    assert {o.outcome for o in run_due(restarted, "host-a:2")} == {"done"}
    assert len(sched.publisher.sent) == 4 and restarted.files.written == []
    # The next week's reports are due the next Monday at 07:00 JST, not a minute earlier.
    sched.clock.now = jst(2026, 11, 16, 6, 59)
    assert {o.outcome for o in run_due(sched, "host-a:1")} == {"done"}
    sched.clock.now = jst(2026, 11, 16, 7, 0)
    assert [o.outcome for o in run_due(sched, "host-a:1")] == ["published", "published"]
    assert sched.publisher.sent[-4].report_id == "scheduled-weekly-2026-11-09-city-html"
    assert sched.counted("weekly", "published") == 2


def test_a_second_instance_on_the_same_store_produces_nothing(sched: SchedContainer) -> None:
    other = SchedContainer(sched.unit, sched.clock)
    run_due(sched, "host-a:1")
    assert {o.outcome for o in run_due(other, "host-b:1")} == {"done"}
    assert other.publisher.sent == [] and other.files.written == []


def test_a_failed_publication_is_retried_after_the_delay_with_the_same_ids(sched: SchedContainer) -> None:
    sched.publisher.fail = ConnectionError("no broker")
    assert [o.outcome for o in run_due(sched, "host-a:1")] == ["failed", "failed"]
    assert sched.counted("weekly", "failed") == 1
    # Within the retry delay the claim is still held: nobody (this or another instance) tries again yet.
    sched.clock.now += timedelta(seconds=899)
    sched.publisher.fail = None
    assert {o.outcome for o in run_due(SchedContainer(sched.unit, sched.clock), "host-b:1")} == {"busy"}
    sched.clock.now += timedelta(seconds=2)
    assert [o.outcome for o in run_due(sched, "host-a:1")] == ["published", "published"]
    assert [r.report_id for r in sched.publisher.sent][:2] == [
        "scheduled-weekly-2026-11-02-city-html", "scheduled-weekly-2026-11-02-city-pdf"]
    assert {o.outcome for o in run_due(sched, "host-a:1")} == {"done"}


def test_a_failure_writing_the_files_is_retried_too(sched: SchedContainer) -> None:
    sched.files.fail = True
    assert [o.outcome for o in run_due(sched, "host-a:1")] == ["failed", "failed"]
    assert sched.publisher.sent == []
    sched.files.fail = False
    sched.clock.now += timedelta(minutes=16)
    assert [o.outcome for o in run_due(sched, "host-a:1")] == ["published", "published"]


def test_a_document_too_large_stays_a_file_and_is_not_retried(sched: SchedContainer) -> None:
    sched.publisher.fail = ReportTooLarge("too large")
    assert [o.outcome for o in run_due(sched, "host-a:1")] == ["too_large", "too_large"]
    sched.clock.now += timedelta(hours=1)
    assert {o.outcome for o in run_due(sched, "host-a:1")} == {"done"}


def test_without_publishing_the_files_are_written_once(sched: SchedContainer) -> None:
    sched.publisher = None
    sched.settings.schedule_pdf = False
    assert [o.outcome for o in run_due(sched, "host-a:1")] == ["written", "written"]
    assert sched.files.written == [("weekly-2026-11-02", False), ("evaluation-2026-04-01..2026-11-08", False)]
    assert {o.outcome for o in run_due(sched, "host-a:1")} == {"done"}


# ---- the real store: two instances claiming at once ----------------------------------------------------------------

def _sqlite_container(tmp_path: Path, clock: Clock) -> Container:
    settings = EvaluationSettings(database_url=f"sqlite:///{tmp_path}/evaluation.db", metrics_port=0,
                                  reports_dir=tmp_path / "reports", publish_reports=False, schedule_pdf=False)
    return bootstrap(settings, metrics=EvaluationMetrics(CollectorRegistry()), clock=clock)


def test_on_sqlite_two_instances_claiming_at_once_produce_each_report_once(tmp_path: Path) -> None:
    clock = Clock(jst(2026, 11, 9, 7, 1))
    a, b = _sqlite_container(tmp_path, clock), _sqlite_container(tmp_path, clock)
    try:
        start = threading.Barrier(2)
        results: dict[str, list[str]] = {}

        def claim(name: str, container: Container) -> None:
            start.wait()
            outcomes = []
            for key in (f"weekly:k{i}" for i in range(20)):
                with container.uow() as uow:
                    outcomes.append(uow.store.claim_scheduled(key, name, clock.now, clock.now - timedelta(hours=1)))
                    uow.commit()
            results[name] = outcomes

        threads = [threading.Thread(target=claim, args=(n, c)) for n, c in (("a", a), ("b", b))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        for i in range(20):
            assert sorted([results["a"][i], results["b"][i]]) == ["busy", "claimed"], i
        # The whole use case on the real store, real files: produced once, then done for both instances.
        assert [o.outcome for o in run_due(a, "a")] == ["written", "written"]
        assert (tmp_path / "reports" / "weekly-2026-11-02.html").read_text(encoding="utf-8").startswith("<!")
        assert (tmp_path / "reports" / "evaluation-2026-04-01..2026-11-08.html").exists()
        assert {o.outcome for o in run_due(b, "b")} == {"done"}
        # A stale claim (crashed instance) is taken over once; the fresh one is then held.
        with a.uow() as uow:
            assert uow.store.claim_scheduled("weekly:x", "a", clock.now, clock.now) == "claimed"
            uow.commit()
        later = clock.now + timedelta(hours=1)
        with b.uow() as uow:
            assert uow.store.claim_scheduled("weekly:x", "b", later, later - timedelta(minutes=15)) == "claimed"
            uow.commit()
        with a.uow() as uow:
            assert uow.store.claim_scheduled("weekly:x", "a", later, later - timedelta(minutes=15)) == "busy"
            uow.store.finish_scheduled("weekly:x", later)
            uow.commit()
        with a.uow() as uow:
            assert uow.store.claim_scheduled("weekly:x", "a", later, later) == "done"
    finally:
        a.engine.dispose()
        b.engine.dispose()
