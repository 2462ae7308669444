"""The scoring worker as a subprocess for integration tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
_ASSIGNED = re.compile(r"assigned linkage\.facts\.v1 partitions \[([0-9, ]*)\]")


class Worker:
    def __init__(self, bootstrap: str, app_id: str, data_dir: Path, *, today: str, metrics_port: int = 0,
                 settings: dict[str, str] | None = None) -> None:
        self.app_id = app_id  # also the consumer group
        self.env = {**os.environ, "TSUNAGU_SCORING_KAFKA_BOOTSTRAP": bootstrap, "TSUNAGU_SCORING_APP_ID": app_id,
                    "TSUNAGU_SCORING_METRICS_PORT": str(metrics_port), "TSUNAGU_SCORING_TODAY": today,
                    "TSUNAGU_SCORING_SWEEP_INTERVAL_SECONDS": "1",
                    **{f"TSUNAGU_SCORING_{k.upper()}": v for k, v in (settings or {}).items()}}
        self.log = data_dir / f"worker-{uuid.uuid4().hex[:6]}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "services.scoring.entrypoints.worker"],
                                     cwd=ROOT, env=self.env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)

    def assigned(self) -> set[int]:
        """The linkage.facts.v1 partitions of the worker's latest assignment, from its log."""
        found = _ASSIGNED.findall(self.log.read_text(errors="replace")) if self.log.exists() else []
        partitions: set[int] = set()
        for part in (found[-1].split(",") if found else []):
            if part.strip():
                partitions.add(int(part))
        return partitions

    def wait_for_assignment(self, timeout_s: float = 120) -> set[int]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (partitions := self.assigned()) and "Worker ready" in self.log.read_text(errors="replace"):
                return partitions
            time.sleep(1)
        return set()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_group_at_end(bootstrap: str, group: str, topics: str | list[str] = "linkage.facts.v1",
                       timeout_s: float = 90) -> None:
    """Commits a new group's offsets at the topics' current ends, so its worker skips what earlier tests (or runs,
    on a broker kept between runs) left. A fresh broker answers "coordinator not available" (its first group creates
    __consumer_offsets) or has no metadata yet for a few seconds: retried until ``timeout_s``, then it fails saying
    which group and why."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
    from kafka.errors import KafkaError
    from kafka.structs import OffsetAndMetadata

    names = [topics] if isinstance(topics, str) else list(topics)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            consumer = KafkaConsumer(bootstrap_servers=bootstrap)  # no group: only asks for offsets
            try:
                partitions = [TopicPartition(t, p) for t in names for p in consumer.partitions_for_topic(t) or ()]
                unknown = sorted(set(names) - {tp.topic for tp in partitions})
                if unknown:
                    raise KafkaError(f"no partitions known yet for {unknown}")
                ends = consumer.end_offsets(partitions)
            finally:
                consumer.close()
            admin = KafkaAdminClient(bootstrap_servers=bootstrap)
            try:
                admin.alter_group_offsets(group, {tp: OffsetAndMetadata(end, "", -1) for tp, end in ends.items()})
                return
            finally:
                admin.close()
        except KafkaError as exc:
            if time.monotonic() > deadline:
                raise AssertionError(f"could not commit group {group}'s starting offsets at the ends of {names} "
                                     f"within {timeout_s:.0f} s: {type(exc).__name__}: {exc}") from exc
            time.sleep(0.5)
