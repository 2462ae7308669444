"""利用停止 in evaluation over a real broker (issue 15): the evaluation worker, as a process, reads
privacy.optouts.v1 as casework publishes it; while the child's opt-out holds, the child and its case are left out of
the store's figures (kept, not deleted); the withdrawal brings them back; a tombstone is counted and ignored."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from kafka import KafkaProducer
from prometheus_client import CollectorRegistry

from contracts.topics.privacy_optouts import TOPIC as OPTOUTS
from services.evaluation.adapters.orm import CaseRow, ChildRow, OptOutRow
from services.evaluation.adapters.repository import load_cases, load_children
from services.evaluation.bootstrap import bootstrap
from services.evaluation.config import EvaluationSettings
from services.evaluation.metrics import EvaluationMetrics
from tests.integration.evaluation.test_worker_kafka import ROOT, _event, _free_port
from tests.kafka_reader import wait_until

pytestmark = pytest.mark.integration


def _opt_out(child: str, active: bool, changed_at: str) -> bytes:
    return _event("privacy.optout.changed", {
        "child_id": child, "active": active, "since": "2026-09-10", "until": None if active else "2026-10-01",
        "requested_by": "保護者", "reason_code": "request" if active else "withdrawal", "changed_at": changed_at})


def test_an_opted_out_child_leaves_evaluations_figures_until_withdrawn(kafka_bootstrap: str, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    out, kept = f"ev-out-{run}", f"ev-kept-{run}"
    db_url = f"sqlite:///{tmp_path}/evaluation.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_EVALUATION_")}
    env.update({"TSUNAGU_EVALUATION_KAFKA_BOOTSTRAP": kafka_bootstrap, "TSUNAGU_EVALUATION_DATABASE_URL": db_url,
                "TSUNAGU_EVALUATION_APP_ID": f"ev-optout-{run}", "TSUNAGU_EVALUATION_DATA_DIR": str(tmp_path / "f"),
                "TSUNAGU_EVALUATION_METRICS_PORT": str(_free_port()), "PYTHONUNBUFFERED": "1",
                "TSUNAGU_EVALUATION_KAFKA_SESSION_TIMEOUT_S": "10", "TSUNAGU_EVALUATION_SCHEDULE_ENABLED": "false"})
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for child in (out, kept):
        producer.send("casework.alerts.v1", key=child.encode(), value=_event("casework.alert.raised", {
            "alert_id": f"case-{child}", "child_id": child, "ward_code": "40134",
            "raised_at": "2026-09-01T00:00:00+00:00", "tier": "予防", "items": [18], "reason": "entered_tier"}))
        producer.send("scoring.flags.v1", key=child.encode(), value=_event("scoring.flags.changed", {
            "child_id": child, "ward_code": "40134", "as_of": "2026-09-01", "rules_version": "r",
            "weights_version": "w", "before": None, "after": {"flags": [{"item": 18, "label_ja": "x", "rule_version":
                                                                       "r", "raised_on": "2026-09-01"}],
                                                             "score": 2.0, "tier": "予防"},
            "raised_items": [18], "cleared_items": []}))
    producer.send(OPTOUTS.name, key=out.encode(), value=_opt_out(out, True, "2026-09-10T01:00:00+00:00"))
    producer.flush()
    container = bootstrap(EvaluationSettings(database_url=db_url, metrics_port=0),
                          metrics=EvaluationMetrics(CollectorRegistry()))

    def figures() -> tuple[set[str], set[str]]:
        with container.sessions() as s:
            children = {c.child_id for c in load_children(s)} & {out, kept}
            cases = {c.case_id for c in load_cases(s)} & {f"case-{out}", f"case-{kept}"}
        return children, cases

    def held(child: str) -> tuple[bool, bool, bool | None]:
        with container.sessions() as s:
            opt = s.get(OptOutRow, child)
            return (s.get(ChildRow, child) is not None, s.get(CaseRow, f"case-{child}") is not None,
                    opt.active if opt else None)

    log_path = tmp_path / "worker.log"
    with log_path.open("ab") as log:
        worker = subprocess.Popen([sys.executable, "-m", "services.evaluation.entrypoints.faust_app"], cwd=ROOT,
                                  env=env, stdout=log, stderr=log)
    try:
        wait_until(lambda: "Worker ready" in log_path.read_text(errors="replace") or worker.poll() is not None,
                   90, "the evaluation worker to start")
        assert worker.poll() is None, log_path.read_text(errors="replace")[-3000:]
        wait_until(lambda: held(kept)[:2] == (True, True) and held(out) == (True, True, True), 90,
                   "both children's rows and the opt-out in the store")
        assert figures() == ({kept}, {f"case-{kept}"})  # kept in the store, left out of the figures

        producer.send(OPTOUTS.name, key=out.encode(), value=_opt_out(out, False, "2026-10-01T01:00:00+00:00"))
        producer.send(OPTOUTS.name, key=out.encode(), value=_opt_out(out, True, "2026-09-10T01:00:00+00:00"))  # stale
        producer.flush()
        wait_until(lambda: held(out)[2] is False, 60, "the withdrawal")
        wait_until(lambda: figures() == ({out, kept}, {f"case-{out}", f"case-{kept}"}), 30, "the child back")

        producer.send(OPTOUTS.name, key=kept.encode(), value=None)  # a tombstone: counted, nothing else
        producer.send(OPTOUTS.name, key=kept.encode(), value=_opt_out(kept, True, "2026-10-02T00:00:00+00:00"))
        producer.flush()
        wait_until(lambda: held(kept)[2] is True, 60, "the second child's opt-out after the tombstone")
        assert figures() == ({out}, {f"case-{out}"}) and held(out)[2] is False
        text = log_path.read_text(errors="replace")
        assert out not in text and kept not in text  # no child id in the worker's log
        assert "Traceback" not in text
    finally:
        producer.close()
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
