"""Encodes linkage's outputs as CloudEvents envelopes on their topics (validated against the contracts)."""

from __future__ import annotations

from datetime import datetime

import orjson
from pydantic import BaseModel

from contracts.envelope import envelope_dict
from contracts.topics import linkage_children, linkage_facts, linkage_review
from contracts.topics.ingest_deadletter import TOPIC as DEADLETTER
from contracts.topics.ingest_deadletter import DeadLetterHeaders
from contracts.topics.linkage_children import ChildProfileV1
from contracts.topics.linkage_facts import FactV1
from contracts.topics.linkage_review import ReviewCaseV1
from services.linkage.domain.identity import event_id_for
from services.linkage.service_layer.ports import Message
from services.linkage.service_layer.unit import Out

DEADLETTER_TOPIC = DEADLETTER.name
CHANNELS: dict[str, tuple[str, str, type[BaseModel]]] = {
    "fact": (linkage_facts.TOPIC.name, linkage_facts.EVENT_TYPE, FactV1),
    "child": (linkage_children.TOPIC.name, linkage_children.EVENT_TYPE, ChildProfileV1),
    "review": (linkage_review.REVIEW_TOPIC.name, "linkage.review.opened", ReviewCaseV1),
}


def encode(out: Out, source_uri: str, source_time: str | None = None) -> Message:
    """``source_time`` (facts only) is when the source handed over the event that caused the change; it is not
    part of the payload linkage compares and hashes, so a replay still produces the same event id."""
    topic, event_type, model = CHANNELS[out.channel]
    payload = {**out.payload, "source_time": source_time} if source_time and out.channel == "fact" else out.payload
    data = model.model_validate(payload)
    envelope = envelope_dict(
        data=data, type_=event_type, source=source_uri, subject=out.key,
        event_id=event_id_for(out.key, out.payload), time=datetime.fromisoformat(out.time),
    )
    return topic, out.key.encode(), orjson.dumps(envelope), {}


def dead_letter(value: bytes, key: bytes | None, reason: str, error_class: str, origin: tuple[str, int, int],
                event_id: str | None = None) -> Message:
    """The original bytes, untouched, to ingest.deadletter.v1 with the reason in headers (never a value)."""
    topic, partition, offset = origin
    headers = DeadLetterHeaders(reason=reason, error_class=error_class, topic=topic, partition=partition,
                                offset=offset, event_id=event_id, service="linkage")
    return DEADLETTER_TOPIC, key, value, {k: v.decode() for k, v in headers.to_kafka()}
