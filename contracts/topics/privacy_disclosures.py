"""privacy.disclosures.v1 and privacy.disclosure_replies.v1 — disclosure (開示): what linkage and scoring hold about
a child, asked by casework and answered by each service over Kafka (docs/privacy.md).

Casework publishes a ``DisclosureRequestV1`` (through its outbox) when a privacy officer asks for a disclosure.
Requests are keyed by child id on **six partitions, co-partitioned with linkage.facts.v1** (same key, same default
partitioner): scoring's instance that holds the child's state reads the request for it; linkage (one active
instance) reads them all. Each service answers with one ``DisclosureReplyV1`` on the replies topic (keyed by the
request id): what it holds **for that child and no other** — the source facts by source system and date, and the
entries of its own records (identity and keys in linkage; current items, tier and opt-out in scoring). A service
that holds nothing answers ``held=false``. Casework's worker stores the replies; the report shows each part with
when it was answered. Both topics are deleted by time (30 days): casework keeps what the report needs.
"""

from __future__ import annotations

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contracts.envelope import Envelope, envelope_dict
from contracts.topics._catalogue import DAY_MS, TopicSpec

REQUEST_TOPIC = TopicSpec(
    name="privacy.disclosures.v1", partitions=6, key="child_id", retention_ms=30 * DAY_MS,
    description="Disclosure requests (開示): the services that hold a child's data answer on "
                "privacy.disclosure_replies.v1. Co-partitioned with linkage.facts.v1.",
)
REPLY_TOPIC = TopicSpec(
    name="privacy.disclosure_replies.v1", partitions=3, key="request_id", retention_ms=30 * DAY_MS,
    description="Answers to disclosure requests: what linkage and scoring hold about the child, for casework.",
)
REQUEST_EVENT_TYPE = "privacy.disclosure.requested"
REPLY_EVENT_TYPE = "privacy.disclosure.answered"

Service = Literal["linkage", "scoring"]
ANSWERING: tuple[Service, ...] = ("linkage", "scoring")  # every service asked; casework answers from its database
Scalar = str | int | float | bool | None
# A reply stays well under Kafka's default 1 MB message size: a service leaves out its oldest facts beyond this
# and says how many (``omitted_facts``); the officer then asks the service's operator for the rest.
MAX_REPLY_BYTES = 800_000  # below casework's worker's 1,000,000-byte limit on an input message


class DisclosureRequestV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    request_id: str = Field(description="Casework's id of the disclosure request (a reply names it)")
    child_id: str = Field(description="The child (an internal id, never a name)")
    requested_at: str = Field(description="When the privacy officer asked (RFC 3339)")
    services: list[Service] = Field(default_factory=lambda: list(ANSWERING), description="Who is asked to answer")


class HeldFactV1(BaseModel):
    """One source fact a service holds for the child, as the source system said it."""

    model_config = ConfigDict(extra="ignore")

    source_system: str = Field(description="The source system (contracts/sources), e.g. public_assistance")
    kind: str = Field(description="The fact's kind (linkage.facts.v1 FactKind)")
    relation: str = Field(description="self, or whose fact it is: mother / household / guardian (第三者の情報)")
    record_date: str | None = Field(None, description="Business date of the source record (ISO 8601)")
    valid_from: str | None = None
    valid_to: str | None = None
    attributes: dict[str, Scalar] = Field(default_factory=dict, description="What the source record says")


class HeldEntryV1(BaseModel):
    """One entry of a service's own records about the child (an identity field, a key, a current item …)."""

    model_config = ConfigDict(extra="ignore")

    section: str = Field(description="A heading, in Japanese (e.g. 本人の記録, 現在の判定)")
    label: str = Field(description="What the entry is, in Japanese")
    value: str = Field(description="Its value, as text")


class DisclosureReplyV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    request_id: str
    child_id: str = Field(description="The child of the request: a reply about another child is refused")
    service: Service
    answered_at: str = Field(description="When the service answered (RFC 3339)")
    held: bool = Field(description="False: the service holds nothing about the child")
    facts: list[HeldFactV1] = Field(default_factory=list)
    entries: list[HeldEntryV1] = Field(default_factory=list)
    omitted_facts: int = Field(0, ge=0, description="Facts left out to keep the message under MAX_REPLY_BYTES")


def decode_request(value: bytes | None) -> DisclosureRequestV1 | None:
    """A request in its CloudEvents envelope (as casework's relay sends it) or plain; None when it is neither."""
    if not value:
        return None
    try:
        event = Envelope[DisclosureRequestV1].model_validate_json(value)
    except ValidationError:
        try:
            return DisclosureRequestV1.model_validate_json(value)
        except ValidationError:
            return None
    return event.data if event.type == REQUEST_EVENT_TYPE else None


def _date_of(fact: HeldFactV1) -> str:
    return fact.record_date or fact.valid_from or fact.valid_to or ""


def reply_message(reply: DisclosureReplyV1, source: str) -> tuple[bytes, bytes]:
    """(key, value) of the reply on REPLY_TOPIC: its CloudEvents envelope, keyed by the request id. Facts are listed
    by date; when the message would exceed MAX_REPLY_BYTES the oldest go and ``omitted_facts`` counts them."""
    facts = sorted(reply.facts, key=_date_of)
    omitted = 0
    while True:
        data = reply.model_copy(update={"facts": facts[omitted:], "omitted_facts": reply.omitted_facts + omitted})
        value = json.dumps(envelope_dict(data=data, type_=REPLY_EVENT_TYPE, source=source, subject=reply.child_id,
                                         event_id=f"{reply.request_id}:{reply.service}", time=reply.answered_at),
                           ensure_ascii=False).encode()
        if len(value) <= MAX_REPLY_BYTES or omitted >= len(facts):
            return reply.request_id.encode(), value
        omitted = max(omitted + 1, omitted + (len(facts) - omitted) // 10)
