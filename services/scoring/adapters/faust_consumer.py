"""Faust's consumer with one change: the offset it commits counts every acknowledged offset once.

Faust (0.15.3) commits the end of the first run of consecutive offsets in its list of acknowledged offsets.
Where the input skips offsets (transaction markers, compaction, a seek past a position), it fills the skipped
ranges into that list — ranges that end with the offset whose arrival revealed the gap, which is acknowledged
(and listed) again when processed. Each such duplicate ends a "run", so with gaps between messages every commit
advances by about one message while processing runs ahead: after a kill -9 the worker re-reads thousands of
facts its state (the changelog) already holds (issue 20). Here the list is made a set before the run is taken,
and offsets below the committed one are dropped; the at-least-once rule is Faust's: nothing past an offset
that is neither acknowledged nor a known gap.

It also never commits past a message the worker *deferred*: one that reached the agent while a rebalance was
recovering the state table (see ``handle_event`` in entrypoints/faust_worker.py). Faust acknowledges every message
the agent iterates over, processed or not; the deferred offset stays out of the commit until the seek that ends
the recovery delivers it again and it is processed.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

from faust.transport.drivers.aiokafka import Consumer
from faust.types import TP
from faust.utils.functional import consecutive_numbers


class GapSafeConsumer(Consumer):
    _deferred: dict[TP, set[int]]

    def defer(self, tp: TP, offset: int) -> None:
        """A message seen but not processed (the state was recovering): never commit past it."""
        self.__dict__.setdefault("_deferred", {}).setdefault(tp, set()).add(offset)

    def processed(self, tp: TP, offset: int) -> None:
        deferred = self.__dict__.get("_deferred", {}).get(tp)
        if deferred:
            deferred.discard(offset)

    async def on_partitions_revoked(self, revoked: AbstractSet[TP]) -> None:
        for tp in revoked:
            self.__dict__.get("_deferred", {}).pop(tp, None)
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
