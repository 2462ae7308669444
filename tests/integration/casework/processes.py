"""Running casework's processes for tests (worker, web) with their own ports, group ids and database."""

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

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    """A port the OS has just handed out (two pytest-xdist workers never get the same one)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def casework_env(bootstrap: str, db_url: str, tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_CASEWORK_")}
    env.update({
        "TSUNAGU_CASEWORK_KAFKA_BOOTSTRAP": bootstrap, "TSUNAGU_CASEWORK_DATABASE_URL": db_url,
        "TSUNAGU_CASEWORK_APP_ID": f"cw-test-{uuid.uuid4().hex[:8]}", "TSUNAGU_CASEWORK_DATA_DIR": str(tmp / "faust"),
        "TSUNAGU_CASEWORK_METRICS_PORT": str(free_port()), "TSUNAGU_CASEWORK_ENVIRONMENT": "test",
        "TSUNAGU_CASEWORK_SESSION_SECRET": "test-secret-" + "x" * 20, "PYTHONUNBUFFERED": "1",
        "TSUNAGU_CASEWORK_KAFKA_SESSION_TIMEOUT_S": "10",
    })
    env.update(extra)
    return env


@contextmanager
def running(module: str, env: dict[str, str], log: Path, ready: str,
            timeout: float = 60) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + timeout
        while ready not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{module} did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_group_at_end(bootstrap: str, group_id: str, topics: list[str]) -> None:
    """Commits the end offsets for a new consumer group: it starts after the shared topics' history, and a
    restart after kill -9 resumes from the group's commits (never from "latest", which would skip)."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group_id, enable_auto_commit=False)
    try:
        parts = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or [])]
        ends = consumer.end_offsets(parts)
        consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in ends.items()})
    finally:
        consumer.close()
