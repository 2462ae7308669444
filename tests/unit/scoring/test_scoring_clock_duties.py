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
    assert imported <= {"__future__", "collections.abc", "datetime"}


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
