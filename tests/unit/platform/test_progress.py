"""When a stage reports that it is working through a backlog (contracts/progress.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.progress import Progress, decode, progress_messages
from contracts.topics._progress import ProgressV1

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def _ago(seconds: float) -> str:
    return (NOW - timedelta(seconds=seconds)).isoformat()


def test_a_report_every_interval_while_the_records_are_behind() -> None:
    progress = Progress(2.0, 30.0)
    me = progress.reporter
    progress.handled(500, _ago(300))
    assert progress.report(NOW, 100.0, lambda: 9_000) == {"records": 500, "source_time": _ago(300),
                                                           "reporter": me, "unread": 9_000}
    progress.handled(500, _ago(299))
    assert progress.report(NOW, 101.0, _not_asked) is None, "not within the interval"
    progress.handled(200, _ago(298))
    assert progress.report(NOW, 102.0, lambda: 8_300) == {"records": 700, "source_time": _ago(298),
                                                           "reporter": me, "unread": 8_300}, \
        "counted since the last report"


def _not_asked() -> int:
    raise AssertionError("the input's count is asked for only when a report is due (a loop over its partitions)")


def test_each_process_reports_under_an_id_of_its_own() -> None:
    one, other = Progress(2.0, 30.0), Progress(2.0, 30.0)
    assert one.reporter != other.reporter
    assert one.reporter.startswith("linkage-") and len(one.reporter) <= 64


def test_no_report_without_records_or_for_live_ones_or_when_off() -> None:
    progress = Progress(2.0, 30.0)
    assert progress.report(NOW, 100.0) is None, "nothing handled"
    progress.handled(500, _ago(1))
    assert progress.report(NOW, 100.0, _not_asked) is None, "live records"
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


def test_the_stage_befores_reports_count_while_read_recently_summed_over_its_instances() -> None:
    progress = Progress(2.0, 30.0)
    assert progress.upstream_unread(0.0) == 0
    progress.heard(ProgressV1(records=1, source_time=_ago(300), reporter="ingest-a", unread=5_000), 100.0)
    progress.heard(ProgressV1(records=1, source_time=_ago(300), reporter="ingest-b", unread=3_000), 110.0)
    progress.heard(ProgressV1(records=1, source_time=_ago(300), reporter="ingest-a", unread=4_000), 115.0)
    progress.heard(ProgressV1(records=1, source_time=_ago(300), reporter=None, unread=9_999), 115.0)  # says nothing
    assert progress.upstream_unread(120.0) == 7_000
    assert progress.upstream_unread(140.0) == 4_000, "ingest-b read 30 s ago: through, or gone"
    progress.handled(10, _ago(300))
    assert progress.report(NOW, 141.0, lambda: 2_500)["unread"] == 3_990, \
        "the stage before's count, less the records handled since it was read, when it is more"
    progress.handled(10, _ago(300))
    assert progress.report(NOW, 150.0, lambda: 2_500)["unread"] == 2_500, "its own when ingest-a is no longer heard"


def test_the_stage_befores_last_count_falls_with_the_records_handled_after_it() -> None:
    """Ingest's last report of a drain, written a moment before it was through, still counts the records it wrote
    after it; linkage's report must not stay level on it until it expires (scoring would take a level count for a
    pipeline that stays behind and publish every held child at its bound, a minute before the drain's end)."""
    progress = Progress(2.0, 30.0)
    progress.heard(ProgressV1(records=1, source_time=_ago(300), reporter="ingest-a", unread=4_860), 100.0)
    counts = []
    for step in range(6):
        progress.handled(1_000, _ago(300))
        counts.append(progress.upstream_unread(101.0 + step))
    assert counts == [3_860, 2_860, 1_860, 860, 0, 0]


def test_a_report_reads_back_and_anything_else_is_refused_without_its_values() -> None:
    report = {"records": 3, "source_time": _ago(60), "reporter": "ingest-x", "unread": 7}
    [(topic, key, value)] = progress_messages("t", "ingest.progress.reported", report, ["ingest-progress:0"],
                                              "/tsunagu/ingest", NOW)
    assert (topic, key) == ("t", b"ingest-progress:0")
    assert decode(value, "ingest.progress.reported", ValueError).data.model_dump() == report
    with pytest.raises(ValueError, match="event type"):
        decode(value, "linkage.progress.reported", ValueError)
    with pytest.raises(ValueError, match=r"fields \['data'"):
        decode(b'{"type": "ingest.progress.reported", "secret": "taro"}', "ingest.progress.reported", ValueError)
    with pytest.raises(ValueError, match="no value"):
        decode(None, "ingest.progress.reported", ValueError)


def test_a_copy_of_an_earlier_report_of_the_stage_before_read_late_is_not_kept() -> None:
    """Ingest reports to every partition of linkage's input, and linkage reads them at their own pace: a copy of an
    earlier report, read after a later one, would put the earlier (larger) count back."""
    progress = Progress(2.0, 30.0)
    progress.heard(ProgressV1(records=1, source_time=_ago(300), reporter="ingest-a", unread=50_000), 100.0, 1_000.0)
    progress.heard(ProgressV1(records=1, source_time=_ago(300), reporter="ingest-a", unread=40_000), 101.0, 1_010.0)
    progress.heard(ProgressV1(records=1, source_time=_ago(300), reporter="ingest-a", unread=50_000), 102.0, 1_000.0)
    assert progress.upstream_unread(103.0) == 40_000
    progress.handled(3_000, _ago(300))
    progress.heard(ProgressV1(records=1, source_time=_ago(300), reporter="ingest-a", unread=40_000), 104.0, 1_010.0)
    assert progress.upstream_unread(104.0) == 37_000, \
        "a copy of the report kept: the records handled since the first copy was read still come off"
    assert progress.upstream_unread(133.0) == 37_000, "the copy read at 104 s: still counted at 133 s"
    assert progress.upstream_unread(134.0) == 0, "not read for 30 s: no longer counted"
    progress.heard(ProgressV1(records=1, source_time=_ago(300), reporter="ingest-a", unread=7_000), 135.0, 900.0)
    assert progress.upstream_unread(135.0) == 7_000, "the report kept expired: an older one read now counts again"
