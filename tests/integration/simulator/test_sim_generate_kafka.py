"""A small city published to a real broker through the batch sink: every event on its system's topic, keyed,
on the partition Kafka's default partitioner gives the key, once per id."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.partitioner.default import murmur2

from contracts.sources import SOURCE_SYSTEMS
from simulator.generate import GenerateOptions, run_generate
from simulator.life.engine import SimConfig
from simulator.sinks.jsonl import read_jsonl

pytestmark = pytest.mark.integration


def test_generate_publishes_the_city_to_its_topics(kafka_bootstrap: str, tmp_path) -> None:
    seed = int(time.time()) % 1_000_000  # a run of its own: the broker keeps earlier runs' events
    options = GenerateOptions(seed=seed, scale=0.001, days=120, bootstrap=kafka_bootstrap, out=tmp_path / "e.jsonl",
                              progress=False)
    reports = run_generate(options)
    kafka_report = next(r for label, r in reports.items() if label.startswith("Kafka"))
    assert not kafka_report.failed and kafka_report.total > 3000

    expected = {line["value"]["id"]: line["topic"] for line in read_jsonl(tmp_path / "e.jsonl")}
    run_id = SimConfig(seed=seed, scale=0.001, days=120).run_id
    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False, consumer_timeout_ms=4000)
    topics = [s.topic for s in SOURCE_SYSTEMS.values()]
    consumer.assign([TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()])
    consumer.seek_to_beginning()
    seen: dict[str, tuple[str, str]] = {}
    for message in consumer:
        # The topics are shared with other tests, some of which publish poison on purpose: skip what is not ours.
        try:
            envelope = json.loads(message.value)
        except ValueError:
            continue
        if isinstance(envelope, dict) and str(envelope.get("id", "")).startswith(run_id + "-"):
            assert message.key.decode() == envelope["subject"]
            # the partition Kafka's default partitioner (and kafka-python's) would choose for the key
            count = len(consumer.partitions_for_topic(message.topic))
            assert message.partition == (murmur2(message.key) & 0x7FFFFFFF) % count
            seen[envelope["id"]] = (message.topic, envelope["type"])
    consumer.close()
    assert {i: topic for i, (topic, _) in seen.items()} == expected
    assert Counter(expected.values()) == kafka_report.sent
    for topic, event_type in seen.values():
        assert SOURCE_SYSTEMS[event_type.split(".")[0]].topic == topic
