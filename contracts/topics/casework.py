"""casework.alerts.v1 (alerts raised for a ward) and casework.outcomes.v1 (workflow steps, for evaluation)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from contracts.topics._catalogue import DAY_MS, TopicSpec

ALERTS_TOPIC = TopicSpec(
    name="casework.alerts.v1", partitions=3, key="child_id", retention_ms=365 * DAY_MS,
    description="Alerts raised for a ward (push-support targets).",
)
OUTCOMES_TOPIC = TopicSpec(
    name="casework.outcomes.v1", partitions=3, key="case_id", retention_ms=5 * 365 * DAY_MS,
    description="Screening workflow steps and outcomes, for evaluation (評価・検証).",
)


class AlertV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    alert_id: str
    child_id: str
    ward_code: str
    raised_at: str
    tier: str | None
    items: list[int]
    reason: str = Field(description="entered_tier / high_weight_flag / moved_ward")
    source_time: str | None = Field(
        None, description="When the source system handed the event that caused this alert to Tsunagu: the "
                          "source message's Kafka timestamp (RFC 3339); absent when no source event caused "
                          "it (a profile, the clock). For operators' end-to-end latency")


class CaseOutcomeV1(BaseModel):
    model_config = ConfigDict(extra="ignore")

    case_id: str
    child_id: str
    ward_code: str
    step: str
    result: str | None = None
    items_at_listing: list[int] = Field(default_factory=list)
    recorded_at: str
    actor_role: str
