"""ingest.deadletter.v1 — every rejected source event, its original bytes untouched.

The record value is the original bytes; the reason travels in headers (the Kafka Connect convention),
so a replay re-publishes exactly what the source sent. No personal data in the reason text.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from contracts.topics._catalogue import DAY_MS, TopicSpec

TOPIC = TopicSpec(
    name="ingest.deadletter.v1", partitions=1, key="the original key", retention_ms=365 * DAY_MS,
    description="Rejected source events with reason headers; replayable.",
)

H_REASON = "tsunagu.dlq.reason"
H_ERROR_CLASS = "tsunagu.dlq.error_class"
H_TOPIC = "tsunagu.dlq.topic"
H_PARTITION = "tsunagu.dlq.partition"
H_OFFSET = "tsunagu.dlq.offset"
H_EVENT_ID = "tsunagu.dlq.event_id"
H_SERVICE = "tsunagu.dlq.service"
H_SYSTEM = "tsunagu.dlq.system"


class DeadLetterHeaders(BaseModel):
    reason: str = Field(description="Precise reason, e.g. 'data.birth_date: impossible date'; never a value")
    error_class: str = Field(description="not_json | invalid_envelope | unknown_type | invalid_data | "
                                         "invalid_encoding | too_large | unknown_system | invalid_value | "
                                         "internal_error")
    topic: str
    partition: int
    offset: int
    event_id: str | None = None
    service: str = "ingest"
    system: str | None = None

    def to_kafka(self) -> list[tuple[str, bytes]]:
        pairs = {
            H_REASON: self.reason, H_ERROR_CLASS: self.error_class, H_TOPIC: self.topic,
            H_PARTITION: str(self.partition), H_OFFSET: str(self.offset), H_SERVICE: self.service,
        }
        if self.event_id:
            pairs[H_EVENT_ID] = self.event_id
        if self.system:
            pairs[H_SYSTEM] = self.system
        return [(k, v.encode()) for k, v in pairs.items()]

    @classmethod
    def from_kafka(cls, headers: list[tuple[str, bytes]] | None) -> DeadLetterHeaders:
        h = {k: v.decode() for k, v in (headers or [])}
        return cls(
            reason=h.get(H_REASON, ""), error_class=h.get(H_ERROR_CLASS, ""), topic=h.get(H_TOPIC, ""),
            partition=int(h.get(H_PARTITION, "-1")), offset=int(h.get(H_OFFSET, "-1")),
            event_id=h.get(H_EVENT_ID), service=h.get(H_SERVICE, "ingest"), system=h.get(H_SYSTEM),
        )
