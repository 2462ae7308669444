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
from contracts.vocabulary import WARD_CODES
from services.evaluation.adapters.messages import decode
from services.evaluation.adapters.weights_file import load_weights
from services.evaluation.bootstrap import Container, bootstrap
from services.evaluation.config import DEFAULT_RULE_FILE, EvaluationSettings
from services.evaluation.domain.periods import PeriodError, parse_period
from services.evaluation.domain.schedule import (
    JST,
    Milestone,
    Schedule,
    due_reports,
    latest_due,
    milestone_reports,
    next_due,
    report_id,
)
from services.evaluation.metrics import EvaluationMetrics
from services.evaluation.service_layer.scheduled import run_due
from services.evaluation.service_layer.worker import process_batch
from tests.unit.evaluation import factories as f
from tests.unit.evaluation.fakes import FakeUnitOfWork

pytestmark = pytest.mark.unit
MONDAY_7 = Schedule.of("mon", time(7, 0))
SCOPES = ("city", *WARD_CODES)  # the weekly report: the city's document, then one per ward
WEEK_STEMS = ["weekly-2026-11-02", *(f"weekly-2026-11-02-{code}" for code in WARD_CODES)]


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


def test_interim_and_final_reports_are_due_from_their_day_and_cover_the_year_to_last_month() -> None:
    schedule = Schedule.of("mon", time(7, 0), milestones=(
        Milestone("interim", date(2026, 10, 15)), Milestone("final", date(2027, 4, 20))))
    assert milestone_reports(jst(2026, 10, 15, 6, 59), schedule) == []
    [interim] = milestone_reports(jst(2026, 10, 15, 7, 0), schedule)
    assert (interim.key, interim.kind, interim.period.start, interim.period.last) == (
        "interim:2026-04-01..2026-09-30", "interim", date(2026, 4, 1), date(2026, 9, 30))
    assert (interim.period_label, interim.file_stem) == ("interim-2026-04-01..2026-09-30",
                                                         "evaluation-interim-2026-04-01..2026-09-30")
    # Still due months later (until its key is done), and the final one joins on its day: the whole fiscal year.
    later = milestone_reports(jst(2027, 5, 1), schedule)
    assert [(d.kind, d.period.start, d.period.last) for d in later] == [
        ("interim", date(2026, 4, 1), date(2026, 9, 30)), ("final", date(2026, 4, 1), date(2027, 3, 31))]
    for due in later:
        for scope in ("city", "40131"):
            EvaluationReportV1.of(b"<html></html>", report_id=report_id(due, "pdf", scope), kind="period",
                                  period_label=due.period_label, fmt="pdf", generated_at=due.due, scope=scope)
    # A period the city set explicitly wins over the default.
    explicit = Schedule.of("mon", time(7), milestones=(
        Milestone("final", date(2027, 4, 20), parse_period("FY2026")),))
    assert milestone_reports(jst(2027, 4, 20, 7), explicit)[0].key == "final:2026-04-01..2027-03-31"


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

    def weekly_html(self, rows: list[Any], week: Any, generated_at: datetime, scope: str = "city") -> str:
        if scope == "city":
            self.weekly_alerts.append(next(r.this_week.new_alerts for r in rows if r.ward == "全市"))
        return f"<html>weekly {week.start} {scope} wards={','.join(r.ward for r in rows)} " \
               f"alerts={sum(r.this_week.new_alerts for r in rows if r.ward != '全市')}</html>"

    def evaluation_html(self, report: Any, variant: str = "period") -> str:
        return f"<html>evaluation {variant} {report.period.label} cases={report.cases}</html>"

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
    assert sched.files.written == [*((stem, True) for stem in WEEK_STEMS), ("evaluation-2026-04-01..2026-11-08", True)]
    assert sched.files.weekly_alerts == [2]
    assert [(r.report_id, r.kind, r.period_label, r.scope, r.format) for r in sched.publisher.sent] == [
        *((f"scheduled-weekly-2026-11-02-{scope}-{fmt}", "weekly", "2026-11-02", scope, fmt)
          for scope in SCOPES for fmt in ("html", "pdf")),
        ("scheduled-period-2026-04-01..2026-11-08-city-html", "period", "2026-04-01..2026-11-08", "city", "html"),
        ("scheduled-period-2026-04-01..2026-11-08-city-pdf", "period", "2026-04-01..2026-11-08", "city", "pdf")]
    by_scope = {r.scope: r.document() for r in sched.publisher.sent if r.kind == "weekly" and r.format == "html"}
    # The factories' alerts are in ward 40131: its document has both new alerts, another ward's has none and
    # neither names any other ward; the city's has every row.
    assert b"wards=40131 alerts=2" in by_scope["40131"] and b"wards=40132 alerts=0" in by_scope["40132"]
    assert b"wards=40131,\xe5\x85\xa8\xe5\xb8\x82" in by_scope["city"]
    assert b"cases=3" in sched.publisher.sent[16].document()  # the fiscal year to date holds all three listings
    assert sched.counted("weekly", "published") == 1 and sched.counted("period", "published") == 1
    assert sched.metrics.scheduled_report_last_success.labels(kind="weekly")._value.get() == pytest.approx(
        sched.clock.now.timestamp())
    # Later checks in the same week, and a "restart" (a new container on the same store), produce nothing.
    sched.clock.now += timedelta(days=3)
    assert {o.outcome for o in run_due(sched, "host-a:1")} == {"done"}
    restarted = SchedContainer(sched.unit, sched.clock, publisher=sched.publisher)
    assert {o.outcome for o in run_due(restarted, "host-a:2")} == {"done"}
    assert len(sched.publisher.sent) == 18 and restarted.files.written == []
    # The next week's reports are due the next Monday at 07:00 JST, not a minute earlier.
    sched.clock.now = jst(2026, 11, 16, 6, 59)
    assert {o.outcome for o in run_due(sched, "host-a:1")} == {"done"}
    sched.clock.now = jst(2026, 11, 16, 7, 0)
    assert [o.outcome for o in run_due(sched, "host-a:1")] == ["published", "published"]
    assert sched.publisher.sent[-18].report_id == "scheduled-weekly-2026-11-09-city-html"
    assert sched.counted("weekly", "published") == 2


