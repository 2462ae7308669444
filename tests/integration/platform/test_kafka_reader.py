"""The test and benchmark reader's whole-topic read (tests/kafka_reader.py ``TopicReader.to_end``) on the real
broker: every message up to the end offsets as they were at the call, across partitions, and nothing produced
after; a deadline it cannot meet is an error, never a shorter answer (pipeline_e2e's "final flags" at scale 1.0
were a 15-second prefix of scoring.flags.v1)."""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from tests.kafka_reader import TopicReader

pytestmark = pytest.mark.integration


def _topic(bootstrap: str, partitions: int) -> str:
    name = f"test.reader.{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    finally:
        admin.close()
    return name


def test_to_end_reads_every_message_up_to_the_end_at_the_call_and_nothing_after(kafka_bootstrap: str) -> None:
    topic = _topic(kafka_bootstrap, 3)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5)
    pad = b" " * 1000  # 3 MB a partition: several fetches each (1 MB a partition a fetch), so late ones are met
    for i in range(9_000):
        producer.send(topic, key=str(i % 97).encode(), value=str(i).encode() + pad)
    producer.flush()
    with TopicReader(kafka_bootstrap, topic, from_beginning=True) as reader:
        messages = reader.to_end(timeout_s=120)
        first = next(messages)
        for i in range(9_000, 12_000):  # after the call: not part of the answer
            producer.send(topic, key=str(i % 97).encode(), value=str(i).encode() + pad)
        producer.flush()
        values = sorted(int(m.value) for m in [first, *messages])
    producer.close()
    assert values == list(range(9_000))


def test_to_end_refuses_to_return_a_prefix(kafka_bootstrap: str) -> None:
    topic = _topic(kafka_bootstrap, 1)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for i in range(2_000):
        producer.send(topic, value=str(i).encode())
    producer.flush()
    producer.close()
    with TopicReader(kafka_bootstrap, topic, from_beginning=True) as reader, pytest.raises(TimeoutError):
        list(reader.to_end(timeout_s=0))
    with TopicReader(kafka_bootstrap, topic, from_beginning=True) as reader:
        assert len(list(reader.to_end(timeout_s=60))) == 2_000
