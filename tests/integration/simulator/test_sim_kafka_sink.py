"""The smoke scenario published to a real broker arrives on each system's topic, keyed, valid and complete."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from kafka import KafkaConsumer, TopicPartition

from contracts.envelope import Envelope
from contracts.sources import SOURCE_SYSTEMS, SYSTEM_BY_TOPIC
from simulator.cli import main
from simulator.smoke import smoke_events
from tests.kafka_reader import decode

pytestmark = pytest.mark.integration


def end_offsets(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
    offsets = consumer.end_offsets(partitions)
    consumer.close()
    return offsets


def read_since(bootstrap: str, offsets: dict[TopicPartition, int]) -> list[tuple[str, bytes, bytes]]:
    """What arrived after ``offsets``: the broker keeps earlier runs (and other producers) of the same ids."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=3000)
    consumer.assign(list(offsets))
    for tp, offset in offsets.items():
        consumer.seek(tp, offset)
    records = [(m.topic, m.key, m.value) for m in consumer]
    consumer.close()
    return records


def test_smoke_cli_publishes_every_event_to_its_topic(kafka_bootstrap: str) -> None:
    today = date(2026, 11, 27)
    ward = "40136"
    topics = sorted(s.topic for s in SOURCE_SYSTEMS.values())
    before = end_offsets(kafka_bootstrap, topics)
    assert main(["smoke", "--bootstrap", kafka_bootstrap, "--ward", ward, "--today", today.isoformat()]) == 0

    expected = {e.event_id: e for e in smoke_events(today, ward)}
    received = {}
    for topic, key, value in read_since(kafka_bootstrap, before):
        envelope = decode(value)  # other tests publish to the same topics, poison included: skip what is not ours
        if envelope is not None and envelope.get("id") in expected:
            model = SYSTEM_BY_TOPIC[topic].event_types[envelope["type"]]
            Envelope[model].model_validate(envelope)  # type: ignore[valid-type]
            received[envelope["id"]] = (topic, key.decode())
    assert set(received) == set(expected)
    for event_id, (topic, key) in received.items():
        assert (topic, key) == (expected[event_id].topic, expected[event_id].key)
    per_system = Counter(e.system for e in expected.values())
    assert per_system["resident_registry"] > 0 and set(per_system) <= set(SOURCE_SYSTEMS)
