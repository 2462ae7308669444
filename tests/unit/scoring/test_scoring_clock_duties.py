"""The clock's bookkeeping without Faust: the go-live hold, which partitions the daily sweep still owes, and which
children have been quiet long enough for their absences to settle."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from services.scoring.service_layer import clock_duties
from services.scoring.service_layer.clock_duties import ClockDuties

pytestmark = pytest.mark.unit

TODAY = date(2026, 6, 1)
TOMORROW = TODAY + timedelta(days=1)


def test_nothing_is_held_without_a_go_live_day_and_everything_before_it() -> None:
    assert not ClockDuties().holding(TODAY)
    duties = ClockDuties(publish_from=TOMORROW)
    assert duties.holding(TODAY)
    assert not duties.holding(TOMORROW)  # the go-live day itself publishes
    assert not duties.holding(TOMORROW + timedelta(days=1))


def test_each_active_partition_is_due_once_a_day() -> None:
    duties = ClockDuties()
    assert duties.due_for_sweep(TODAY, {0, 1, 2}) == {0, 1, 2}
    duties.swept({0, 1, 2}, TODAY)
    assert duties.due_for_sweep(TODAY, {0, 1, 2}) == set()
    assert duties.due_for_sweep(TODAY, {0, 1, 2, 3}) == {3}  # a partition newly assigned is swept today too
    assert duties.due_for_sweep(TOMORROW, {0, 1, 2}) == {0, 1, 2}


def test_an_interrupted_sweep_is_due_again() -> None:
    duties = ClockDuties()
    duties.swept({0}, TODAY)
    assert duties.due_for_sweep(TODAY, {0, 1}) == {1}  # 1's sweep was interrupted: not reported as swept
    duties.swept({1}, TODAY)
    assert duties.due_for_sweep(TODAY, {0, 1}) == set()


def test_a_partition_that_was_revoked_and_comes_back_is_swept_again_the_same_day() -> None:
    duties = ClockDuties()
    duties.swept({0, 1}, TODAY)
    assert duties.due_for_sweep(TODAY, {0}) == set()
    assert duties.swept_on == {0: TODAY}  # 1 is forgotten while another instance holds it
    assert duties.due_for_sweep(TODAY, {0, 1}) == {1}  # its children may have changed meanwhile


def test_the_go_live_hold_sweeps_nothing_and_the_go_live_day_sweeps_everything() -> None:
    duties = ClockDuties(publish_from=TOMORROW)
    duties.swept({0, 1}, TODAY - timedelta(days=1))
    assert duties.due_for_sweep(TODAY, {0}) == set()
    assert duties.swept_on == {0: TODAY - timedelta(days=1), 1: TODAY - timedelta(days=1)}  # untouched while held
    assert duties.due_for_sweep(TOMORROW, {0, 1}) == {0, 1}


def test_without_a_settle_time_no_child_is_watched() -> None:
    duties = ClockDuties()
    duties.fact_arrived("c1", 10.0)
    assert duties.settling == {}
    assert duties.ready_to_settle(TODAY, 1e9) == []


def test_a_child_settles_once_its_facts_have_stopped_for_the_settle_time() -> None:
    duties = ClockDuties(settle_after=20.0)
    duties.fact_arrived("c1", 100.0)
    duties.fact_arrived("c2", 110.0)
    assert duties.ready_to_settle(TODAY, 119.9) == []
    assert duties.ready_to_settle(TODAY, 120.0) == ["c1"]  # exactly the settle time counts
    assert duties.ready_to_settle(TODAY, 130.0) == ["c1", "c2"]


def test_a_new_fact_restarts_the_wait() -> None:
    duties = ClockDuties(settle_after=20.0)
    duties.fact_arrived("c1", 100.0)
    duties.fact_arrived("c1", 115.0)
    assert duties.ready_to_settle(TODAY, 130.0) == []
    assert duties.ready_to_settle(TODAY, 135.0) == ["c1"]


def test_a_ready_child_stays_listed_until_it_is_settled_or_deleted() -> None:
    duties = ClockDuties(settle_after=5.0)
    duties.fact_arrived("c1", 0.0)
    duties.fact_arrived("c2", 0.0)
    assert duties.ready_to_settle(TODAY, 10.0) == ["c1", "c2"]
    assert duties.ready_to_settle(TODAY, 10.0) == ["c1", "c2"]  # asking does not take them out
    duties.stop_settling("c1")
    assert duties.ready_to_settle(TODAY, 10.0) == ["c2"]
    duties.stop_settling("c1")  # deleted after it settled: nothing to do
    duties.stop_settling("never-seen")
    assert duties.settling == {"c2": 0.0}


def test_nothing_settles_during_the_go_live_hold_but_the_children_wait_for_the_go_live_day() -> None:
    duties = ClockDuties(publish_from=TOMORROW, settle_after=5.0)
    duties.fact_arrived("c1", 0.0)
    assert duties.ready_to_settle(TODAY, 10.0) == []
    assert duties.settling == {"c1": 0.0}
    assert duties.ready_to_settle(TOMORROW, 10.0) == ["c1"]


def test_the_bookkeeping_needs_no_framework() -> None:
    tree = ast.parse(Path(clock_duties.__file__).read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"__future__", "collections", "collections.abc", "datetime", "typing"}


NOW = 1_780_000_000.0  # epoch seconds


def test_a_fact_is_behind_when_its_source_event_is_older_than_the_catch_up_age() -> None:
    fresh = datetime.fromtimestamp(NOW - 5).astimezone().isoformat()
    old = datetime.fromtimestamp(NOW - 61).astimezone().isoformat()
    duties = ClockDuties(catch_up_after=60.0)
    assert not duties.behind("c1", fresh, NOW)
    assert duties.behind("c1", old, NOW)
    assert not duties.behind("c1", None, NOW) and not duties.behind("c1", "not a time", NOW)
    assert not ClockDuties().behind("c1", old, NOW)  # off without an age
    duties.held_back("c2", 0.0)
    assert duties.behind("c2", fresh, NOW)  # a child waiting for a backlog waits for all of it


def test_the_held_children_are_published_once_the_backlog_is_through_or_held_too_long() -> None:
    duties = ClockDuties(catch_up_after=60.0, catch_up_quiet=2.0, catch_up_max_hold=300.0)
    duties.held_back("c1", 0.0)
    duties.held_back("c2", 100.0)
    duties.held_back("c1", 250.0)  # held since its first
    assert duties.caught_up_now(TODAY, 251.0) == []  # the backlog goes on: its last fact a second ago
    duties.held_back("c3", 300.5)
    assert duties.caught_up_now(TODAY, 301.0) == ["c1"]  # held five minutes: published all the same
    assert duties.caught_up_now(TODAY, 301.0) == []
    assert duties.caught_up_now(TODAY, 302.5) == ["c2", "c3"]  # two quiet seconds: the backlog is through
    assert duties.caught_up == {}


def test_the_go_live_hold_keeps_the_held_children_for_its_sweep_and_a_deletion_forgets_them() -> None:
    duties = ClockDuties(publish_from=TOMORROW, catch_up_after=60.0)
    duties.held_back("c1", 0.0)
    duties.held_back("c2", 0.0)
    assert duties.caught_up_now(TODAY, 1_000.0) == []
    duties.forget("c2")
    assert duties.caught_up_now(TOMORROW, 1_000.0) == ["c1"]


def test_a_long_backlog_releases_exactly_the_children_held_long_enough_in_order_of_their_ids() -> None:
    duties = ClockDuties(catch_up_after=60.0, catch_up_quiet=2.0, catch_up_max_hold=300.0)
    for second in range(600):  # a fact a second, each child's first at ``second``
        duties.held_back(f"c{599 - second:03}", float(second))
    duties.held_back("c599", 599.5)  # held again: still held since its first fact
    assert duties.caught_up_now(TODAY, 599.5) == sorted(f"c{599 - s:03}" for s in range(300))
    duties.held_back("c599", 600.0)  # released, then held again: held since now
    assert duties.caught_up_now(TODAY, 600.5) == ["c299"]
    duties.held_back("z", 899.5)  # the backlog goes on
    assert duties.caught_up_now(TODAY, 900.0) == sorted([*(f"c{599 - s:03}" for s in range(301, 600)), "c599"])
    assert list(duties.caught_up) == ["z"]


def test_a_quiet_backlog_with_facts_still_to_read_goes_on() -> None:
    duties = ClockDuties(catch_up_after=60.0, catch_up_quiet=2.0, catch_up_max_hold=300.0)
    assert not duties.owes_release(TODAY, 10.0)  # nobody waits
    duties.held_back("c1", 10.0)
    assert not duties.owes_release(TODAY, 11.0) and duties.owes_release(TODAY, 12.0)
    duties.unread = True  # the worker found facts left in the topic
    assert duties.caught_up_now(TODAY, 13.0) == [] and duties.owes_release(TODAY, 13.0)
    duties.unread = False  # read
    assert duties.caught_up_now(TODAY, 14.0) == ["c1"]
    holding = ClockDuties(publish_from=TOMORROW, catch_up_after=60.0)
    holding.held_back("c1", 0.0)
    assert not holding.owes_release(TODAY, 1e9)  # the go-live's sweep publishes them


def test_linkage_working_through_a_backlog_keeps_it_from_being_quiet() -> None:
    """Linkage's records gave no facts for 55 s in pipeline_e2e at 0.25 (adults' registry records): its progress
    reports, not facts, say the backlog goes on. A report of live records says nothing."""
    duties = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0)
    old = datetime.fromtimestamp(NOW - 3600, tz=UTC).isoformat()
    fresh = datetime.fromtimestamp(NOW - 1, tz=UTC).isoformat()
    duties.held_back("c1", 0.0)
    assert duties.upstream_working(old, NOW, 9.0)
    assert duties.caught_up_now(TODAY, 12.0) == [], "linkage reported 3 s ago"
    assert not duties.upstream_working(fresh, NOW, 15.0)
    assert duties.caught_up_now(TODAY, 19.0) == ["c1"], "quiet since the last report of a backlog"


def _reports(duties: ClockDuties, unread_at: dict[str, list[tuple[float, int]]]) -> None:
    """Linkage's progress reports of a backlog, each instance's (when, unread records) in time order."""
    old = datetime.fromtimestamp(NOW - 3600, tz=UTC).isoformat()
    for when, reporter, unread in sorted((when, reporter, unread) for reporter, reports in unread_at.items()
                                         for when, unread in reports):
        assert duties.upstream_working(old, NOW, when, reporter=reporter, unread=unread)


def test_a_backlog_that_shrinks_holds_its_children_past_the_bound_up_to_the_drain_hold() -> None:
    """A recovery being worked through: linkage's unread records fall report after report. The children held since
    the start are kept past ``catch_up_max_hold`` (their histories are still coming), up to ``catch_up_drain_hold``."""
    duties = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0, catch_up_drain_hold=900.0)
    duties.held_back("c1", 0.0)
    duties.held_back("c2", 100.0)
    _reports(duties, {"linkage-a": [(float(t), 200_000 - 100 * t) for t in range(0, 1000, 2)]})
    assert duties.draining(998.0) and duties.upstream_unread(998.0) == 200_000 - 100 * 998
    assert duties.upstream_unread(1290.0) == 200_000 - 100 * 998, "a pause of 292 s: still heard from"
    assert duties.upstream_unread(1299.0) == 0, "no report for 301 s (CATCH_UP_MAX_HOLD_S): none counted"
    assert duties.caught_up_now(TODAY, 998.0) == ["c1"], "c1 held 998 s > 900, c2 held 898 s, the backlog shrinks"
    without = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0)
    without.held_back("c1", 0.0)
    _reports(without, {"linkage-a": [(float(t), 200_000 - 100 * t) for t in range(0, 400, 2)]})
    assert without.caught_up_now(TODAY, 398.0) == ["c1"], "no drain hold set: the bound whatever linkage reports"


def test_a_pipeline_that_stays_behind_or_an_upstream_still_filling_keeps_the_bound() -> None:
    growing = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0, catch_up_drain_hold=900.0)
    growing.held_back("c1", 0.0)
    _reports(growing, {"linkage-a": [(float(t), 1_000 + 50 * t) for t in range(0, 400, 2)]})
    assert not growing.draining(398.0)
    assert growing.caught_up_now(TODAY, 398.0) == ["c1"], "more source events not through linkage than before"
    level = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0, catch_up_drain_hold=900.0)
    level.held_back("c1", 0.0)
    _reports(level, {"linkage-a": [(float(t), 5_000) for t in range(0, 400, 2)]})
    assert level.caught_up_now(TODAY, 398.0) == ["c1"], "as many records coming as handled: it stays behind"


def test_a_linkage_that_falls_silent_or_has_not_reported_long_enough_is_not_draining() -> None:
    duties = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0, catch_up_drain_hold=900.0)
    duties.held_back("c1", 0.0)
    _reports(duties, {"linkage-a": [(float(t), 200_000 - 100 * t) for t in range(300, 320, 2)]})
    assert not duties.draining(320.0), "18 s of reports: not a window's worth yet"
    _reports(duties, {"linkage-a": [(float(t), 200_000 - 100 * t) for t in range(320, 400, 2)]})
    assert duties.draining(398.0) and duties.caught_up_now(TODAY, 398.0) == []
    assert duties.draining(483.0), "a pause of 85 s: a linkage slowed down, not stopped"
    assert not duties.draining(699.0), "no report for 301 s: linkage stopped, or is through"
    duties.held_back("z", 699.0)  # scoring's own backlog goes on
    assert duties.caught_up_now(TODAY, 699.0) == ["c1"]


def test_the_instances_reports_are_summed_and_one_done_with_its_backlog_stops_counting() -> None:
    """Two linkage instances, each reporting to every partition: one's unread falls, the other's rises as much;
    then the rising one is through (stops reporting) and the sum is the other's alone."""
    duties = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0, catch_up_drain_hold=900.0)
    duties.held_back("c1", 0.0)
    _reports(duties, {"linkage-a": [(float(t), 100_000 - 10 * t) for t in range(0, 400, 2)],
                      "linkage-b": [(float(t) + 1, 10_000 + 10 * t) for t in range(0, 400, 2)]})
    _reports(duties, {"linkage-a": [(400.0, 96_000), (400.0, 96_000)]})  # the same report read on two partitions
    assert not duties.draining(400.0), "the sum stays level"
    assert duties.caught_up_now(TODAY, 400.0) == ["c1"]
    duties.held_back("c2", 400.0)
    _reports(duties, {"linkage-a": [(float(t), 100_000 - 10 * t) for t in range(402, 800, 2)]})
    assert duties.draining(798.0), "linkage-b is no longer counted; linkage-a's unread falls"
    assert duties.caught_up_now(TODAY, 798.0) == []


