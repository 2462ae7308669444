"""The scoring worker as a process over the real broker: facts in, flag changes out, state kept."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]
TODAY = "2026-06-01"


def _fact_envelope(child_id: str, fact_id: str, **overrides: object) -> bytes:
    fact = {
        "fact_id": fact_id, "child_id": child_id, "kind": "public_assistance", "relation": "household",
        "status": "asserted", "source_system": "public_assistance", "record_id": f"rec-{uuid.uuid4()}",
        "record_date": "2026-04-01", "valid_from": "2026-04-01", "valid_to": None,
        "attributes": {"case_no": "C-1", "start_date": "2026-04-01"},
    }
    fact.update(overrides)
    envelope = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/tsunagu/linkage",
                "type": "linkage.fact.changed", "time": "2026-06-01T09:00:00+09:00", "subject": child_id,
                "data": fact}
    return json.dumps(envelope).encode()


def _residence(child_id: str) -> bytes:
    return _fact_envelope(child_id, f"{child_id}-res", kind="residence", relation="self",
                          source_system="resident_registry", valid_from="2020-01-01",
                          attributes={"ward_code": "40133", "birth_date": "2019-05-01", "sex": "2"})


class Worker:
    def __init__(self, bootstrap: str, app_id: str, data_dir: Path) -> None:
        self.env = {**os.environ, "TSUNAGU_SCORING_KAFKA_BOOTSTRAP": bootstrap, "TSUNAGU_SCORING_APP_ID": app_id,
                    "TSUNAGU_SCORING_DATA_DIR": str(data_dir), "TSUNAGU_SCORING_METRICS_PORT": "0",
                    "TSUNAGU_SCORING_TODAY": TODAY, "TSUNAGU_SCORING_SWEEP_INTERVAL_SECONDS": "2"}
        self.log = data_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([sys.executable, "-m", "services.scoring.entrypoints.faust_app"],
                                     cwd=ROOT, env=self.env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def worker_factory(kafka_bootstrap: str, tmp_path: Path) -> Iterator[tuple[str, object]]:
    app_id = f"test-scoring-{uuid.uuid4().hex[:8]}"
    workers: list[Worker] = []

    def make() -> Worker:
        worker = Worker(kafka_bootstrap, app_id, tmp_path)
        workers.append(worker)
        return worker

    yield app_id, make
    for worker in workers:
        worker.stop(signal.SIGKILL)


def _collect(consumer: KafkaConsumer, children: set[str], until: int, timeout_s: float = 90) -> list[dict]:
    found: list[dict] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and len(found) < until:
        for records in consumer.poll(timeout_ms=500).values():
            for record in records:
                if record.key and record.key.decode() in children:
                    found.append(json.loads(record.value))
    return found


def test_household_public_assistance_raises_then_end_clears_and_state_survives_restart(
        kafka_bootstrap: str, worker_factory: tuple[str, object]) -> None:
    _app_id, make = worker_factory
    child = f"child-{uuid.uuid4().hex}"
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    consumer = KafkaConsumer("scoring.flags.v1", bootstrap_servers=kafka_bootstrap,
                             group_id=f"test-reader-{uuid.uuid4().hex[:8]}", auto_offset_reset="latest")
    consumer.poll(timeout_ms=100)
    while not consumer.assignment():
        consumer.poll(timeout_ms=200)
    consumer.seek_to_end()
    worker = make()  # type: ignore[operator]
    worker.start()

    # Step 1: the child lives in 中央区; the household starts 生活保護 → item 18 raised, with evidence.
    producer.send("linkage.facts.v1", key=child.encode(), value=_residence(child))
    producer.send("linkage.facts.v1", key=child.encode(), value=b"{not json")  # poison: counted, skipped
    producer.send("linkage.facts.v1", key=child.encode(), value=_fact_envelope(child, f"{child}-pa"))
    producer.flush()
    [raised] = _collect(consumer, {child}, until=1)
    assert raised["type"] == "scoring.flags.changed"
    data = raised["data"]
    assert data["raised_items"] == [18] and data["cleared_items"] == []
    assert data["ward_code"] == "40133" and data["before"] is None
    [flag] = data["after"]["flags"]
    assert flag["evidence"][0]["fact_id"] == f"{child}-pa"
    assert flag["evidence"][0]["source_system"] == "public_assistance"
    assert "生活保護" in flag["evidence"][0]["summary_ja"]

    # Step 2: a crash and a restart (the group waits out the dead member's session); the same fact
    # delivered again changes nothing, and the case ending before today clears the flag: exactly one message.
    worker.stop(signal.SIGKILL)
    worker = make()  # type: ignore[operator]
    worker.start()
    producer.send("linkage.facts.v1", key=child.encode(), value=_fact_envelope(child, f"{child}-pa"))
    producer.send("linkage.facts.v1", key=child.encode(),
                  value=_fact_envelope(child, f"{child}-pa", valid_to="2026-05-31"))
    producer.flush()
    messages = _collect(consumer, {child}, until=2, timeout_s=120)
    assert len(messages) == 1, "a redelivered fact must not publish again"
    cleared = messages[0]
    assert cleared["data"]["cleared_items"] == [18] and cleared["data"]["raised_items"] == []
    assert cleared["data"]["before"]["flags"][0]["item"] == 18
    assert cleared["data"]["after"]["flags"] == []
    worker.stop()
    producer.close()
    consumer.close()
