"""Freshness per source system: when each system was last heard from and how many events in the last 24 h.

Pure: times are passed in (Unix seconds). Counts go into hourly buckets by when ingest accepted the event, so
memory stays at 24 buckets per system; the last event time is the source's hand-over time (the Kafka timestamp)
and never moves backwards (replays and backfills bring older events).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

WINDOW_S = 24 * 3600
BUCKET_S = 3600


@dataclass(frozen=True)
class SourceActivity:
    system: str
    last_event_time: float  # Unix seconds: the newest source hand-over time accepted
    events_24h: int
    counted_since: float  # Unix seconds: the window's start, or when counting began if later


@dataclass
class _System:
    last_event_time: float = 0.0
    buckets: deque[list[int]] = field(default_factory=deque)  # [hour index, count], oldest first


class ActivityTracker:
    """What ingest has accepted per source system since ``started`` (one instance's view)."""

    def __init__(self, started: float) -> None:
        self.started = started
        self._systems: dict[str, _System] = {}

    def record(self, system: str, source_time: float, now: float, *, new_event: bool = True, events: int = 1) -> None:
        """The system was heard from; ``new_event=False`` (an event sent again) moves the time, not the count.
        ``events``: how many new events this stands for (the worker records a batch's events of one system at once,
        with the newest source time among them)."""
        state = self._systems.setdefault(system, _System())
        if source_time > state.last_event_time:
            state.last_event_time = source_time
        if not new_event or events <= 0:
            return
        hour = int(now // BUCKET_S)
        if state.buckets and state.buckets[-1][0] == hour:
            state.buckets[-1][1] += events
        else:
            state.buckets.append([hour, events])
        self._expire(state, now)

    def heard(self) -> int:
        """How many systems have been heard from."""
        return len(self._systems)

    def snapshot(self, now: float) -> list[SourceActivity]:
        """One entry per system heard from (none for a system never heard from: no news is not a report)."""
        out = []
        for system in sorted(self._systems):
            state = self._systems[system]
            self._expire(state, now)
            out.append(SourceActivity(system=system, last_event_time=state.last_event_time,
                                      events_24h=sum(count for _, count in state.buckets),
                                      counted_since=max(self.started, now - WINDOW_S)))
        return out

    @staticmethod
    def _expire(state: _System, now: float) -> None:
        oldest = int((now - WINDOW_S) // BUCKET_S) + 1  # whole hours inside the window (up to 1 h coarse)
        while state.buckets and state.buckets[0][0] < oldest:
            state.buckets.popleft()
