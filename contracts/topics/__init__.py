"""The topic catalogue: every topic Tsunagu uses, created by ``tsunagu-topics`` (never auto-created)."""

from __future__ import annotations

from contracts.sources import SOURCE_SYSTEMS
from contracts.topics import (
    casework,
    evaluation_reports,
    ingest_deadletter,
    ingest_records,
    ingest_source_status,
    linkage_children,
    linkage_facts,
    linkage_review,
    privacy_deletions,
    privacy_disclosures,
    privacy_optouts,
    scoring_flags,
)
from contracts.topics._catalogue import DAY_MS, FORGET_WITHIN_DAYS, TopicSpec

SOURCE_TOPICS: list[TopicSpec] = [
    TopicSpec(name=s.topic, partitions=3, key="宛名番号 or student id (any stable key)", retention_ms=30 * DAY_MS,
              description=f"Events from {s.label_ja}")
    for s in SOURCE_SYSTEMS.values()
]

CATALOGUE: list[TopicSpec] = [
    *SOURCE_TOPICS,
    ingest_records.TOPIC,
    ingest_deadletter.TOPIC,
    ingest_source_status.TOPIC,
    linkage_facts.TOPIC,
    linkage_children.TOPIC,
    linkage_review.REVIEW_TOPIC,
    linkage_review.DECISION_TOPIC,
    scoring_flags.TOPIC,
    casework.ALERTS_TOPIC,
    casework.OUTCOMES_TOPIC,
    privacy_deletions.TOPIC,
    privacy_optouts.TOPIC,
    privacy_disclosures.REQUEST_TOPIC,
    privacy_disclosures.REPLY_TOPIC,
    evaluation_reports.TOPIC,
]

__all__ = ["CATALOGUE", "FORGET_WITHIN_DAYS", "SOURCE_TOPICS", "TopicSpec"]