def test_while_scorings_own_input_is_unread_a_pause_in_linkages_reports_is_scoring_reading_slowly() -> None:
    """Linkage's reports come in scoring's input, in order with its facts: on one machine scoring gives way to the
    stages before it and may read nothing for longer than ``catch_up_quiet``; that is not a linkage that stopped."""
    duties = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0, catch_up_drain_hold=900.0)
    duties.held_back("c1", 0.0)
    _reports(duties, {"linkage-a": [(float(t), 200_000 - 500 * t) for t in range(0, 400, 2)]})
    duties.own_backlog(50_000)  # scoring's input holds facts (and reports) it has not read
    duties.held_back("c2", 700.0)  # a fact read, no report for 302 s
    assert duties.draining(700.0) and duties.caught_up_now(TODAY, 700.0) == []
    duties.own_backlog(0)  # read to the end: linkage is silent
    assert not duties.draining(701.0)
    assert duties.caught_up_now(TODAY, 701.0) == ["c1"], "c2 held since 700 s, within the bound"


def test_scorings_own_backlog_growing_while_linkage_reports_a_shrinking_one_does_not_end_the_hold() -> None:
    """On one machine scoring gives way to the stages before it: its unread facts grow during a drain whose count
    at linkage falls (at 1.0, counted together, the sum grew 530 s into the drain and 251 631 children were
    published at their bound on partial histories)."""
    duties = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0, catch_up_drain_hold=900.0)
    duties.held_back("c1", 0.0)
    for second in range(0, 600):
        if second % 2 == 0:
            _reports(duties, {"linkage-a": [(float(second), 1_000_000 - 1_000 * second)]})
        duties.own_backlog(5_000 * second)  # faster than linkage's count falls
        assert duties.caught_up_now(TODAY, float(second)) == [], f"{second} s"


