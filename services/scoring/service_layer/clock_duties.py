"""What the clock owes: the go-live hold, which partitions the daily sweep still has to do today,
and which children have had no new fact long enough to settle their absences (``absence_settle_seconds``).

The worker (entrypoints/worker.py) asks it on each clock tick and tells it what happened; the times
it is given are monotonic seconds, the days are the clock's ``today``. It does not know about rebalances:
the worker evaluates only the children of the partitions it holds, and stops a sweep at a rebalance."""

from __future__ import annotations

from collections.abc import Iterable, Set
from datetime import date


class ClockDuties:
    def __init__(self, publish_from: date | None = None, settle_after: float | None = None) -> None:
        self.publish_from = publish_from
        self.settle_after = settle_after  # None: absences wait for the next day's sweep
        self.swept_on: dict[int, date] = {}  # partition → the day it was last swept
        self.settling: dict[str, float] = {}  # child id → when its last fact arrived (only with settle_after)

    def holding(self, today: date) -> bool:
        """The go-live load: nothing is published before ``publish_from``, not by a fact, not by the clock."""
        return self.publish_from is not None and today < self.publish_from

    def due_for_sweep(self, today: date, actives: Set[int]) -> set[int]:
        """The active partitions not yet swept today (none while holding). A partition no longer active is
        forgotten, so it is swept again if it comes back."""
        if self.holding(today):
            return set()
        for partition in set(self.swept_on) - actives:
            del self.swept_on[partition]
        return {p for p in actives if self.swept_on.get(p) != today}

    def swept(self, partitions: Iterable[int], today: date) -> None:
        """The sweep of these partitions finished (an interrupted one is not reported: it is done again)."""
        self.swept_on.update(dict.fromkeys(partitions, today))

    def fact_arrived(self, child_id: str, now: float) -> None:
        """A fact for the child was handled: its absences settle once it has had none for ``settle_after``."""
        if self.settle_after is not None:
            self.settling[child_id] = now

    def ready_to_settle(self, today: date, now: float) -> list[str]:
        """The children whose last fact is ``settle_after`` old or older (none while holding). They stay listed
        until ``stop_settling``: the wiring takes them out one by one as it settles them."""
        if self.settle_after is None:
            return []
        quiet_since = now - self.settle_after
        ready = [child_id for child_id, last in self.settling.items() if last <= quiet_since]
        if not ready or self.holding(today):
            return []
        return ready

    def stop_settling(self, child_id: str) -> None:
        """The child is being settled, or was deleted: no settling is due for it until its next fact."""
        self.settling.pop(child_id, None)
