"""The review topics read and written from outside the worker (the review CLI): open cases, a decision sent."""

from __future__ import annotations

import json
from typing import Any

from kafka import KafkaConsumer, KafkaProducer

from contracts.envelope import envelope_dict
from contracts.topics.linkage_review import DECISION_TOPIC, REVIEW_TOPIC, ReviewCaseV1, ReviewDecisionV1

DECISION_SOURCE = "/tsunagu/linkage/review-cli"


class KafkaReviewTopics:
    def __init__(self, bootstrap: str, security: dict[str, Any] | None = None) -> None:
        self._bootstrap, self._security = bootstrap, security or {}

    def open_cases(self) -> list[ReviewCaseV1]:
        """Every case on linkage.review.v1 without a decision on linkage.decisions.v1 (both read from the start)."""
        decided = set()
        for event in self._read_all(DECISION_TOPIC.name):
            data = event.get("data", event)
            if "review_id" in data:
                decided.add(data["review_id"])
        cases: dict[str, ReviewCaseV1] = {}
        for event in self._read_all(REVIEW_TOPIC.name):
            case = ReviewCaseV1.model_validate(event.get("data", event))
            if case.review_id not in decided:
                cases[case.review_id] = case
        return list(cases.values())

    def send_decision(self, decision: ReviewDecisionV1) -> None:
        """To linkage.decisions.v1 in its envelope; returns once the broker has it."""
        envelope = envelope_dict(data=decision, type_="linkage.review.decided", source=DECISION_SOURCE,
                                 subject=decision.review_id)
        producer = KafkaProducer(bootstrap_servers=self._bootstrap, **self._security)
        try:
            producer.send(DECISION_TOPIC.name, key=decision.review_id.encode(),
                          value=json.dumps(envelope, ensure_ascii=False).encode()).get(timeout=30)
        finally:
            producer.close()

    def _read_all(self, topic: str) -> list[dict[str, Any]]:
        consumer = KafkaConsumer(topic, bootstrap_servers=self._bootstrap, auto_offset_reset="earliest",
                                 enable_auto_commit=False, group_id=None, consumer_timeout_ms=3000, **self._security)
        try:
            return [json.loads(m.value) for m in consumer]
        finally:
            consumer.close()