def test_reports_read_in_a_burst_are_judged_on_linkages_clock() -> None:
    """Scoring, giving way to the stages before it, may read a minute of linkage's reports within a second."""
    duties = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=60.0, catch_up_drain_hold=900.0)
    duties.held_back("c1", 0.0)
    old = datetime.fromtimestamp(NOW - 3600, tz=UTC).isoformat()
    for n, written in enumerate(range(1000, 1062, 2)):  # written over 60 s, read within 0.3 s
        duties.upstream_working(old, NOW, 100.0 + n / 100, reporter="linkage-a", unread=90_000 - 1_000 * n,
                                written=float(written))
    assert duties.draining(100.5) and duties.caught_up_now(TODAY, 100.5) == []
    assert "linkage's count 60000, 75000 30 s before" in duties.drain_state(100.5)


def test_an_instance_is_heard_from_for_heard_for_on_scorings_clock_not_linkages() -> None:
    """A report is written on linkage's clock (epoch seconds) and read on scoring's (monotonic seconds, a few thousand
    after the process started): how long it counts runs from when scoring read it."""
    duties = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0)
    old = datetime.fromtimestamp(NOW - 3600, tz=UTC).isoformat()
    duties.upstream_working(old, NOW, 2_000.0, reporter="linkage-a", unread=50_000, written=NOW, records=500)
    duties.upstream_working(old, NOW, 2_002.0, reporter="linkage-a", unread=49_000, written=NOW + 2, records=1_000)
    assert duties.upstream_unread(2_300.0) == 49_000, "read 298 s ago: heard from"
    assert duties.upstream_unread(2_303.0) == 0, "read 301 s ago (CATCH_UP_MAX_HOLD_S): none counted"
    assert duties.upstream_busy(2_050.0), "98 s of work left at its pace: a quiet is a pause"
    assert not duties.upstream_busy(2_120.0), "118 s after it was read: that work and a quiet have gone by"
    duties.upstream_working(old, NOW, 2_400.0, reporter="linkage-b", unread=10, written=NOW + 400, records=10)
    assert duties.upstream_unread(2_400.0) == 10, "linkage-a read 398 s ago: no longer counted, linkage-b is"
    assert duties.drain_state(2_400.0).startswith("linkage's count 10,"), "nor in the sum the drain is judged by"
    first = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0)
    first.upstream_working(old, NOW, 2_000.0, reporter="linkage-a", unread=50_000, written=NOW, records=500)
    assert first.upstream_busy(2_025.0) and not first.upstream_busy(2_035.0), "a first report: DRAIN_WINDOW_S"


