"""The smoke scenario published to a real broker arrives on each system's topic, keyed, valid and complete."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pytest
from kafka import KafkaConsumer, TopicPartition

from contracts.envelope import Envelope
from contracts.sources import SOURCE_SYSTEMS, SYSTEM_BY_TOPIC
from simulator.cli import main
from simulator.smoke import smoke_events

pytestmark = pytest.mark.integration


def read_topics(bootstrap: str, topics: list[str]) -> list[tuple[str, bytes, bytes]]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=3000)
    partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
    consumer.assign(partitions)
    consumer.seek_to_beginning()
    records = [(m.topic, m.key, m.value) for m in consumer]
    consumer.close()
    return records


def test_smoke_cli_publishes_every_event_to_its_topic(kafka_bootstrap: str) -> None:
    today = date(2026, 11, 27)
    ward = "40136"
    assert main(["smoke", "--bootstrap", kafka_bootstrap, "--ward", ward, "--today", today.isoformat()]) == 0

    expected = {e.event_id: e for e in smoke_events(today, ward)}
    topics = sorted({e.topic for e in expected.values()})
    received = {}
    for topic, key, value in read_topics(kafka_bootstrap, topics):
        envelope = json.loads(value)
        if envelope["id"] in expected:
            model = SYSTEM_BY_TOPIC[topic].event_types[envelope["type"]]
            Envelope[model].model_validate(envelope)  # type: ignore[valid-type]
            received[envelope["id"]] = (topic, key.decode())
    assert set(received) == set(expected)
    for event_id, (topic, key) in received.items():
        assert (topic, key) == (expected[event_id].topic, expected[event_id].key)
    per_system = Counter(e.system for e in expected.values())
    assert per_system["resident_registry"] > 0 and set(per_system) <= set(SOURCE_SYSTEMS)
