"""deploy/lag_exporter.py against the real broker: lag of a group that committed part of a topic, no membership."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "deploy"))

from lag_exporter import BrokerReader  # noqa: E402

pytestmark = pytest.mark.integration
TOPIC = "source.school-affairs.v1"  # a catalogue topic (auto-creation is off); only our own group is read


def test_lag_counts_what_the_group_has_not_committed(kafka_bootstrap: str) -> None:
    group = f"ops-lag-test-{uuid.uuid4().hex[:8]}"
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    sent = [producer.send(TOPIC, b"{}", key=b"ops-lag-test", partition=0) for _ in range(5)]
    producer.flush()
    end = sent[-1].get(timeout=30).offset + 1
    producer.close()
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    deadline = time.monotonic() + 30
    while True:  # the group coordinator may not be ready on a fresh broker
        try:
            admin.alter_group_offsets(group, {TopicPartition(TOPIC, 0): OffsetAndMetadata(end - 2, "", -1)})
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    reader = BrokerReader(kafka_bootstrap, group_prefixes=(group,))
    try:
        snap = reader.read()
    finally:
        reader.close()
        admin.close()
    assert snap.lag == {(group, TOPIC): 2}
    assert snap.end_offsets[TOPIC] >= end
    assert time.time() - snap.last_timestamp[TOPIC] < 120
