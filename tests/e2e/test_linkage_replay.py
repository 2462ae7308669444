"""kill -9 during a replay, restart → the same identities as an uninterrupted run, and nothing left unsent."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from benchmarks.linkage_synth import add_students, build
from contracts.envelope import envelope_dict
from contracts.topics.ingest_records import EVENT_TYPE, RecordV1
from services.linkage.adapters.store import SqliteStore
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.state import LinkageState
from services.linkage.service_layer.records import handle_record
from services.linkage.service_layer.unit import Change
from tests.e2e.services import free_port

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
METRICS_PORT = free_port()  # the test reads the worker's metrics: a port of its own


def records_for(tag: int) -> list[RecordV1]:
    pop = build(400, seed=tag, atena_base=700_000_000_000_000 + tag * 1_000_000)
    add_students(pop, seed=tag, prefix=f"e2e{tag}-")
    return pop.registry_records() + [rec for rec, _ in pop.students]


def uninterrupted(records: list[RecordV1]) -> dict[str, str]:
    state = LinkageState()
    for rec in records:
        handle_record(rec, Change(state, rec.occurred_at), MatchSettings())
    return dict(state.key_owner.items())


def publish(bootstrap: str, topic: str, records: list[RecordV1]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20)
    for rec in records:
        key = rec.persons[0].atena_no or "students"  # school records on one partition: their order is the test's
        event = envelope_dict(data=rec, type_=EVENT_TYPE, source="/tsunagu/ingest", subject=None,
                              event_id=rec.record_id)
        producer.send(topic, key=key.encode(), value=json.dumps(event, ensure_ascii=False).encode())
    producer.flush()
    producer.close()


def own_topic(bootstrap: str, name: str) -> str:
    """A records topic for this run alone, so the registry size (the match prior) is exactly ours."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(name=name, num_partitions=6, replication_factor=1)])
    finally:
        admin.close()
    return name


def wait_processed(worker: subprocess.Popen[bytes], count: float, log: Path, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while processed_count() < count and time.monotonic() < deadline:
        assert worker.poll() is None, log.read_text()[-3000:]
        time.sleep(0.02)  # the worker handles ≈ 200 of these records in 0.2 s: a longer poll killed it too late
    assert processed_count() >= count, "the worker fell behind:\n" + log.read_text()[-3000:]


def processed_count() -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/metrics", timeout=2) as response:
            text = response.read().decode()
    except OSError:
        return 0.0
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("tsunagu_linkage_records_processed_total{"))


def test_kill_9_during_replay_then_restart_gives_the_same_identities(kafka_bootstrap: str, tmp_path: Path) -> None:
    tag = random.randint(10, 99)
    registry, students = split_records(records_for(tag))
    expected = uninterrupted(registry + students)
    topic = own_topic(kafka_bootstrap, f"e2e.linkage-replay-{uuid.uuid4().hex[:8]}.records")
    env = {**os.environ, "TSUNAGU_LINKAGE_KAFKA_BOOTSTRAP": kafka_bootstrap, "PYTHONPATH": str(ROOT),
           "TSUNAGU_LINKAGE_APP_ID": f"linkage-e2e-{uuid.uuid4().hex[:8]}", "TSUNAGU_LINKAGE_LOG_LEVEL": "warn",
           "TSUNAGU_LINKAGE_DATA_DIR": str(tmp_path / "linkage"), "TSUNAGU_LINKAGE_METRICS_PORT": str(METRICS_PORT),
           "TSUNAGU_LINKAGE_BATCH_SIZE": "50", "TSUNAGU_LINKAGE_RECORDS_TOPIC": topic}
    log_path = tmp_path / "worker.log"
    log = log_path.open("ab")

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "services.linkage.entrypoints.worker"], cwd=ROOT,
                                env=env, stdout=log, stderr=subprocess.STDOUT)

    # the registry first (as in a city: residents are registered long before a school file arrives)
    worker = start()
    publish(kafka_bootstrap, topic, registry)
    wait_processed(worker, len(registry), log_path)
    publish(kafka_bootstrap, topic, students)
    wait_processed(worker, len(registry) + len(students) / 3, log_path)
    worker.send_signal(signal.SIGKILL)  # mid-replay, no goodbye
    worker.wait(timeout=30)
    at_kill = SqliteStore(env_url(tmp_path)).loaded()
    assert sum(1 for s in students if s.record_id in at_kill.processed) < len(students), "killed too late"

    worker = start()
    try:
        deadline = time.monotonic() + 300
        done: dict[str, str] = {}
        while time.monotonic() < deadline:
            time.sleep(3)
            done = {k: v for k, v in SqliteStore(env_url(tmp_path)).loaded().key_owner.items() if k in expected}
            if done == expected:
                break
        assert done == expected, f"{sum(1 for k in expected if done.get(k) != expected[k])} keys differ"
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    assert SqliteStore(env_url(tmp_path)).pending() == [], "messages left in the outbox"


def split_records(records: list[RecordV1]) -> tuple[list[RecordV1], list[RecordV1]]:
    return ([r for r in records if r.system == "resident_registry"],
            [r for r in records if r.system != "resident_registry"])


def env_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'linkage' / 'linkage.db'}"
