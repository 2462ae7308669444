"""Replays events to sinks: each sink takes the systems it is routed, in event time at a speed-up or as fast
as possible."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from simulator.events import SourceEvent
from simulator.sinks.base import SendReport, Sink


@dataclass
class Route:
    label: str
    sink: Sink
    systems: frozenset[str] | None = None  # None: every system

    def wants(self, system: str) -> bool:
        return self.systems is None or system in self.systems


class Pacer:
    """Keeps wall time ≈ event time / speed-up from the first event (0 or None: as fast as possible)."""

    def __init__(self, speedup: float | None, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.speedup = speedup or 0.0
        self.clock, self.sleep = clock, sleep
        self._origin: tuple[float, float] | None = None

    def wait_for(self, event: SourceEvent) -> None:
        if self.speedup <= 0:
            return
        t = event.time.timestamp()
        if self._origin is None:
            self._origin = (t, self.clock())
            return
        due = self._origin[1] + (t - self._origin[0]) / self.speedup
        delay = due - self.clock()
        if delay > 0:
            self.sleep(delay)


def replay(events: Iterable[SourceEvent], routes: list[Route], speedup: float | None = None,
           progress: Callable[[int], None] | None = None) -> dict[str, SendReport]:
    pacer = Pacer(speedup)
    by_system: dict[str, list[Route]] = {}
    n = 0
    try:
        for event in events:
            pacer.wait_for(event)
            targets = by_system.get(event.system)
            if targets is None:
                targets = by_system[event.system] = [r for r in routes if r.wants(event.system)]
            for route in targets:
                route.sink.send(event)
            n += 1
            if progress is not None and n % 1000 == 0:
                progress(1000)
    finally:
        reports = {route.label: route.sink.close() for route in routes}
    if progress is not None:
        progress(n % 1000)
    return reports
