"""ingest.source_status.v1 — when ingest last heard from each source system (compacted, keyed by system code).

Ingest publishes one message per source system it has heard from since it started, every
``TSUNAGU_INGEST_SOURCE_STATUS_INTERVAL_S`` seconds. No personal data: a system code, times and counts only.
Casework keeps the newest ``last_event_time`` per system (it never goes backwards: an ingest restart, a second
ingest instance or a replayed older report does not make a source look older) and shows it to staff
(「データの鮮度」).
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.topics._catalogue import DAY_MS, TopicSpec

TOPIC = TopicSpec(
    name="ingest.source_status.v1", partitions=1, key="source system code (e.g. resident_registry)",
    compacted=True, description="Per source system: when ingest last accepted an event from it (freshness).",
    extra_config={"segment.ms": str(DAY_MS), "min.cleanable.dirty.ratio": "0.1"},
)
EVENT_TYPE = "ingest.source_status.reported"


class SourceStatusV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    system: str = Field(min_length=1, max_length=40, description="Source system code, the message key")
    last_event_time: AwareDatetime = Field(
        description="When the source handed over the newest event ingest accepted (its Kafka timestamp)")
    events_24h: int = Field(ge=0, description="Events from this system ingest accepted in the last 24 hours "
                                              "(counted by this ingest instance, since counted_since)")
    counted_since: AwareDatetime = Field(
        description="Start of the count: 24 h ago, or ingest's start when that is later (the count is then short)")
    silence_allowed_s: int | None = Field(
        None, ge=1, description="Expected cadence: silence longer than this needs checking "
                                "(contracts.sources.cadence)")
