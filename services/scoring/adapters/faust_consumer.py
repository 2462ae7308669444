"""Faust's consumer with one change: the offset it commits counts every acknowledged offset once.

Faust (0.15.3) commits the end of the first run of consecutive offsets in its list of acknowledged offsets.
Where the input skips offsets (transaction markers, compaction, a seek past a position), it fills the skipped
ranges into that list — ranges that end with the offset whose arrival revealed the gap, which is acknowledged
(and listed) again when processed. Each such duplicate ends a "run", so with gaps between messages every commit
advances by about one message while processing runs ahead: after a kill -9 the worker re-reads thousands of
facts its state (the changelog) already holds (issue 20). Here the list is made a set before the run is taken,
and offsets below the committed one are dropped; the at-least-once rule is Faust's: nothing past an offset
that is neither acknowledged nor a known gap.

It also decides, for each message that reaches an agent, whether to score it now (``admit``), and never commits
past a message the worker *deferred*: one that reached the agent while a rebalance was recovering the state table
(see ``handle_event`` in entrypoints/faust_app.py). Faust acknowledges every message the agent iterates over,
processed or not; the deferred offset stays out of the commit until the seek that ends the recovery delivers it
again and it is processed. Two rules keep a partition in order around that seek:

- once a message of a partition is deferred, every later one is deferred too until the first deferred one comes
  again: Faust signals the end of the recovery *before* it seeks, so messages fetched before the seek still reach
  the agent after the signal — scoring them would put a later fact before an earlier one (a case's end before
  the case) and publish changes that never happened. Such a message also rewinds the partition to the first
  deferred offset (``rewind``), so the partition cannot wait on a seek whose fetch was overtaken;
- a message at or below the highest offset already scored in this assignment is a second delivery of the same
  message (the seek, and a rewind, deliver again what was already fetched): it is not scored twice.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from typing import Literal

from faust.transport.drivers.aiokafka import Consumer
from faust.types import TP
from faust.utils.functional import consecutive_numbers

Admission = Literal["score", "defer", "again", "jump"]


class GapSafeConsumer(Consumer):
    # Kept in __dict__ (not set in __init__, which Faust's Service machinery owns): offsets seen but not scored,
    # the highest offset scored and the next offset expected, per partition, since the partition was assigned.
    _deferred: dict[TP, set[int]]
    _scored: dict[TP, int]
    _next: dict[TP, int]

    def admit(self, tp: TP, offset: int, recovering: bool, contiguous: bool = False) -> Admission:
        """What to do with the message at ``offset`` now: ``score`` it, ``defer`` it (it comes again and stays
        out of the commit meanwhile), or drop it as a second delivery of one already scored (``again``).

        ``contiguous``: the topic has no gaps of its own (no transactions, no compaction: linkage.facts.v1), so a
        message past the next expected offset means the fetch jumped over messages the agent never saw (after a
        rebalance, faust-streaming #216/#221; docs/kafka.md): ``jump`` — deferred like the rest, the commit held
        below the first missing offset, and the partition to be rewound to it (unless the log no longer has it:
        ``gap_not_in_log``)."""
        deferred = self.__dict__.setdefault("_deferred", {}).setdefault(tp, set())
        if recovering or (deferred and offset > min(deferred)):
            deferred.add(offset)
            return "defer"
        if contiguous:
            nexts = self.__dict__.setdefault("_next", {})
            expected = nexts.get(tp)
            if expected is None:  # the assignment starts at the committed offset (unknown: from here)
                committed = self._committed_offset.get(tp)
                expected = committed if committed is not None else offset
            # what a rewind delivers again follows ``expected`` down: only offsets above the highest scored can be
            # missing (one already scored must never be held as missing, or it would be scored twice)
            expected = max(expected, self.__dict__.get("_scored", {}).get(tp, -1) + 1)
            if offset > expected:
                deferred.update((expected, offset))  # ``expected`` holds the commit until it is scored
                nexts[tp] = expected
                return "jump"
            nexts[tp] = offset + 1
        scored = self.__dict__.setdefault("_scored", {})
        if offset <= scored.get(tp, -1) and offset not in deferred:
            return "again"
        deferred.discard(offset)
        scored[tp] = offset
        return "score"

    def first_deferred(self, tp: TP) -> int | None:
        deferred = self.__dict__.get("_deferred", {}).get(tp)
        return min(deferred) if deferred else None

    def rewind_target(self, tp: TP) -> int | None:
        """Where ``rewind`` seeks: the first deferred message, or the committed offset if that is earlier — so
        everything between them is delivered (and acknowledged) again, as Faust's own seek would: a seek past
        them would leave offsets no message ever acknowledges, and the commit would wait on them for good."""
        deferred = self.__dict__.get("_deferred", {}).get(tp)
        if not deferred:
            return None
        first = min(deferred)
        committed = self._committed_offset.get(tp)
        return min(first, committed) if committed is not None else first

    def stall_target(self, tp: TP, expected: int | None) -> int | None:
        """Where a stalled partition is sought back to (adapters/partition_watch.py): the earliest of the first
        deferred message, the committed offset and the next expected one — so nothing unacknowledged is skipped.
        None: nothing known, only resume."""
        deferred = self.__dict__.get("_deferred", {}).get(tp)
        first = min(deferred) if deferred else None
        candidates = [o for o in (first, self._committed_offset.get(tp), expected) if o is not None]
        return min(candidates) if candidates else None

    def next_expected(self, tp: TP) -> int | None:
        return self.__dict__.get("_next", {}).get(tp)

    def gap_not_in_log(self, tp: TP, log_start: int) -> None:
        """The missing offsets of a jump lie before the log's start (retention deleted them): nothing to wait for;
        the partition goes on from ``log_start``."""
        deferred = self.__dict__.get("_deferred", {}).get(tp, set())
        deferred.difference_update([o for o in deferred if o < log_start])
        self.__dict__.setdefault("_next", {})[tp] = log_start

    async def rewind(self, tp: TP) -> None:
        """Fetch the partition again from ``rewind_target`` (after the recovery: see the module doc)."""
        target = self.rewind_target(tp)
        if target is not None:
            await self.seek(tp, target)

    async def on_partitions_revoked(self, revoked: AbstractSet[TP]) -> None:
        for tp in revoked:
            for name in ("_deferred", "_scored", "_next"):
                self.__dict__.get(name, {}).pop(tp, None)
        await super().on_partitions_revoked(revoked)

    def _new_offset(self, tp: TP) -> int | None:
        acked = self._acked[tp]
        if not acked:
            return None
        gaps = self._gap[tp]
        if gaps:
            top = max(acked)
            spans = sorted(gaps.overlap(0, top), key=lambda span: span.begin)
            if spans:
                filled = [offset for span in spans for offset in range(span.begin, span.end)]
                acked.extend(filled)
                gaps.chop(0, max(filled[-1], top + 1))
        committed = self._committed_offset[tp]
        deferred = self.__dict__.get("_deferred", {}).get(tp)
        if deferred and committed is not None:
            deferred.difference_update([o for o in deferred if o < committed])
        unique = sorted({offset for offset in acked if committed is None or offset >= committed})
        if deferred:  # everything from the first deferred offset on waits for it to be processed
            first = min(deferred)
            unique = [offset for offset in unique if offset < first]
        if not unique:
            acked.clear()
            return None
        if committed and unique[0] - committed > 1:  # the head is still in flight: nothing to commit yet
            acked[:] = unique
            return None
        batch = next(consecutive_numbers(unique))
        acked[:] = unique[len(batch):]
        self._acked_index[tp].difference_update(batch)
        return int(batch[-1]) + 1
