"""The real broker: topics come from the catalogue, never from auto-creation."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaError

from contracts.admin import create_topics
from contracts.topics import CATALOGUE

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def test_catalogue_topics_exist_with_their_partitions_and_cleanup_policy(kafka_bootstrap: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        described = {t["name"]: t for t in admin.describe_topics([t.name for t in CATALOGUE])}
        for spec in CATALOGUE:
            assert len(described[spec.name]["partitions"]) == spec.partitions, spec.name
        # kafka-python 3: {"topic": {name: {config: {"value": ...}}}}
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t.name) for t in CATALOGUE])
        for spec in CATALOGUE:
            entries = configs["topic"][spec.name]
            assert entries["cleanup.policy"]["value"] == ("compact" if spec.compacted else "delete"), spec.name
            assert entries["retention.ms"]["value"] == spec.config()["retention.ms"], spec.name
    finally:
        admin.close()


def test_creating_topics_again_changes_nothing(kafka_bootstrap: str) -> None:
    assert create_topics(kafka_bootstrap) == []


def test_the_broker_does_not_auto_create_topics(kafka_bootstrap: str) -> None:
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, max_block_ms=3000)
    try:
        with pytest.raises(KafkaError):
            producer.send("no.such.topic.v1", b"x").get(timeout=5)
    finally:
        producer.close()
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        assert "no.such.topic.v1" not in admin.list_topics()
    finally:
        admin.close()


@pytest.mark.skipif(not (ROOT / "deploy/kafka/.jars/.complete").exists(), reason="broker jars not fetched")
def test_broker_script_starts_twice_and_recovers_from_a_stale_data_directory(tmp_path: Path) -> None:
    env = {**os.environ, "KAFKA_PORT": "19892", "KAFKA_DATA_DIR": str(tmp_path / "kafka")}
    script = str(ROOT / "deploy/kafka/kafka.sh")
    try:
        subprocess.run([script, "start"], env=env, check=True, capture_output=True, timeout=120)
        second = subprocess.run([script, "start"], env=env, check=True, capture_output=True, text=True, timeout=60)
        assert "already running" in second.stdout
        subprocess.run([script, "stop"], env=env, check=True, capture_output=True, timeout=60)
        # A data directory formatted for another listener is stale: the script reformats instead of failing.
        (tmp_path / "kafka/data/.tsunagu").write_text("# port=1\n")
        subprocess.run([script, "start"], env=env, check=True, capture_output=True, timeout=120)
        assert subprocess.run([script, "status"], env=env, capture_output=True).returncode == 0
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=60)
