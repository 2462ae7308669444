"""A source event as the simulator emits it: one CloudEvents envelope bound for one source topic."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from contracts.sources import SOURCE_SYSTEMS

JST = timezone(timedelta(hours=9), "JST")


def source_uri(system: str) -> str:
    """``source.resident-registry.v1`` → ``/fukuoka/resident-registry``."""
    topic = SOURCE_SYSTEMS[system].topic
    return "/fukuoka/" + topic.split(".")[1]


_SOURCE_URIS = {name: source_uri(name) for name in SOURCE_SYSTEMS}


def event_time(day: date, seconds_into_day: int = 9 * 3600) -> datetime:
    """A business date turned into an aware timestamp in JST (offices record changes in working hours)."""
    return datetime.combine(day, time(), JST) + timedelta(seconds=seconds_into_day)


def stable_id(*parts: object) -> str:
    """A deterministic event id: the same scenario and the same parts give the same id on every run."""
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=12).hexdigest()
    return f"sim-{digest}"


@dataclass(frozen=True, slots=True)
class SourceEvent:
    system: str
    type: str
    event_id: str
    time: datetime
    key: str
    data: dict[str, Any]

    @property
    def topic(self) -> str:
        return SOURCE_SYSTEMS[self.system].topic

    def envelope(self) -> dict[str, Any]:
        return {
            "specversion": "1.0",
            "id": self.event_id,
            "source": _SOURCE_URIS[self.system],
            "type": self.type,
            "time": self.time.isoformat(),
            "subject": self.key,
            "datacontenttype": "application/json",
            "schemaversion": 1,
            "data": self.data,
        }
