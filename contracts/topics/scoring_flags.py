"""scoring.flags.v1 — a child's flags, score and tier, emitted only when they change, with before and after."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from contracts.topics._catalogue import DAY_MS, TopicSpec
from contracts.vocabulary import Tier

TOPIC = TopicSpec(
    name="scoring.flags.v1", partitions=6, key="child_id", retention_ms=365 * DAY_MS,
    description="Changes of a child's flags (19 items), score and tier, with evidence.",
)
EVENT_TYPE = "scoring.flags.changed"

Scalar = str | int | float | bool | None


class EvidenceV1(BaseModel):
    fact_id: str
    fact_kind: str
    source_system: str
    relation: str
    record_date: str | None
    summary_ja: str = Field(description="What the fact says, in words a ward worker can check at the source")
    values: dict[str, Scalar] = Field(default_factory=dict)


class FlagV1(BaseModel):
    item: int = Field(ge=1, le=19, description="基本連携データ項目 number")
    label_ja: str
    rule_version: str
    raised_on: str = Field(description="Date the flag's condition became true (ISO 8601)")
    detail_ja: str = Field("", description="Why, in one sentence")
    evidence: list[EvidenceV1] = Field(default_factory=list)


class SignalV1(BaseModel):
    """行政とのつながり: one of the city's own connection signals (not a guideline item), with its evidence."""

    code: str = Field(description="unenrolled (未就園) / known_to_guidance (児童相談所が関与中) / moved_in "
                                  "(市外からの転入) / no_contact (行政との接点なし)")
    label_ja: str
    rule_version: str
    raised_on: str = Field(description="Date the signal's condition became true (ISO 8601)")
    detail_ja: str = ""
    evidence: list[EvidenceV1] = Field(default_factory=list)


class AssessmentV1(BaseModel):
    flags: list[FlagV1] = Field(default_factory=list)
    signals: list[SignalV1] = Field(
        default_factory=list, description="Connection signals (行政とのつながり) beside the 19 items; absent = none")
    score: float = 0.0
    tier: Tier | None = None
    supported_by_child_guidance: bool = Field(False, description="児童相談所が支援中 (from 児童相談)")


class ChildFlagsV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    child_id: str
    ward_code: str | None
    ward_since: str | None = Field(
        None, description="Date from which ward_code applies (the residence fact's valid_from), to order it against "
                          "linkage.children.v1's ward_since",
    )
    as_of: str = Field(description="Date the flags were evaluated for (ISO 8601)")
    rules_version: str
    weights_version: str
    before: AssessmentV1 | None
    after: AssessmentV1
    raised_items: list[int] = Field(default_factory=list)
    cleared_items: list[int] = Field(default_factory=list)
    source_time: str | None = Field(
        None, description="When the source system handed the event that caused this change to Tsunagu: the "
                          "source message's Kafka timestamp (RFC 3339); absent when no source event caused "
                          "it (the clock). For operators' end-to-end latency")
