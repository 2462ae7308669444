"""The ingest worker against a real broker: good events become records, poison becomes dead letters."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from contracts.topics.ingest_deadletter import DeadLetterHeaders
from services.ingest.examples import PAYLOADS, example_event, topic_of

pytestmark = pytest.mark.integration


def test_good_events_flow_and_poison_is_dead_lettered_with_original_bytes(
        kafka_bootstrap: str, tmp_path: Path, kit: Any) -> None:
    tag = uuid.uuid4().hex
    records_start = kit.end_offsets(kafka_bootstrap, "ingest.records.v1")
    dlq_start = kit.end_offsets(kafka_bootstrap, "ingest.deadletter.v1")
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    poison = [
        ("source.public-assistance.v1", f"{tag} not json".encode()),
        ("source.childcare.v1", b"\xff" + tag.encode()),
        ("source.disability.v1", json.dumps(example_event(
            "public_assistance.case.started", event_id=f"{tag}-wrong-system")).encode()),
        ("source.public-assistance.v1", json.dumps(example_event(
            "public_assistance.case.started", event_id=f"{tag}-era", start_date="平成32年1月1日")).encode()),
    ]
    # Every event type once, a poison event after every ninth, and one repeat that must be dropped.
    for i, event_type in enumerate(sorted(PAYLOADS)):
        event = json.dumps(example_event(event_type, event_id=f"{tag}-{i}")).encode()
        producer.send(topic_of(event_type), key=f"k{i}".encode(), value=event)
        if i % 9 == 0 and poison:
            topic, value = poison.pop()
            producer.send(topic, key=b"poison-key", value=value, headers=[("vendor-trace", b"t-1")])
    producer.send(topic_of("childcare.enrolment.started"), key=b"again",
                  value=json.dumps(example_event("childcare.enrolment.started",
                                                 event_id=f"{tag}-{sorted(PAYLOADS).index('childcare.enrolment.started')}")).encode())
    producer.flush()

    with kit.ingest_worker(kafka_bootstrap, tmp_path):
        records = kit.read_from(kafka_bootstrap, records_start, until=len(PAYLOADS) + 1, match=tag.encode(),
                            timeout_s=60)
        dead = kit.read_from(kafka_bootstrap, dlq_start, until=4, match=tag.encode(), timeout_s=30)

    ids = sorted(json.loads(value or b"")["id"] for _, value, _ in records)
    assert ids == sorted(f"{tag}-{i}" for i in range(len(PAYLOADS))), "each good event once, the repeat dropped"
    assert len(dead) == 4
    for key, value, headers in dead:
        dlq = DeadLetterHeaders.from_kafka(headers)
        assert key == b"poison-key"
        assert ("vendor-trace", b"t-1") in headers
        assert dlq.error_class in {"not_json", "invalid_encoding", "unknown_type", "invalid_value"}
        assert dlq.topic.startswith("source.") and dlq.offset >= 0
        assert value is not None and tag.encode() in value
    assert {DeadLetterHeaders.from_kafka(h).error_class for _, _, h in dead} == {
        "not_json", "invalid_encoding", "unknown_type", "invalid_value"}
