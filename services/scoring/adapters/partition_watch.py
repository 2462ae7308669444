"""Notices an assigned partition that has facts waiting and delivers none: a fetch that stopped.

After a rebalance, Faust (0.15) can leave an assigned partition that never fetches again — the worker logs
"Worker ready", the partition has lag, and no message of it reaches the agent (faust-streaming issues #629, #166:
a partition left out of the consumer's active set, or paused, across a rebalance). Nothing in Faust notices: the
children of that partition would never be scored, and a flagged child would never reach a ward. This watch notices
it from outside Faust's internals — the partition's end offset (asked of the broker) is past the next offset the
worker expects (where the assignment started, then the highest offset delivered + 1: never the commits, which can
run past messages a fetch skipped), and no message of it has reached the agent for ``stall_after_s`` — and the
worker then resumes the partition and seeks it back (entrypoints/faust_app.py); a message delivered again that
was scored already is not scored twice (adapters/faust_consumer.py).

Pure bookkeeping, no I/O: the worker tells it what was assigned, seen and resumed, and asks which are stalled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

P = TypeVar("P")  # a topic-partition (Faust's TP in the worker; anything hashable in tests)


@dataclass
class _Progress:
    next_offset: int | None  # the offset the worker expects next: the baseline (the committed offset the
                             # assignment starts from), then the highest delivered + 1; None: not known yet
    since: float             # when it last made progress (a message, the assignment, a resume)


@dataclass(frozen=True)
class Stall(Generic[P]):
    tp: P
    expected: int | None  # the next offset the worker expects (None: nothing seen)
    end: int              # the partition's end offset at the broker
    idle_s: float         # how long no message of it reached the agent


class PartitionWatch(Generic[P]):
    def __init__(self, stall_after_s: float) -> None:
        if stall_after_s <= 0:
            raise ValueError("stall_after_s must be positive")
        self.stall_after_s = stall_after_s
        self._progress: dict[P, _Progress] = {}

    def assigned(self, tps: Iterable[P], now: float, *, rebalanced: bool = False) -> None:
        """The partitions assigned now (the rest are forgotten); a partition newly assigned starts its clock, and
        after a rebalance every partition does (the recovery and the seek take their time)."""
        keep = set(tps)
        for tp in list(self._progress):
            if tp not in keep:
                del self._progress[tp]
        for tp in keep:
            progress = self._progress.setdefault(tp, _Progress(None, now))
            if rebalanced:  # the consumer starts again from the committed offset: a new baseline
                progress.since, progress.next_offset = now, None

    def seen(self, tp: P, offset: int, now: float) -> None:
        """A message of ``tp`` reached the agent (scored, deferred or delivered again: the fetch works)."""
        progress = self._progress.get(tp)
        if progress is None:
            self._progress[tp] = _Progress(offset + 1, now)
            return
        progress.since = now
        if progress.next_offset is None or offset + 1 > progress.next_offset:
            progress.next_offset = offset + 1

    def committed(self, tp: P, offset: int | None) -> None:
        """The group's committed offset for ``tp``, where an assignment starts: the baseline while nothing of it was
        delivered. Later commits do not move the expected offset — a commit past messages the agent never saw
        (a fetch that jumped ahead) must not hide them."""
        progress = self._progress.get(tp)
        if progress is not None and offset is not None and progress.next_offset is None:
            progress.next_offset = offset

    def resumed(self, tp: P, now: float, sought_to: int | None = None) -> None:
        """The worker acted on a stall (and sought the partition to ``sought_to``): give the partition a full period
        before it counts as stalled again, expecting what the seek delivers."""
        progress = self._progress.get(tp)
        if progress is not None:
            progress.since = now
            if sought_to is not None:
                progress.next_offset = sought_to

    def stalled(self, ends: Mapping[P, int], now: float) -> list[Stall[P]]:
        """The assigned partitions with messages past the expected offset and none delivered for long enough.
        A partition never seen and never committed counts as behind whenever its end offset is above 0."""
        stalls = []
        for tp, progress in self._progress.items():
            end = ends.get(tp)
            if end is None:
                continue
            behind = end > (progress.next_offset or 0)
            idle = now - progress.since
            if behind and idle >= self.stall_after_s:
                stalls.append(Stall(tp, progress.next_offset, end, idle))
        return stalls
