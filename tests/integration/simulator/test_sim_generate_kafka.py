"""A small city published to a real broker: every event on its system's topic, keyed, once per id."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from kafka import KafkaConsumer, TopicPartition

from contracts.sources import SOURCE_SYSTEMS
from simulator.generate import GenerateOptions, run_generate
from simulator.life.engine import SimConfig

pytestmark = pytest.mark.integration


def test_generate_publishes_the_city_to_its_topics(kafka_bootstrap: str, tmp_path) -> None:
    options = GenerateOptions(seed=21, scale=0.001, days=120, bootstrap=kafka_bootstrap, out=tmp_path / "e.jsonl",
                              progress=False)
    reports = run_generate(options)
    kafka_report = next(r for label, r in reports.items() if label.startswith("Kafka"))
    assert not kafka_report.failed and kafka_report.total > 3000

    run_id = SimConfig(seed=21, scale=0.001, days=120).run_id
    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False, consumer_timeout_ms=4000)
    topics = [s.topic for s in SOURCE_SYSTEMS.values()]
    consumer.assign([TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()])
    consumer.seek_to_beginning()
    seen: dict[str, tuple[str, str]] = {}
    for message in consumer:
        envelope = json.loads(message.value)
        if envelope["id"].startswith(run_id + "-"):
            assert message.key.decode() == envelope["subject"]
            seen[envelope["id"]] = (message.topic, envelope["type"])
    consumer.close()
    per_topic = Counter(topic for topic, _ in seen.values())
    assert per_topic == kafka_report.sent
    for topic, event_type in seen.values():
        assert SOURCE_SYSTEMS[event_type.split(".")[0]].topic == topic
