"""privacy.optouts.v1 — opt-outs (利用停止) and their withdrawal: the child is left out of screening while active.

Casework publishes the child's current opt-out state (through its outbox) when a privacy officer records an
opt-out or its withdrawal (docs/privacy.md). Scoring consumes it: while ``active`` it publishes no flags for the
child (its facts still update the state), and on withdrawal it re-evaluates the child and publishes what changed.

Compacted, keyed by child id: the latest value per child is its state, so a consumer rebuilding from the beginning
meets every child's current opt-out. A deletion (削除) writes a tombstone (null value) for the child. Six
partitions, **co-partitioned with linkage.facts.v1** (same key, same default partitioner): scoring's instance that
holds a child's state reads the child's opt-out. No names and no free text: casework's reason stays in casework.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.topics._catalogue import FORGET_WITHIN_DAYS, TopicSpec

TOPIC = TopicSpec(
    name="privacy.optouts.v1", partitions=6, key="child_id", compacted=True,
    description="Opt-outs (利用停止) and withdrawals: the child's current state; null = deleted.",
    # a deleted child's tombstone removes its earlier values within a bounded time (as linkage.children.v1)
    extra_config=FORGET_WITHIN_DAYS,
)
EVENT_TYPE = "privacy.optout.changed"


class OptOutV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    child_id: str = Field(description="The child (an internal id, never a name)")
    active: bool = Field(description="True: opted out, screen nothing; False: withdrawn, screen again")
    since: str = Field(description="The day the opt-out was requested (ISO date)")
    until: str | None = Field(None, description="The day it was withdrawn (ISO date); None while active")
    requested_by: Literal["本人", "保護者", "法定代理人"] = Field(description="Who asked (a code, not a name)")
    reason_code: Literal["request", "withdrawal"] = Field(
        description="request: an opt-out on request (APPI 利用停止); withdrawal: the person withdrew it. Casework's "
                    "free-text reason is never published")
    changed_at: str = Field(description="When casework recorded this state (RFC 3339): a reader keeps the latest")
