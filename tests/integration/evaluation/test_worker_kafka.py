"""The evaluation worker over a real broker: listings, steps and flags in, the store filled once, poison skipped."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata
from prometheus_client import CollectorRegistry

from services.evaluation.adapters.repository import load_cases, load_children
from services.evaluation.bootstrap import bootstrap
from services.evaluation.config import EvaluationSettings
from services.evaluation.metrics import EvaluationMetrics
from tests.kafka_reader import wait_until

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
TOPICS = ["casework.alerts.v1", "casework.outcomes.v1", "scoring.flags.v1"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_group_at_end(bootstrap_servers: str, group_id: str) -> None:
    """The worker's own group starts after the shared topics' history (this is the worker's group, not a reader)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers, group_id=group_id, enable_auto_commit=False)
    try:
        parts = [TopicPartition(t, p) for t in TOPICS for p in sorted(consumer.partitions_for_topic(t) or [])]
        consumer.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in consumer.end_offsets(parts).items()})
    finally:
        consumer.close()


def _event(type_: str, data: dict[str, object], when: str = "2026-09-01T09:00:00+09:00") -> bytes:
    return json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/test", "type": type_,
                       "time": when, "datacontenttype": "application/json", "schemaversion": 1, "data": data},
                      ensure_ascii=False).encode()


def test_worker_fills_the_store_once(kafka_bootstrap: str, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    child, case_id = f"ev-child-{run}", f"ev-case-{run}"
    db_url = f"sqlite:///{tmp_path}/evaluation.db"
    group = f"ev-test-{run}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_EVALUATION_")}
    env.update({"TSUNAGU_EVALUATION_KAFKA_BOOTSTRAP": kafka_bootstrap, "TSUNAGU_EVALUATION_DATABASE_URL": db_url,
                "TSUNAGU_EVALUATION_APP_ID": group, "TSUNAGU_EVALUATION_DATA_DIR": str(tmp_path / "faust"),
                "TSUNAGU_EVALUATION_METRICS_PORT": str(_free_port()), "PYTHONUNBUFFERED": "1",
                "TSUNAGU_EVALUATION_KAFKA_SESSION_TIMEOUT_S": "10", "TSUNAGU_EVALUATION_SCHEDULE_ENABLED": "false"})
    _start_group_at_end(kafka_bootstrap, group)
    alert = _event("casework.alert.raised", {"alert_id": case_id, "child_id": child, "ward_code": "40134",
                                             "raised_at": "2026-09-01T00:00:00+00:00", "tier": "予防",
                                             "items": [17, 18], "reason": "entered_tier"})
    step = _event("casework.step.recorded", {"case_id": case_id, "child_id": child, "ward_code": "40134",
                                             "step": "二次スクリーニング", "result": "要アプローチ",
                                             "items_at_listing": [17, 18], "recorded_at": "2026-09-02T01:00:00+00:00",
                                             "actor_role": "ward_staff"})
    flags = _event("scoring.flags.changed", {
        "child_id": child, "ward_code": "40134", "as_of": "2026-09-10", "rules_version": "r", "weights_version": "w",
        "before": None, "after": {"flags": [{"item": 17, "label_ja": "EPDS", "rule_version": "r",
                                             "raised_on": "2026-08-01"}], "score": 2.0, "tier": "予防"},
        "raised_items": [], "cleared_items": [18]})
    log_path = tmp_path / "worker.log"
    with log_path.open("ab") as out:
        worker = subprocess.Popen([sys.executable, "-m", "services.evaluation.entrypoints.faust_app"], cwd=ROOT,
                                  env=env, stdout=out, stderr=out)
    try:
        wait_until(lambda: "Worker ready" in log_path.read_text(errors="replace") or worker.poll() is not None,
                   90, "the evaluation worker to start")
        assert worker.poll() is None, log_path.read_text(errors="replace")[-3000:]
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
        key = child.encode()
        producer.send("casework.outcomes.v1", key=case_id.encode(), value=step)  # the step before its listing
        producer.send("casework.alerts.v1", key=key, value=b"{poison")
        producer.send("casework.alerts.v1", key=key, value=alert)
        producer.send("casework.alerts.v1", key=key, value=alert)  # redelivered
        producer.send("scoring.flags.v1", key=key, value=flags)
        producer.flush()
        container = bootstrap(EvaluationSettings(database_url=db_url, metrics_port=0),
                              metrics=EvaluationMetrics(CollectorRegistry()))

        def store_complete() -> bool:
            with container.sessions() as s:
                cases = [c for c in load_cases(s) if c.case_id == case_id]
                children = [c for c in load_children(s) if c.child_id == child]
            return bool(cases and cases[0].tier and cases[0].steps and children)

        wait_until(store_complete, 90, "the listing, its step and the child's flags in the store")
        with container.sessions() as s:
            [case] = [c for c in load_cases(s) if c.case_id == case_id]
        assert (case.ward_code, case.tier, case.items, len(case.steps)) == ("40134", "予防", frozenset({17, 18}), 1)
        assert case.screened and case.cleared_items == frozenset({18})
        time.sleep(1.0)
        log = log_path.read_text(errors="replace")
        assert "invalid_schema" in log and child not in log  # poison skipped; no ids in the log
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