def _progress(duties: ClockDuties, reports: list[tuple[float, int, int]], reporter: str = "linkage-a") -> None:
    """Linkage's reports (when written and read, unread, records handled since its report before)."""
    old = datetime.fromtimestamp(NOW - 3600, tz=UTC).isoformat()
    for when, unread, records in reports:
        duties.upstream_working(old, NOW, when, reporter=reporter, unread=unread, written=when, records=records)


def test_a_pause_in_a_linkage_far_from_through_is_not_the_backlogs_end() -> None:
    """Scale 1.0: linkage's writes throttled by the disk, 500 records every 2–3 s with 1.2 million left, then
    12.3 s without a report (85 s in another drain's first minute); scoring had read its input to the end, took the
    quiet for the end and published the 251 659 children held on part of their histories. The quiet is a pause:
    they stay held (the drain hold) while linkage is heard from (its last report within CATCH_UP_MAX_HOLD_S)."""
    duties = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0, catch_up_drain_hold=1800.0)
    duties.held_back("c1", 0.0)
    duties.held_back("c2", 500.0)
    _progress(duties, [(float(t), 4_000_000 - 4_000 * t, 8_000) for t in range(0, 700, 2)])
    _progress(duties, [(700.0 + 2.5 * n, 1_210_000 - 500 * n, 500) for n in range(20)])  # to 747.5 s
    duties.unread = False  # scoring read everything there was when it fell quiet
    assert duties.quiet(760.0) and duties.upstream_busy(760.0)
    assert not duties.through(760.0)
    assert duties.draining(760.0) and duties.caught_up_now(TODAY, 760.0) == [], "12.5 s without a report"
    assert duties.caught_up_now(TODAY, 833.0) == [], "85.5 s: still heard from, still draining"
    assert duties.through(1048.0) and duties.caught_up_now(TODAY, 1048.0) == ["c1", "c2"], \
        "300.5 s without a report: linkage is no longer heard from, and the quiet ends the backlog"


