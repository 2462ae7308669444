"""ingest.records.v1 — validated, normalised source records, minimal fields, for linkage.

Key: the record's primary 宛名番号, else ``student:<school>:<student id>``, so a person's records stay in order.

While ingest works through a backlog (source events that reached Tsunagu a while ago) it also writes a **progress
report** to every partition every few seconds (``PROGRESS_EVENT_TYPE``, ``ProgressV1``, key ``ingest-progress:<n>``
— never a person's key): how many source events it has not handled yet. Linkage reads it in order with the records
and passes the count on in its own reports on linkage.facts.v1, so that scoring can tell a backlog that shrinks
while ingest still runs ahead of linkage (docs/linkage.md, "Progress reports"). No personal data: counts, a time and
a random id. Live, ingest writes none.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.topics._catalogue import DAY_MS, TopicSpec
from contracts.topics._progress import ProgressV1 as ProgressV1  # the report's model, shared with linkage.facts.v1

TOPIC = TopicSpec(
    name="ingest.records.v1", partitions=6, key="宛名番号 or student:<school_code>:<student_id>",
    retention_ms=90 * DAY_MS, description="Validated, normalised source records (minimal fields).",
)
EVENT_TYPE = "ingest.record.accepted"
PROGRESS_EVENT_TYPE = "ingest.progress.reported"
PROGRESS_KEY_PREFIX = "ingest-progress:"

Role = Literal["subject", "mother", "child", "guardian", "household_head", "covered_child", "member"]
Scalar = str | int | float | bool | None


class PersonKeys(BaseModel):
    """How a record names a person: the original values and normalised matching keys."""

    model_config = ConfigDict(extra="ignore")

    role: Role = Field(description="The person's part in the record")
    atena_no: str | None = Field(None, description="宛名番号, half-width digits")
    student_id: str | None = None
    school_code: str | None = None
    name_kanji: str | None = Field(None, description="Original 氏名 (漢字)")
    name_kana: str | None = Field(None, description="Original 氏名 (カナ)")
    kanji_key: str | None = Field(None, description="NFKC, variant kanji folded, spaces removed")
    kana_key: str | None = Field(None, description="Full-width katakana, small kana and long vowels folded, no spaces")
    surname_kana_key: str | None = None
    given_kana_key: str | None = None
    birth_date: str | None = Field(None, description="ISO 8601 date")
    sex: Literal["1", "2"] | None = None
    address: str | None = Field(None, description="Address, NFKC")
    address_key: str | None = Field(None, description="Address folded for matching")
    ward_code: str | None = None
    postal_code: str | None = Field(None, description="7 digits, no hyphen")


class RecordV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    record_id: str = Field(description="The source event id (idempotency key)")
    system: str = Field(description="Source system id, e.g. public_assistance")
    event_type: str = Field(description="Source event type, e.g. public_assistance.case.started")
    occurred_at: str = Field(description="Source event time (RFC 3339)")
    source_time: str | None = Field(
        None, description="When the source system handed the event to Tsunagu: the Kafka timestamp of the source "
                          "message (RFC 3339). For operators' end-to-end latency; occurred_at is the business time")
    record_date: str | None = Field(None, description="The record's own business date (ISO 8601)")
    household_no: str | None = Field(None, description="世帯番号 when the record names a household")
    persons: list[PersonKeys] = Field(default_factory=list)
    attributes: dict[str, Scalar | list[str]] = Field(
        default_factory=dict, description="System-specific normalised fields (dates ISO 8601)")


# How ingest turns each source payload into ``persons``: source field → role. Every other field of the
# payload goes to ``attributes`` under its own name (dates as ISO 8601). For the person whose identity the
# payload itself carries (resident registry, school students), the role is "subject" and its name, birth
# date, sex, address, ward and postal code go into that PersonKeys, not into attributes.
PERSON_FIELDS: dict[str, dict[str, Role]] = {
    "resident_registry": {"atena_no": "subject"},
    "public_assistance": {"head_atena_no": "household_head"},
    "maternal_child_health": {"mother_atena_no": "mother", "child_atena_no": "child"},
    "child_allowance": {"recipient_atena_no": "guardian", "covered_atena_nos": "covered_child"},
    "special_child_allowance": {"recipient_atena_no": "guardian", "covered_atena_nos": "covered_child"},
    "single_parent_loans": {"recipient_atena_no": "guardian", "covered_atena_nos": "covered_child"},
    "childcare": {"child_atena_no": "subject"},
    "medical_subsidy": {"recipient_atena_no": "subject", "covered_atena_nos": "covered_child"},
    "disability": {"atena_no": "subject"},
    "long_term_care": {"atena_no": "member"},
    "school_students": {"student_id": "subject", "atena_no": "subject"},
    "school_affairs": {"student_id": "subject"},
    "school_surveys": {"student_id": "subject"},
    "school_aid": {"recipient_atena_no": "guardian", "covered_atena_nos": "covered_child"},
    "school_lunch_fees": {"atena_no": "subject", "student_id": "subject"},
    "child_guidance": {"child_atena_no": "subject"},
}
# In maternal_child_health the child is always role "child" (infant checkups included) and the mother "mother";
# facts about the child itself are attributed with relation "self", the mother's with relation "mother".
