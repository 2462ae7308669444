"""Helpers for ingest's broker tests: run the worker as a process, read what it wrote."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

ROOT = Path(__file__).resolve().parents[3]
# A consumer group of its own per test module (pytest-xdist may run two modules at once; a commit from outside
# into a group with live members fails), started at the end of every source topic by ``skip_to_end``: the
# broker's history (benchmarks publish hundreds of thousands of events) is not the module's to process.
TEST_APP_ID = f"tsunagu-ingest-test-{uuid.uuid4().hex[:8]}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def ingest_worker(bootstrap: str, data_dir: Path, app_id: str | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """The real entrypoint, as operators start it; stopped with SIGTERM, killed if it hangs."""
    env = {**os.environ, "TSUNAGU_INGEST_KAFKA_BOOTSTRAP": bootstrap,
           "TSUNAGU_INGEST_APP_ID": app_id or TEST_APP_ID,
           "TSUNAGU_INGEST_DATA_DIR": str(data_dir), "TSUNAGU_INGEST_METRICS_PORT": str(free_port()),
           "TSUNAGU_INGEST_LOG_LEVEL": "warn"}
    log = (data_dir / "worker.log").open("ab")
    proc = subprocess.Popen([sys.executable, "-m", "services.ingest.entrypoints.worker"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def end_offsets(bootstrap: str, topic: str) -> dict[TopicPartition, int]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return dict(consumer.end_offsets(partitions))
    finally:
        consumer.close()


def read_from(bootstrap: str, start: dict[TopicPartition, int], until: int, timeout_s: float = 60.0,
              match: bytes = b"", quiet_s: float = 0.0,
              ) -> list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]]:
    """Messages after ``start`` whose value contains ``match``, until ``until`` of them or the timeout; then
    ``quiet_s`` more seconds to catch any extra one (a duplicate must show, without waiting out the timeout)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    consumer.assign(list(start))
    for tp, offset in start.items():
        consumer.seek(tp, offset)
    found: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = []
    deadline, settling = time.monotonic() + timeout_s, False
    try:
        while time.monotonic() < deadline:
            if len(found) >= until and not settling:
                deadline, settling = min(deadline, time.monotonic() + quiet_s), True
                if quiet_s <= 0:
                    break
            for batch in consumer.poll(timeout_ms=300).values():
                found.extend((m.key, m.value, list(m.headers)) for m in batch if match in (m.value or b""))
        return found
    finally:
        consumer.close()


def skip_to_end(bootstrap: str, group: str) -> None:
    """Commits the group's offsets at the end of every source topic, so a worker starts from now."""
    from contracts.sources import SOURCE_SYSTEMS

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(s.topic, p) for s in SOURCE_SYSTEMS.values()
                      for p in consumer.partitions_for_topic(s.topic) or ()]
        consumer.assign(partitions)
        ends = consumer.end_offsets(partitions)
        from kafka.structs import OffsetAndMetadata

        consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in ends.items()})
    finally:
        consumer.close()


class KafkaKit:
    """The helpers above as one fixture (test modules here cannot import each other by name)."""

    free_port = staticmethod(free_port)
    skip_to_end = staticmethod(skip_to_end)
    ingest_worker = staticmethod(ingest_worker)
    end_offsets = staticmethod(end_offsets)
    read_from = staticmethod(read_from)


@pytest.fixture
def kit() -> KafkaKit:
    return KafkaKit()