def test_the_end_of_a_drain_is_still_its_end() -> None:
    """Linkage's last report of a drain says less left than it handles in the quiet: the quiet after it is the
    end, and the children are published then, not 30 s later."""
    duties = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0, catch_up_drain_hold=1800.0)
    duties.held_back("c1", 0.0)
    _progress(duties, [(float(t), 800_000 - 4_000 * t, 8_000) for t in range(0, 200, 2)])
    _progress(duties, [(200.0, 5_000, 8_000)])  # 1.25 s of its work left
    assert not duties.upstream_busy(200.0)
    assert not duties.through(209.0), "not quiet yet"
    assert duties.through(210.0) and duties.caught_up_now(TODAY, 210.0) == ["c1"]


def test_a_linkage_slow_at_its_drains_end_is_waited_for_as_long_as_its_work_left() -> None:
    """Its last report says 25 s of work at its pace then, and no report comes after (it is through): the quiet
    ends the backlog once that work and a quiet more have gone by, not after CATCH_UP_MAX_HOLD_S."""
    duties = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0, catch_up_drain_hold=1800.0)
    duties.held_back("c1", 0.0)
    _progress(duties, [(float(t), 100_000 - 400 * t, 800) for t in range(0, 200, 2)])
    _progress(duties, [(200.0, 5_000, 400)])  # 400 records in 2 s: 25 s for the 5 000 left
    assert duties.upstream_busy(234.0) and not duties.through(234.0)
    assert duties.through(236.0) and duties.caught_up_now(TODAY, 236.0) == ["c1"]


