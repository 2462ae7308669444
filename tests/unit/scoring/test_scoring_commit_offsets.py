"""Issue 20: committed offsets crept up about one message per commit on input with gaps between messages;
the scoring worker's consumer commits everything acknowledged (and skipped) at once."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from faust.transport.consumer import Consumer as FaustConsumer
from faust.types import TP
from intervaltree import IntervalTree

from services.scoring.adapters.faust_consumer import GapSafeConsumer

pytestmark = pytest.mark.unit
TP0 = TP("linkage.facts.v1", 0)


class _Offsets:
    """The attributes Consumer._new_offset works on, as Faust keeps them."""

    def __init__(self, committed: int) -> None:
        self._acked: dict[TP, list[int]] = defaultdict(list)
        self._acked_index: dict[TP, set[int]] = defaultdict(set)
        self._gap: dict[TP, Any] = defaultdict(IntervalTree)
        self._committed_offset: dict[TP, int | None] = defaultdict(lambda: None)
        self._committed_offset[TP0] = committed

    def read_and_ack(self, previous: int, offset: int) -> None:
        if offset - previous > 1:  # as Consumer._drain_messages / _add_gap record it
            self._gap[TP0].addi(previous + 1, offset + 1)
            self._gap[TP0].merge_overlaps()
        self._acked[TP0].append(offset)
        self._acked_index[TP0].add(offset)

    def commit(self, new_offset: Any) -> int | None:
        offset = new_offset(self, TP0)
        committed = self._committed_offset[TP0]
        if offset is not None and (committed is None or offset > committed):
            self._committed_offset[TP0] = offset
        return self._committed_offset[TP0]


def _commits(new_offset: Any, offsets: list[int], every: int = 10) -> list[int | None]:
    state, previous, commits = _Offsets(committed=offsets[0]), offsets[0] - 1, []
    for n, offset in enumerate(offsets, 1):
        state.read_and_ack(previous, offset)
        previous = offset
        if n % every == 0:
            commits.append(state.commit(new_offset))
    return commits


GAPPED = list(range(100, 400, 2))  # a message every other offset (a marker between each, as transactions write)


def test_faust_alone_creeps_about_one_message_per_commit_on_gapped_input() -> None:
    commits = _commits(FaustConsumer._new_offset, GAPPED)
    assert commits[-1] is not None and commits[-1] < GAPPED[len(GAPPED) // 4]  # far behind what was processed


def test_the_worker_consumer_commits_up_to_what_was_processed_on_gapped_input() -> None:
    commits = _commits(GapSafeConsumer._new_offset, GAPPED)
    assert commits == [GAPPED[n * 10 - 1] + 1 for n in range(1, len(commits) + 1)]


def test_contiguous_input_commits_the_same_as_faust() -> None:
    offsets = list(range(500, 800))
    assert _commits(GapSafeConsumer._new_offset, offsets) == _commits(FaustConsumer._new_offset, offsets)


def test_nothing_is_committed_past_an_offset_still_in_flight() -> None:
    state = _Offsets(committed=10)
    for offset in (12, 13, 14):  # 10 and 11 read, still being processed
        state._acked[TP0].append(offset)
        state._acked_index[TP0].add(offset)
    assert GapSafeConsumer._new_offset(state, TP0) is None  # type: ignore[arg-type]
    state._acked[TP0] += [10, 11]
    assert GapSafeConsumer._new_offset(state, TP0) == 15  # type: ignore[arg-type]


def test_a_message_deferred_during_recovery_holds_the_commit_until_it_is_processed() -> None:
    """A fact that reached the agent while the state table was being restored is acknowledged by Faust but was
    not scored: nothing from it on is committed until the seek that ends the recovery delivers it again."""
    state = _Offsets(committed=10)
    for offset in (10, 11, 12, 13):
        assert GapSafeConsumer.admit(state, TP0, offset, recovering=offset >= 12) == (  # type: ignore[arg-type]
            "defer" if offset >= 12 else "score")
        state.read_and_ack(offset - 1, offset)
    assert state.commit(GapSafeConsumer._new_offset) == 12  # 10 and 11 were scored; 12 and 13 were not
    for offset in (12, 13):  # redelivered after the seek, scored, acknowledged again
        assert GapSafeConsumer.admit(state, TP0, offset, recovering=False) == "score"  # type: ignore[arg-type]
        state.read_and_ack(offset - 1, offset)
    assert state.commit(GapSafeConsumer._new_offset) == 14
    assert not state.__dict__["_deferred"][TP0]


def test_after_the_recovery_a_partition_is_scored_in_order_and_each_message_once() -> None:
    """Faust signals the end of the recovery before it seeks: messages fetched before the seek still reach the
    agent. One that follows a deferred message must wait for it (scored first, a case's end would come before the
    case); the seek and a rewind then deliver again what was already scored, which is not scored twice."""
    state = _Offsets(committed=10)
    admit = GapSafeConsumer.admit
    assert admit(state, TP0, 10, recovering=True) == "defer"  # type: ignore[arg-type]
    assert admit(state, TP0, 11, recovering=False) == "defer"  # type: ignore[arg-type]  # fetched before the seek
    assert GapSafeConsumer.rewind_target(state, TP0) == 10  # type: ignore[arg-type]  # where rewind() seeks
    delivered = [10, 11, 12, 10, 11, 12, 13]  # the seek's fetch, then the rewind's (overlapping), then new
    verdicts = [admit(state, TP0, offset, recovering=False) for offset in delivered]  # type: ignore[arg-type]
    assert verdicts == ["score", "score", "score", "again", "again", "again", "score"]
    assert GapSafeConsumer.first_deferred(state, TP0) is None  # type: ignore[arg-type]


def test_a_rewind_never_seeks_past_the_committed_offset() -> None:
    """Messages deferred after a rebalance follow ones this worker scored before it, not yet committed: the rewind
    goes back to the committed offset, so those are delivered and acknowledged again and the commit can move on
    (a seek to the first deferred one would leave them unacknowledged for good)."""
    state = _Offsets(committed=5)
    for offset in (8, 9):
        assert GapSafeConsumer.admit(state, TP0, offset, recovering=True) == "defer"  # type: ignore[arg-type]
    assert GapSafeConsumer.rewind_target(state, TP0) == 5  # type: ignore[arg-type]
    state._committed_offset[TP0] = None
    assert GapSafeConsumer.rewind_target(state, TP0) == 8  # type: ignore[arg-type]


def test_a_stalled_partition_is_sought_back_to_what_is_not_yet_committed() -> None:
    """The partition watch's seek (adapters/partition_watch.py): never past the committed offset or a deferred
    message, so nothing unacknowledged is skipped; with nothing known it only resumes."""
    state = _Offsets(committed=5)
    assert GapSafeConsumer.stall_target(state, TP0, 9) == 5  # type: ignore[arg-type]
    assert GapSafeConsumer.stall_target(state, TP0, 3) == 3  # type: ignore[arg-type]
    assert GapSafeConsumer.admit(state, TP0, 4, recovering=True) == "defer"  # type: ignore[arg-type]
    assert GapSafeConsumer.stall_target(state, TP0, 9) == 4  # type: ignore[arg-type]
    fresh = _Offsets(committed=0)
    fresh._committed_offset[TP0] = None
    assert GapSafeConsumer.stall_target(fresh, TP0, None) is None  # type: ignore[arg-type]
    assert GapSafeConsumer.stall_target(fresh, TP0, 7) == 7  # type: ignore[arg-type]


def test_a_stale_message_after_a_rewind_never_holds_an_offset_already_scored_as_missing() -> None:
    """A rewind delivers 10, 11 again ("again": the expected offset follows them down); a message fetched before
    the seek (20) then comes: only 13.. can be missing — 12 was scored and must not be scored twice (a deleted
    child's old fact scored again would bring the child back)."""
    state = _Offsets(committed=10)
    assert _admit_all(state, [10, 11, 12]) == ["score"] * 3
    assert _admit_all(state, [10, 11]) == ["again", "again"]
    assert _admit_all(state, [20]) == ["jump"]
    assert GapSafeConsumer.next_expected(state, TP0) == 13  # type: ignore[arg-type]
    assert _admit_all(state, [10, 11, 12, 13]) == ["again", "again", "again", "score"]


def _admit_all(state: _Offsets, offsets: list[int], recovering: bool = False) -> list[str]:
    return [GapSafeConsumer.admit(state, TP0, o, recovering, contiguous=True)  # type: ignore[arg-type]
            for o in offsets]


def test_on_a_contiguous_topic_a_jump_past_messages_never_seen_is_rewound_and_holds_the_commit() -> None:
    """After the second rebalance of the two-instance test the fetch delivered 15 when 12..14 were never seen:
    they must be fetched again and scored, and nothing committed past them meanwhile."""
    state = _Offsets(committed=10)
    assert _admit_all(state, [10, 11]) == ["score", "score"]
    for previous, offset in ((9, 10), (10, 11)):
        state.read_and_ack(previous, offset)
    assert _admit_all(state, [15]) == ["jump"]
    assert GapSafeConsumer.rewind_target(state, TP0) == 10  # type: ignore[arg-type]
    assert GapSafeConsumer.next_expected(state, TP0) == 12  # type: ignore[arg-type]
    assert _admit_all(state, [16, 17]) == ["defer", "defer"]  # fetched before the rewind: they come again
    state.read_and_ack(11, 15)
    assert state.commit(GapSafeConsumer._new_offset) == 12  # held below the first missing offset
    # the rewind delivers from the committed offset: 10, 11 again (already scored), then the missing ones
    assert _admit_all(state, [10, 11, 12, 13, 14, 15, 16, 17, 18]) == (
        ["again", "again"] + ["score"] * 7)
    for offset in range(12, 19):
        state.read_and_ack(offset - 1, offset)
    assert state.commit(GapSafeConsumer._new_offset) == 19


def test_on_a_contiguous_topic_the_assignment_starts_at_the_committed_offset() -> None:
    state = _Offsets(committed=40)
    assert _admit_all(state, [43]) == ["jump"]  # a message fetched before the seek to the committed offset
    assert GapSafeConsumer.rewind_target(state, TP0) == 40  # type: ignore[arg-type]
    assert _admit_all(state, [40, 41, 42, 43]) == ["score"] * 4
    fresh = _Offsets(committed=0)
    fresh._committed_offset[TP0] = None  # a new group: from wherever the fetch starts
    assert _admit_all(fresh, [7, 8]) == ["score", "score"]


def test_a_gap_the_log_no_longer_holds_is_not_waited_for() -> None:
    """The committed offset lies before the log's start (retention): the jump is real; the partition goes on."""
    state = _Offsets(committed=5)
    assert _admit_all(state, [20]) == ["jump"]
    GapSafeConsumer.gap_not_in_log(state, TP0, 20)  # type: ignore[arg-type]
    assert GapSafeConsumer.rewind_target(state, TP0) == 5  # type: ignore[arg-type]  # resets to the log's start
    assert _admit_all(state, [20, 21, 22]) == ["score"] * 3


def test_without_contiguous_a_jump_is_taken_as_a_gap_of_the_topic() -> None:
    state = _Offsets(committed=10)
    assert [GapSafeConsumer.admit(state, TP0, o, False) for o in (10, 14, 15)] == ["score"] * 3  # type: ignore[arg-type]
