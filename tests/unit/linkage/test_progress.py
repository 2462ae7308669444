"""When linkage reports that it is working through a backlog (service_layer/progress.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.linkage.service_layer.progress import Progress

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def _ago(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).isoformat()


def test_a_report_every_interval_while_the_records_are_behind() -> None:
    progress = Progress(2.0, 30.0)
    me = progress.reporter
    progress.handled(500, _ago(300))
    assert progress.report(NOW, 100.0, 9_000) == {"records": 500, "source_time": _ago(300), "reporter": me,
                                                  "unread": 9_000}
    progress.handled(500, _ago(299))
    assert progress.report(NOW, 101.0, 8_500) is None, "not within the interval"
    progress.handled(200, _ago(298))
    assert progress.report(NOW, 102.0, 8_300) == {"records": 700, "source_time": _ago(298), "reporter": me,
                                                  "unread": 8_300}, "counted since the last report"


def test_each_process_reports_under_an_id_of_its_own() -> None:
    one, other = Progress(2.0, 30.0), Progress(2.0, 30.0)
    assert one.reporter != other.reporter
    assert one.reporter.startswith("linkage-") and len(one.reporter) <= 64


def test_no_report_without_records_or_for_live_ones_or_when_off() -> None:
    progress = Progress(2.0, 30.0)
    assert progress.report(NOW, 100.0) is None, "nothing handled"
    progress.handled(500, _ago(1))
    assert progress.report(NOW, 100.0) is None, "live records"
    progress.handled(1, _ago(300))
    assert progress.report(NOW, 100.5) == {"records": 1, "source_time": _ago(300), "reporter": progress.reporter,
                                           "unread": None}, \
        "live records are forgotten, and do not start the interval"
    progress.handled(3, None)
    assert progress.report(NOW, 103.0) is None, "records without a source time say nothing"
    off = Progress(0.0, 30.0)
    off.handled(500, _ago(300))
    assert off.report(NOW, 100.0) is None


def test_a_source_time_that_is_not_a_time_is_not_reported() -> None:
    progress = Progress(2.0, 30.0)
    progress.handled(5, "yesterday")
    assert progress.report(NOW, 100.0) is None
