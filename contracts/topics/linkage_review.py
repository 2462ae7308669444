"""linkage.review.v1 (uncertain pairs with evidence) and linkage.decisions.v1 (human decisions)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.topics._catalogue import DAY_MS, TopicSpec

REVIEW_TOPIC = TopicSpec(
    name="linkage.review.v1", partitions=1, key="review_id", retention_ms=365 * DAY_MS,
    description="Pairs linkage could not decide, with field-by-field evidence.",
)
DECISION_TOPIC = TopicSpec(
    name="linkage.decisions.v1", partitions=1, key="review_id", compacted=True,
    description="Human must-link / cannot-link / split decisions (persisted, re-applied).",
)


class FieldComparison(BaseModel):
    field: str
    record_value: str | None
    candidate_value: str | None
    agreement: str = Field(description="exact / fuzzy / disagree / missing")
    weight: float = Field(description="log2 Bayes factor contributed")


class ReviewCaseV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    review_id: str
    record_id: str
    system: str
    candidate_person_id: str | None
    reason: str
    match_weight: float
    match_probability: float
    comparisons: list[FieldComparison] = Field(default_factory=list)
    status: Literal["open", "decided"] = "open"
    decision: Literal["must_link", "cannot_link"] | None = Field(
        None, description="With status decided: what linkage settled it as (absent from older messages: cannot_link, "
                          "the record is a new person; must_link: the child it belongs to arrived in the registry)")


class ReviewDecisionV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    review_id: str
    decision: Literal["must_link", "cannot_link", "split"]
    record_id: str | None = None
    person_id: str | None = None
    decided_by: str = Field(description="User id of the reviewer (not a name)")
    decided_at: str
    reason: str = Field(max_length=500)
