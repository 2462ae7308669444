"""Reports freshness per source system on ``ingest.source_status.v1`` (one keyed message per system heard from)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import orjson

from contracts.envelope import envelope_dict
from contracts.sources.cadence import SILENCE_ALLOWED_S
from contracts.topics.ingest_source_status import EVENT_TYPE, SourceStatusV1
from services.ingest.domain.freshness import ActivityTracker

STATUS_SOURCE = "/tsunagu/ingest"


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def status_messages(tracker: ActivityTracker, now: float,
                    silence_allowed: Mapping[str, int] = SILENCE_ALLOWED_S) -> list[tuple[bytes, bytes]]:
    """(key, value) per system heard from since ingest started; the key is the system code."""
    messages = []
    for activity in tracker.snapshot(now):
        data = SourceStatusV1(system=activity.system, last_event_time=_utc(activity.last_event_time),
                              events_24h=activity.events_24h, counted_since=_utc(activity.counted_since),
                              silence_allowed_s=silence_allowed.get(activity.system))
        body = envelope_dict(data=data, type_=EVENT_TYPE, source=STATUS_SOURCE, subject=activity.system,
                             time=_utc(now))
        messages.append((activity.system.encode(), orjson.dumps(body)))
    return messages