def test_a_first_report_with_more_left_than_it_handled_counts_for_the_drain_window() -> None:
    """Its pace is not known yet: the records it handled are all there is to go on; with more to do, linkage
    reports again within seconds."""
    short = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0, catch_up_drain_hold=1800.0)
    short.held_back("c1", 0.0)
    _progress(short, [(1.0, 300, 500)])
    assert short.through(11.0), "no more left than it handled"
    long = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0, catch_up_drain_hold=1800.0)
    long.held_back("c1", 0.0)
    _progress(long, [(1.0, 5_000, 500)])
    assert long.upstream_busy(11.0) and not long.through(11.0)
    assert not long.through(30.0)
    assert long.through(31.5) and long.caught_up_now(TODAY, 31.5) == ["c1"], \
        "through within its first report: no second report, and a small backlog is not held 300 s"


def test_a_copy_of_an_earlier_report_read_late_on_another_partition_is_not_the_latest_count() -> None:
    """Each report comes on every partition of linkage.facts.v1 and scoring reads its partitions unevenly: one 32 s
    of linkage's reports behind another. Read there after the newer one, the earlier copy's count is history, not
    linkage's count now — taken as the latest, the backlog looked level over the window and the children held in a
    drain were published at the bound on part of their histories (pipeline_e2e at 1.0: 251 659 children)."""
    duties = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0, catch_up_drain_hold=1800.0)
    duties.held_back("c1", 0.0)
    ahead = [(float(t), 2_000_000 - 1_000 * t, 2_000) for t in range(0, 800, 2)]
    for n, report in enumerate(ahead):  # partition a read as written; partition b's copies 16 reports (32 s) later
        _progress(duties, [report])
        if n >= 16:
            _progress(duties, [ahead[n - 16]])
    assert duties.upstream_unread(798.0) == 2_000_000 - 1_000 * 798
    assert duties.draining(798.0), "linkage's count fell by 30 000 over the window"
    assert duties.caught_up_now(TODAY, 798.0) == [], "held past the 300 s bound while the backlog shrinks"
    assert duties.upstream_busy(798.0), "its pace is its newest reports': 1 000 a second, 1 202 000 left"
    level = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0, catch_up_drain_hold=1800.0)
    level.held_back("c1", 0.0)
    for t in range(0, 400, 2):  # a pipeline that stays behind, its copies read late all the same
        _progress(level, [(float(t), 5_000, 2_000)] + ([(float(t - 32), 5_000, 2_000)] if t >= 32 else []))
    assert not level.draining(398.0) and level.caught_up_now(TODAY, 398.0) == ["c1"]


def test_copies_of_a_report_do_not_change_linkages_pace() -> None:
    """Each report comes on every partition of linkage.facts.v1: read six times, one report."""
    duties = ClockDuties(catch_up_after=60.0, catch_up_quiet=10.0, catch_up_max_hold=300.0, catch_up_drain_hold=1800.0)
    _progress(duties, [(0.0, 100_000, 8_000), (2.0, 92_000, 8_000)])
    _progress(duties, [(2.0, 92_000, 8_000)] * 5)
    assert duties.upstream_busy(2.0), "92 000 records at 4 000 a second: 23 s of work"
    _progress(duties, [(4.0, 20_000, 72_000)] + [(4.0, 20_000, 72_000)] * 5)
    assert not duties.upstream_busy(4.0), "20 000 at 36 000 a second"
