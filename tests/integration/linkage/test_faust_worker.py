"""The linkage worker as a process against the real broker: records in, child profiles and facts out,
restart keeps identities and re-sends nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from contracts.envelope import envelope_dict
from contracts.topics.ingest_records import EVENT_TYPE, RecordV1
from services.linkage.domain.identity import atena_key, person_id_for
from tests.kafka_reader import TopicReader
from tests.unit.linkage.factories import assistance, resident

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def _send(bootstrap: str, records: list[RecordV1]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for rec in records:
        envelope = envelope_dict(data=rec, type_=EVENT_TYPE, source="/tsunagu/ingest", subject=None,
                                 event_id=rec.record_id)
        producer.send("ingest.records.v1", key=(rec.persons[0].atena_no or "").encode(),
                      value=json.dumps(envelope, ensure_ascii=False).encode())
    producer.flush()
    producer.close()


def _collect(reader: TopicReader, child_ids: set[str], want: int, timeout_s: float) -> list[dict]:
    return reader.events(lambda e: isinstance(e.get("data"), dict) and e["data"].get("child_id") in child_ids,
                         want, timeout_s)


@pytest.fixture
def worker_env(kafka_bootstrap: str, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "TSUNAGU_LINKAGE_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "TSUNAGU_LINKAGE_APP_ID": f"linkage-it-{uuid.uuid4().hex[:8]}",
            "TSUNAGU_LINKAGE_DATA_DIR": str(tmp_path / "linkage"), "TSUNAGU_LINKAGE_METRICS_PORT": "0",
            "TSUNAGU_LINKAGE_LOG_LEVEL": "warn", "PYTHONPATH": str(ROOT)}


def _start(env: dict[str, str], tmp_path: Path) -> subprocess.Popen[bytes]:
    log = (tmp_path / "worker.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "services.linkage.entrypoints.worker"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)


@pytest.fixture
def consumer(kafka_bootstrap: str) -> Iterator[TopicReader]:
    # from the topics' end now, before the worker starts; only this test's child is kept
    with TopicReader(kafka_bootstrap, "linkage.facts.v1", "linkage.children.v1") as reader:
        yield reader


def test_worker_links_a_household_and_survives_a_restart(kafka_bootstrap: str, worker_env: dict[str, str],
                                                         consumer: TopicReader, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    child_atena, head_atena, household = f"9{tag}1", f"9{tag}2", f"H{tag}"
    child_id = person_id_for(atena_key(child_atena))
    records = [
        resident(head_atena, household, birth="1988-02-01", reason="initial_load", record_id=f"it-{tag}-1"),
        resident(child_atena, household, birth="2021-03-03", record_id=f"it-{tag}-2"),
        assistance("started", f"C{tag}", household, head_atena, "2025-05-01"),
    ]
    worker = _start(worker_env, tmp_path)
    try:
        _send(kafka_bootstrap, records)
        events = _collect(consumer, {child_id}, want=3, timeout_s=180)
        kinds = sorted(e["data"].get("kind", "profile") for e in events)
        assert kinds == ["profile", "public_assistance", "residence"], (tmp_path / "worker.log").read_text()[-3000:]
        assert {e["type"] for e in events} == {"linkage.fact.changed", "linkage.child.changed"}
    finally:
        worker.terminate()
        worker.wait(timeout=60)

    # restart on the same data dir, replay the same records: nothing new; then a change flows again
    worker = _start(worker_env, tmp_path)
    try:
        _send(kafka_bootstrap, records)
        _send(kafka_bootstrap, [assistance("ended", f"C{tag}", household, head_atena, "2025-09-30")])
        events = _collect(consumer, {child_id}, want=1, timeout_s=180)
        events += _collect(consumer, {child_id}, want=1, timeout_s=3)  # and nothing more
        assert [(e["data"]["kind"], e["data"]["valid_to"]) for e in events] == [
            ("public_assistance", "2025-09-30")]
    finally:
        worker.terminate()
        worker.wait(timeout=60)
