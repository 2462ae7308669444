"""linkage.children.v1 — the current profile of each child (compacted), for casework's display.

Scoring does not read this topic: it receives what it needs as ``residence`` facts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.topics._catalogue import FORGET_WITHIN_DAYS, TopicSpec

TOPIC = TopicSpec(
    name="linkage.children.v1", partitions=6, key="child_id", compacted=True,
    description="Current child profile (name, birth date, ward, household).",
    # Deletion on request (docs/privacy.md): a deleted child's tombstone (null value) removes the earlier
    # profiles within a bounded time
    extra_config=FORGET_WITHIN_DAYS,
)
EVENT_TYPE = "linkage.child.changed"


class ChildProfileV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    child_id: str
    household_id: str | None = None
    name_kanji: str | None = None
    name_kana: str | None = None
    birth_date: str | None = None
    sex: Literal["1", "2"] | None = None
    ward_code: str | None = None
    ward_since: str | None = Field(
        None, description="Date from which ward_code applies (転入・転居 or birth date, ISO 8601): a reader keeps the "
                          "ward with the latest ward_since, whatever order messages arrive in",
    )
    address: str | None = None
    status: Literal["resident", "left", "merged"] = "resident"
    merged_into: str | None = Field(None, description="When merged, the surviving child id")
    version: int | None = Field(None, ge=1, description="Linkage's version of this child's profile: 1, 2, …")
