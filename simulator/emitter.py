"""Collects a scenario's events in order, giving each a deterministic id and an event time on its date."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from simulator.events import SourceEvent, event_time, stable_id
from simulator.payloads import Data


@dataclass
class Emitter:
    namespace: str
    events: list[SourceEvent] = field(default_factory=list)

    def emit(self, event_type: str, day: date, key: str, data: Data) -> SourceEvent:
        system = event_type.split(".", 1)[0]
        n = len(self.events)
        # Offices record changes in working hours; the sequence number keeps same-day events in order.
        event = SourceEvent(system=system, type=event_type, event_id=stable_id(self.namespace, n),
                            time=event_time(day, 9 * 3600 + n), key=key, data=data)
        self.events.append(event)
        return event
