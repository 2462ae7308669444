"""Two casework workers in one consumer group on one PostgreSQL database, one of them stopped half-way: the alerts
are exactly those one worker makes of the same messages, and each alert leaves on casework.alerts.v1 once."""

from __future__ import annotations

import re
import signal
import uuid
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer
from sqlalchemy import select

from services.casework.adapters.orm import Alert
from services.casework.bootstrap import Container
from services.casework.service_layer.worker import WorkerHandlers
from tests.integration.casework.containers import FakeClock, make_container
from tests.integration.casework.processes import casework_env, running, start_group_at_end
from tests.kafka_reader import TopicReader, wait_until
from tests.unit.casework.factories import flags_event, raw

pytestmark = pytest.mark.integration
WORKER = "services.casework.entrypoints.worker"
CHILDREN = 180
INPUTS = ["scoring.flags.v1", "linkage.children.v1", "linkage.review.v1"]


def story(child: str, n: int) -> list[dict[str, Any]]:
    """A child's flags in their order: raised; for some a higher tier; for some a move to another ward."""
    ward = ("40131", "40132", "40133", "40134")[n % 4]
    events = [flags_event(child, ward, [], [17], tier_after="予防", event_id=f"{child}-1")]
    if n % 3 == 0:
        events.append(flags_event(child, ward, [17], [9, 17], tier_before="予防", tier_after="重点",
                                  event_id=f"{child}-2"))
    if n % 4 == 1:
        items = [9, 17] if n % 3 == 0 else [17]
        events.append(flags_event(child, "40135", items, items, tier_before="予防", tier_after="予防",
                                  event_id=f"{child}-3"))
    return events


def alert_rows(container: Container, prefix: str) -> set[tuple[Any, ...]]:
    with container.sessions() as s:
        return {(a.alert_id, a.child_id, a.ward_code, a.tier, tuple(a.items), a.reason, a.state)
                for a in s.scalars(select(Alert).where(Alert.child_id.like(f"{prefix}%")))}


def assigned(log: Path) -> int:
    """Partitions the worker holds now (its last 'N partitions assigned' line)."""
    found = re.findall(r"(\d+) partitions assigned", log.read_text(errors="replace"))
    return int(found[-1]) if found else 0


def test_two_workers_split_the_partitions_and_make_the_alerts_one_makes(
        kafka_bootstrap: str, pg_container: Container, tmp_path: Path) -> None:
    prefix = f"so-{uuid.uuid4().hex[:6]}-"
    stories = [story(f"{prefix}{n:03d}", n) for n in range(CHILDREN)]
    reference = make_container(f"sqlite:///{tmp_path}/one.db", FakeClock())
    try:
        one = WorkerHandlers(reference)
        for events in stories:
            for event in events:
                one.process("flags", raw(event), where="reference")
        expected = alert_rows(reference, prefix)
    finally:
        reference.engine.dispose()
    assert len(expected) >= CHILDREN  # every child alerted, some more than once (escalated, moved)

    env = casework_env(kafka_bootstrap, str(pg_container.settings.database_url), tmp_path,
                       TSUNAGU_CASEWORK_BATCH_MAX="20")
    start_group_at_end(kafka_bootstrap, env["TSUNAGU_CASEWORK_APP_ID"], INPUTS)
    alerts_topic = TopicReader(kafka_bootstrap, "casework.alerts.v1")
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    rounds = max(len(events) for events in stories)

    def send_round(r: int) -> None:
        for events in stories:
            if r < len(events):
                child = events[r]["data"]["child_id"]
                producer.send("scoring.flags.v1", key=child.encode(), value=raw(events[r]))
        producer.flush()

    env_a = {**env, "TSUNAGU_CASEWORK_METRICS_PORT": "0"}
    env_b = {**env, "TSUNAGU_CASEWORK_METRICS_PORT": "0"}
    log_a, log_b = tmp_path / "worker-a.log", tmp_path / "worker-b.log"
    with running(WORKER, env_a, log_a, "Worker ready") as worker_a, running(WORKER, env_b, log_b, "Worker ready"):
        wait_until(lambda: assigned(log_a) > 0 and assigned(log_b) > 0, 60, "both workers holding partitions")
        held = (assigned(log_a), assigned(log_b))
        send_round(0)
        wait_until(lambda: len(alert_rows(pg_container, prefix)) >= CHILDREN, 90, f"{CHILDREN} first alerts")
        worker_a.send_signal(signal.SIGTERM)  # leaves the group; the other takes its partitions over
        for r in range(1, rounds):
            send_round(r)
        assert worker_a.wait(timeout=30) == 0
        wait_until(lambda: alert_rows(pg_container, prefix) == expected, 90,
                   f"the {len(expected)} alert rows one worker makes of the same messages")
        # every publication, with time for a late second copy to show (want is never reached)
        mine = alerts_topic.events(lambda e: str((e.get("data") or {}).get("child_id", "")).startswith(prefix),
                                   want=10 * len(expected), timeout_s=8)
    print(f"partitions held at the start: {held}; alerts {len(expected)}; publications {len(mine)}")
    assert {e["data"]["alert_id"] for e in mine} == {row[0] for row in expected}, "published alerts differ"
    event_ids = [e["id"] for e in mine]
    assert len(event_ids) == len(set(event_ids)), f"{len(event_ids) - len(set(event_ids))} events published twice"
