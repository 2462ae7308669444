"""The review CLI against the real broker: an open case is listed, a decision is sent and closes it."""

from __future__ import annotations

import json
import uuid

import pytest
from kafka import KafkaProducer

from contracts.envelope import envelope_dict
from contracts.topics.linkage_review import ReviewCaseV1
from services.linkage.adapters.review_topics import KafkaReviewTopics
from services.linkage.entrypoints import review_cli

pytestmark = pytest.mark.integration


def test_a_listed_case_is_closed_by_a_decision(kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TSUNAGU_LINKAGE_KAFKA_BOOTSTRAP", kafka_bootstrap)
    review_id = f"cli-{uuid.uuid4().hex}"
    case = ReviewCaseV1(review_id=review_id, record_id="r-1", system="school_students", candidate_person_id="p-1",
                        reason="uncertain_match", match_weight=1.5, match_probability=0.74)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    producer.send("linkage.review.v1", key=review_id.encode(), value=json.dumps(envelope_dict(
        data=case, type_="linkage.review.opened", source="/test", subject=review_id)).encode()).get(timeout=30)
    producer.close()

    assert review_id in {c.review_id for c in KafkaReviewTopics(kafka_bootstrap).open_cases()}
    assert review_cli.main(["decide", review_id, "cannot_link", "--by", "u-001", "--reason", "different child"]) == 0
    assert f"sent cannot_link for {review_id}" in capsys.readouterr().out
    assert review_id not in {c.review_id for c in KafkaReviewTopics(kafka_bootstrap).open_cases()}
