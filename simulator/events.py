"""A source event as the simulator emits it: one CloudEvents envelope bound for one source topic."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Any, NamedTuple

import orjson

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


@lru_cache(maxsize=65536)
def iso_date(ordinal: int) -> str:
    """ISO 8601 of an ordinal day, cached: a city's dates repeat a lot."""
    return date.fromordinal(ordinal).isoformat()


def stable_id(*parts: object) -> str:
    """A deterministic event id: the same scenario and the same parts give the same id on every run."""
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode(), digest_size=12).hexdigest()
    return f"sim-{digest}"


class SourceEvent(NamedTuple):
    """A tuple, because millions are made: cheap to create, immutable in its fields."""

    system: str
    type: str
    event_id: str
    time: datetime
    key: str
    data: dict[str, Any]

    @property
    def topic(self) -> str:
        return SOURCE_SYSTEMS[self.system].topic

    def encode(self) -> bytes:
        """The envelope as UTF-8 JSON, fast (orjson writes the aware time as RFC 3339)."""
        return orjson.dumps({
            "specversion": "1.0", "id": self.event_id, "source": _SOURCE_URIS[self.system], "type": self.type,
            "time": self.time, "subject": self.key, "datacontenttype": "application/json", "schemaversion": 1,
            "data": self.data})

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