def test_a_second_instance_on_the_same_store_produces_nothing(sched: SchedContainer) -> None:
    other = SchedContainer(sched.unit, sched.clock)
    run_due(sched, "host-a:1")
    produced_at = sched.clock.now.timestamp()
    sched.clock.now += timedelta(hours=2)
    assert {o.outcome for o in run_due(other, "host-b:1")} == {"done"}
    assert other.publisher.sent == [] and other.files.written == []
    # Its last-success gauge says when the other instance produced them (the alert must not fire after a restart).
    for kind in ("weekly", "period"):
        assert other.metrics.scheduled_report_last_success.labels(kind=kind)._value.get() == produced_at


def test_the_interim_report_is_produced_once_on_its_day_under_its_title(sched: SchedContainer) -> None:
    sched.schedule = Schedule.of("mon", time(7, 0), milestones=(Milestone("interim", date(2026, 11, 9)),))
    outcomes = run_due(sched, "host-a:1")
    assert [(o.kind, o.outcome) for o in outcomes] == [
        ("weekly", "published"), ("period", "published"), ("interim", "published")]
    interim = [r for r in sched.publisher.sent if r.period_label.startswith("interim-")]
    assert [(r.report_id, r.kind, r.scope, r.format) for r in interim] == [
        ("scheduled-interim-2026-04-01..2026-10-31-city-html", "period", "city", "html"),
        ("scheduled-interim-2026-04-01..2026-10-31-city-pdf", "period", "city", "pdf")]
    # to 31 October: only the listing of 28 October, not the two of November
    assert b"evaluation interim" in interim[0].document() and b"cases=1" in interim[0].document()
    assert sched.counted("interim", "published") == 1
    sched.clock.now += timedelta(days=7)  # the next week: a new weekly report, the interim one never again
    assert [(o.kind, o.outcome) for o in run_due(sched, "host-a:1")] == [
        ("weekly", "published"), ("period", "published"), ("interim", "done")]


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
    assert sched.files.written == [*((stem, False) for stem in WEEK_STEMS),
                                   ("evaluation-2026-04-01..2026-11-08", False)]
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
        ward_file = (tmp_path / "reports" / "weekly-2026-11-02-40133.html").read_text(encoding="utf-8")
        assert "週次報告書（中央区（40133））" in ward_file and "全市" not in ward_file
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


def test_the_settings_give_the_milestones_and_a_bad_period_stops_the_start(tmp_path: Path) -> None:
    settings = EvaluationSettings(database_url=f"sqlite:///{tmp_path}/e.db", metrics_port=0, publish_reports=False,
                                  interim_report_on=date(2026, 10, 15), final_report_on=date(2027, 4, 20),
                                  final_report_period="FY2026")
    container = bootstrap(settings, metrics=EvaluationMetrics(CollectorRegistry()))
    try:
        interim, final = container.schedule.milestones
        assert (interim.kind, interim.on, interim.covers().start, interim.covers().last) == (
            "interim", date(2026, 10, 15), date(2026, 4, 1), date(2026, 9, 30))
        assert (final.kind, final.covers().start, final.covers().last) == ("final", date(2026, 4, 1), date(2027, 3, 31))
    finally:
        container.engine.dispose()
    with pytest.raises(PeriodError):
        bootstrap(EvaluationSettings(database_url="sqlite://", metrics_port=0, publish_reports=False,
                                     interim_report_on=date(2026, 10, 15), interim_report_period="autumn"),
                  metrics=EvaluationMetrics(CollectorRegistry()))
