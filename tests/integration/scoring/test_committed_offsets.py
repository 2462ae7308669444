"""Issue 20: scoring's committed offsets must follow the processed ones, so a restart does not re-read facts
the state (changelog) already holds. N facts in, the consumer group's committed offsets reach the end."""

from __future__ import annotations

import json
import signal
import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from tests.integration.scoring.worker import Worker, start_group_at_end

pytestmark = pytest.mark.integration

FACTS = "linkage.facts.v1"
N_CHILDREN = 150


def _fact(child_id: str, fact_id: str, kind: str, version: int, **attributes: object) -> bytes:
    data = {"fact_id": fact_id, "child_id": child_id, "kind": kind, "relation": "self", "status": "asserted",
            "source_system": "test", "record_id": f"rec-{uuid.uuid4()}", "record_date": "2026-04-01",
            "valid_from": "2026-04-01", "valid_to": None, "attributes": attributes, "version": version}
    return json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/tsunagu/linkage",
                       "type": "linkage.fact.changed", "time": "2026-06-01T09:00:00+09:00", "subject": child_id,
                       "data": data}).encode()


def _end_offsets(bootstrap: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)  # no group: only asks for offsets
    try:
        partitions = consumer.partitions_for_topic(FACTS) or set()
        ends = consumer.end_offsets([TopicPartition(FACTS, p) for p in partitions])
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        consumer.close()


def _committed(admin: KafkaAdminClient, group: str) -> dict[int, int]:
    offsets = admin.list_group_offsets(group).get(group, {})  # kafka-python 3's name for list_consumer_group_offsets
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == FACTS}


def test_committed_offsets_reach_the_end_of_what_was_processed(kafka_bootstrap: str, tmp_path: Path) -> None:
    app_id = f"test-scoring-commit-{uuid.uuid4().hex[:8]}"
    start_group_at_end(kafka_bootstrap, app_id)
    worker = Worker(kafka_bootstrap, app_id, tmp_path, today="2026-06-01")
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        worker.start()
        assert worker.wait_for_assignment(90), "the worker got no partitions"
        for n in range(N_CHILDREN):  # each child: residence, 生活保護 started, then ended → published changes
            child = f"commit-{n}-{uuid.uuid4().hex[:8]}"
            producer.send(FACTS, key=child.encode(), value=_fact(
                child, f"{child}-res", "residence", 1, ward_code="40133", birth_date="2015-05-01", sex="1"))
            producer.send(FACTS, key=child.encode(), value=_fact(child, f"{child}-pa", "public_assistance", 1,
                                                                 case_no="C1"))
        producer.flush()
        ends = _end_offsets(kafka_bootstrap)
        deadline = time.monotonic() + 45
        committed: dict[int, int] = {}
        while time.monotonic() < deadline:
            committed = _committed(admin, app_id)
            if all(committed.get(p, -1) >= end for p, end in ends.items() if end > 0):
                break
            time.sleep(1)
        lag = {p: end - committed.get(p, 0) for p, end in ends.items() if committed.get(p, 0) < end}
        assert not lag, f"committed offsets lag the end by {lag} (committed {committed}, ends {ends})"
    finally:
        worker.stop(signal.SIGTERM)
        producer.close()
        admin.close()
