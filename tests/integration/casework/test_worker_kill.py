"""kill -9 in the middle of a stream of flags: after a restart every alert exists exactly once."""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaProducer
from sqlalchemy import func, select

from services.casework.adapters.orm import Alert
from services.casework.bootstrap import Container
from tests.integration.casework.processes import casework_env, running, start_group_at_end
from tests.kafka_reader import TopicReader
from tests.unit.casework.factories import flags_event, raw

pytestmark = pytest.mark.integration
WORKER = "services.casework.entrypoints.worker"
TOTAL = 400


def alert_count(container: Container, prefix: str) -> int:
    with container.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Alert).where(Alert.child_id.like(f"{prefix}%"))) or 0)


def wait_for(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_kill_9_mid_stream_loses_and_duplicates_nothing(kafka_bootstrap: str, pg_container: Container,
                                                        tmp_path: Path) -> None:
    prefix = f"kill-{uuid.uuid4().hex[:6]}-"
    env = casework_env(kafka_bootstrap, str(pg_container.settings.database_url), tmp_path,
                       TSUNAGU_CASEWORK_BATCH_MAX="20")
    start_group_at_end(kafka_bootstrap, env["TSUNAGU_CASEWORK_APP_ID"],
                       ["scoring.flags.v1", "linkage.children.v1", "linkage.review.v1"])
    alerts_topic = TopicReader(kafka_bootstrap, "casework.alerts.v1")
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    events = [raw(flags_event(f"{prefix}{n}", "40133", [], [17], tier_after="予防")) for n in range(TOTAL)]
    with running(WORKER, env, tmp_path / "worker1.log", "Worker ready") as worker:
        for n, event in enumerate(events):
            producer.send("scoring.flags.v1", key=f"{prefix}{n}".encode(), value=event)
            if n % 50 == 0:
                producer.send("scoring.flags.v1", key=b"poison", value=b'{"not": "an event"}')
        producer.flush()
        assert wait_for(lambda: alert_count(pg_container, prefix) >= 40, 60)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    done_before = alert_count(pg_container, prefix)
    with running(WORKER, env, tmp_path / "worker2.log", "Worker ready"):
        assert wait_for(lambda: alert_count(pg_container, prefix) >= TOTAL, 120), alert_count(pg_container, prefix)
        time.sleep(2)  # let the outbox relay drain
        seen: dict[str, int] = {}
        mine = alerts_topic.events(lambda e: str((e.get("data") or {}).get("child_id", "")).startswith(prefix),
                                   want=TOTAL, timeout_s=30)
        mine += alerts_topic.events(lambda e: str((e.get("data") or {}).get("child_id", "")).startswith(prefix),
                                    want=TOTAL, timeout_s=2)  # republished ids, if any, come soon after
        for event in mine:
            seen[event["data"]["alert_id"]] = seen.get(event["data"]["alert_id"], 0) + 1
    assert alert_count(pg_container, prefix) == TOTAL
    assert len(seen) == TOTAL  # every alert published; a re-publish after the kill keeps its id
    print(f"killed after {done_before}/{TOTAL}; republished ids: {sum(v - 1 for v in seen.values())}")
