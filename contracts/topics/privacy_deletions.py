"""privacy.deletions.v1 — deletion requests (削除): every service forgets the child named here.

Casework publishes one event when it has deleted a child's data on a person's request (docs/privacy.md).
Linkage and scoring consume it, delete the child from their own state and write tombstones (null values keyed by
the child id) to the compacted topics they own (linkage.children.v1, …), so those topics forget the child too.
Not compacted: a consumer that rebuilds its state from the beginning must see every deletion again.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.topics._catalogue import DAY_MS, TopicSpec

TOPIC = TopicSpec(
    name="privacy.deletions.v1", partitions=3, key="child_id", compacted=False, retention_ms=10 * 365 * DAY_MS,
    description="Deletion requests (削除): consumers delete the child from their state and tombstone their "
                "compacted topics.",
)
EVENT_TYPE = "privacy.person.deleted"


class DeletionRequestV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    request_id: str = Field(description="The deletion's id in casework's register (idempotency: same id, same request)")
    child_id: str = Field(description="The child to forget (an internal id, never a name)")
    scope: Literal["child"] = Field("child", description="What is deleted: the child's own data and the facts "
                                                         "held for the child")
    requested_by: Literal["本人", "保護者", "法定代理人"]
    requested_at: str = Field(description="When casework carried out the deletion (RFC 3339)")
    deleted_in: list[str] = Field(default_factory=lambda: ["casework"],
                                  description="Services that have already deleted the child")
