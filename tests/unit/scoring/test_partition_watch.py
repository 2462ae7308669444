"""The scoring worker's watch for an assigned partition that stopped fetching (adapters/partition_watch.py)."""

from __future__ import annotations

import pytest

from services.scoring.adapters.partition_watch import PartitionWatch, Stall

pytestmark = pytest.mark.unit


def test_a_partition_with_facts_waiting_and_none_delivered_is_stalled_after_the_period() -> None:
    watch: PartitionWatch[int] = PartitionWatch(stall_after_s=10)
    watch.assigned({0, 1}, now=0)
    watch.seen(0, 41, now=1)
    watch.seen(1, 9, now=1)
    assert watch.stalled({0: 50, 1: 10}, now=10) == []           # not long enough yet
    assert watch.stalled({0: 50, 1: 10}, now=11.5) == [Stall(0, 42, 50, 10.5)]  # 1 is caught up: idle, not stalled


def test_delivery_of_any_message_keeps_a_partition_from_counting_as_stalled() -> None:
    watch: PartitionWatch[int] = PartitionWatch(stall_after_s=10)
    watch.assigned({0}, now=0)
    for second in range(0, 60, 5):
        watch.seen(0, second, now=second)  # a slow partition, still moving
        assert watch.stalled({0: 1000}, now=second + 5) == []


def test_a_partition_never_delivered_since_its_assignment_is_stalled_when_it_has_messages() -> None:
    watch: PartitionWatch[str] = PartitionWatch(stall_after_s=10)
    watch.assigned({"a", "b"}, now=100)
    assert watch.stalled({"a": 0, "b": 3}, now=111) == [Stall("b", None, 3, 11)]
    watch.committed("b", 3)  # everything up to 3 was committed by the previous owner: nothing waits
    assert watch.stalled({"a": 0, "b": 3}, now=112) == []


def test_the_committed_offset_is_only_where_an_assignment_starts_never_past_what_was_delivered() -> None:
    """A commit past messages the agent never saw (a fetch that jumped ahead) must not hide them."""
    watch: PartitionWatch[int] = PartitionWatch(stall_after_s=5)
    watch.assigned({0}, now=0, rebalanced=True)
    watch.committed(0, 12)  # the baseline: the assignment starts there
    watch.committed(0, None)
    assert watch.stalled({0: 12}, now=6) == []
    assert watch.stalled({0: 14}, now=6) == [Stall(0, 12, 14, 6)]
    watch.seen(0, 19, now=6)   # delivered up to 19
    watch.committed(0, 30)     # the group committed past 20..29, never delivered
    assert watch.stalled({0: 30}, now=12) == [Stall(0, 20, 30, 6)]


def test_after_a_resume_the_partition_gets_a_full_period_again_expecting_what_the_seek_delivers() -> None:
    watch: PartitionWatch[int] = PartitionWatch(stall_after_s=10)
    watch.assigned({0}, now=0)
    assert [s.tp for s in watch.stalled({0: 5}, now=10)] == [0]
    watch.resumed(0, now=10)
    assert watch.stalled({0: 5}, now=19) == []
    assert [s.tp for s in watch.stalled({0: 5}, now=20)] == [0]
    watch.seen(0, 8, now=21)
    watch.resumed(0, now=22, sought_to=3)  # sought back below what was delivered: expects 3 on
    assert watch.stalled({0: 9}, now=32) == [Stall(0, 3, 9, 10)]


def test_a_revoked_partition_is_forgotten_and_one_assigned_again_starts_its_clock_afresh() -> None:
    watch: PartitionWatch[int] = PartitionWatch(stall_after_s=10)
    watch.assigned({0, 1}, now=0)
    watch.assigned({1}, now=30)
    assert [s.tp for s in watch.stalled({0: 5, 1: 5}, now=30)] == [1]  # 0 is not ours any more
    watch.assigned({0, 1}, now=31)
    assert [s.tp for s in watch.stalled({0: 5, 1: 5}, now=35)] == [1]
    assert sorted(s.tp for s in watch.stalled({0: 5, 1: 5}, now=41)) == [0, 1]


def test_a_partition_without_an_end_offset_is_not_judged() -> None:
    watch: PartitionWatch[int] = PartitionWatch(stall_after_s=1)
    watch.assigned({0}, now=0)
    assert watch.stalled({}, now=100) == []
    with pytest.raises(ValueError):
        PartitionWatch(stall_after_s=0)


def test_after_a_rebalance_every_partition_starts_its_clock_again() -> None:
    watch: PartitionWatch[int] = PartitionWatch(stall_after_s=10)
    watch.assigned({0}, now=0)
    watch.seen(0, 4, now=1)
    watch.assigned({0}, now=70, rebalanced=True)  # kept across the rebalance; its last message was long ago
    watch.committed(0, 5)  # where the new assignment starts (the previous expectation is dropped)
    assert watch.stalled({0: 9}, now=75) == []
    assert watch.stalled({0: 9}, now=80) == [Stall(0, 5, 9, 10)]
