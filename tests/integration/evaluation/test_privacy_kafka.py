"""利用停止 and 削除 in evaluation over a real broker (issue 15): the evaluation worker, as a process, reads
privacy.optouts.v1 and privacy.deletions.v1 as casework publishes them. While a child's opt-out holds, the child and
its case are left out of the store's figures (kept, not deleted); the withdrawal brings them back; a tombstone is
counted and ignored. A deletion removes the child's rows (opt-out included) and later messages do not revive it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from kafka import KafkaProducer
from prometheus_client import CollectorRegistry
from sqlalchemy import func, select

from contracts.topics.privacy_deletions import TOPIC as DELETIONS
from contracts.topics.privacy_optouts import TOPIC as OPTOUTS
from services.evaluation.adapters.orm import CaseRow, ChildRow, DeletedChild, OptOutRow, StepRow
from services.evaluation.adapters.repository import child_hash, load_cases, load_children
from services.evaluation.bootstrap import Container, bootstrap
from services.evaluation.config import EvaluationSettings
from services.evaluation.metrics import EvaluationMetrics
from tests.integration.evaluation.test_worker_kafka import ROOT, _event, _free_port
from tests.kafka_reader import wait_until

pytestmark = pytest.mark.integration


def _opt_out(child: str, active: bool, changed_at: str) -> bytes:
    return _event("privacy.optout.changed", {
        "child_id": child, "active": active, "since": "2026-09-10", "until": None if active else "2026-10-01",
        "requested_by": "保護者", "reason_code": "request" if active else "withdrawal", "changed_at": changed_at})


@contextmanager
def _worker(kafka_bootstrap: str, tmp_path: Path) -> Iterator[tuple[Container, Path]]:
    """The evaluation worker as a process on its own group and SQLite store; yields a container on the same store
    and the worker's log."""
    run = uuid.uuid4().hex[:8]
    db_url = f"sqlite:///{tmp_path}/evaluation.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_EVALUATION_")}
    env.update({"TSUNAGU_EVALUATION_KAFKA_BOOTSTRAP": kafka_bootstrap, "TSUNAGU_EVALUATION_DATABASE_URL": db_url,
                "TSUNAGU_EVALUATION_APP_ID": f"ev-privacy-{run}", "TSUNAGU_EVALUATION_DATA_DIR": str(tmp_path / "f"),
                "TSUNAGU_EVALUATION_METRICS_PORT": str(_free_port()), "PYTHONUNBUFFERED": "1",
                "TSUNAGU_EVALUATION_KAFKA_SESSION_TIMEOUT_S": "10", "TSUNAGU_EVALUATION_SCHEDULE_ENABLED": "false"})
    container = bootstrap(EvaluationSettings(database_url=db_url, metrics_port=0),
                          metrics=EvaluationMetrics(CollectorRegistry()))
    log_path = tmp_path / "worker.log"
    with log_path.open("ab") as log:
        worker = subprocess.Popen([sys.executable, "-m", "services.evaluation.entrypoints.faust_app"], cwd=ROOT,
                                  env=env, stdout=log, stderr=log)
    try:
        wait_until(lambda: "Worker ready" in log_path.read_text(errors="replace") or worker.poll() is not None,
                   90, "the evaluation worker to start")
        assert worker.poll() is None, log_path.read_text(errors="replace")[-3000:]
        yield container, log_path
        assert "Traceback" not in log_path.read_text(errors="replace")
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        container.engine.dispose()


def _listed(producer: KafkaProducer, child: str) -> None:
    producer.send("casework.alerts.v1", key=child.encode(), value=_event("casework.alert.raised", {
        "alert_id": f"case-{child}", "child_id": child, "ward_code": "40134",
        "raised_at": "2026-09-01T00:00:00+00:00", "tier": "予防", "items": [18], "reason": "entered_tier"}))
    producer.send("casework.outcomes.v1", key=child.encode(), value=_event("casework.step.recorded", {
        "case_id": f"case-{child}", "child_id": child, "ward_code": "40134", "step": "二次スクリーニング",
        "result": "要アプローチ", "items_at_listing": [18], "recorded_at": "2026-09-02T01:00:00+00:00",
        "actor_role": "ward_staff"}))
    producer.send("scoring.flags.v1", key=child.encode(), value=_event("scoring.flags.changed", {
        "child_id": child, "ward_code": "40134", "as_of": "2026-09-01", "rules_version": "r",
        "weights_version": "w", "before": None,
        "after": {"flags": [{"item": 18, "label_ja": "x", "rule_version": "r", "raised_on": "2026-09-01"}],
                  "score": 2.0, "tier": "予防"},
        "raised_items": [18], "cleared_items": []}))


def _figures(container: Container, *children: str) -> tuple[set[str], set[str]]:
    with container.sessions() as s:
        listed = {c.child_id for c in load_children(s)} & set(children)
        cases = {c.case_id for c in load_cases(s)} & {f"case-{c}" for c in children}
    return listed, cases


def _held(container: Container, child: str) -> tuple[bool, bool, bool | None]:
    with container.sessions() as s:
        opt = s.get(OptOutRow, child)
        return (s.get(ChildRow, child) is not None, s.get(CaseRow, f"case-{child}") is not None,
                opt.active if opt else None)


def test_an_opted_out_child_leaves_evaluations_figures_until_withdrawn(kafka_bootstrap: str, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    out, kept = f"ev-out-{run}", f"ev-kept-{run}"
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for child in (out, kept):
        _listed(producer, child)
    producer.send(OPTOUTS.name, key=out.encode(), value=_opt_out(out, True, "2026-09-10T01:00:00+00:00"))
    producer.flush()
    try:
        with _worker(kafka_bootstrap, tmp_path) as (container, log_path):
            wait_until(lambda: _held(container, kept)[:2] == (True, True)
                       and _held(container, out) == (True, True, True), 90,
                       "both children's rows and the opt-out in the store")
            # kept in the store, left out of the figures
            assert _figures(container, out, kept) == ({kept}, {f"case-{kept}"})

            producer.send(OPTOUTS.name, key=out.encode(), value=_opt_out(out, False, "2026-10-01T01:00:00+00:00"))
            producer.send(OPTOUTS.name, key=out.encode(),
                          value=_opt_out(out, True, "2026-09-10T01:00:00+00:00"))  # stale: older than the withdrawal
            producer.flush()
            wait_until(lambda: _held(container, out)[2] is False, 60, "the withdrawal")
            wait_until(lambda: _figures(container, out, kept) == ({out, kept}, {f"case-{out}", f"case-{kept}"}), 30,
                       "the child back in the figures")

            producer.send(OPTOUTS.name, key=kept.encode(), value=None)  # a tombstone: counted, nothing else
            producer.send(OPTOUTS.name, key=kept.encode(), value=_opt_out(kept, True, "2026-10-02T00:00:00+00:00"))
            producer.flush()
            wait_until(lambda: _held(container, kept)[2] is True, 60, "the second child's opt-out after the tombstone")
            assert _figures(container, out, kept) == ({out}, {f"case-{out}"}) and _held(container, out)[2] is False
            text = log_path.read_text(errors="replace")
            assert out not in text and kept not in text  # no child id in the worker's log
    finally:
        producer.close()


def test_a_deletion_request_removes_the_child_from_evaluation_and_late_messages_do_not_revive_it(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    gone, kept = f"ev-gone-{run}", f"ev-stay-{run}"
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for child in (gone, kept):
        _listed(producer, child)
    producer.send(OPTOUTS.name, key=gone.encode(), value=_opt_out(gone, True, "2026-09-10T01:00:00+00:00"))
    producer.flush()
    try:
        with _worker(kafka_bootstrap, tmp_path) as (container, log_path):
            wait_until(lambda: _held(container, gone) == (True, True, True)
                       and _held(container, kept)[:2] == (True, True), 90, "both children in the store")
            producer.send(DELETIONS.name, key=gone.encode(), value=_event("privacy.person.deleted", {
                "request_id": f"req-{run}", "child_id": gone, "scope": "child", "requested_by": "保護者",
                "requested_at": "2026-10-01T10:00:00+09:00", "deleted_in": ["casework"]}))
            producer.send(OPTOUTS.name, key=gone.encode(), value=None)  # casework's tombstone follows a deletion
            producer.flush()
            wait_until(lambda: _held(container, gone) == (False, False, None), 60, "the child's rows deleted")
            with container.sessions() as s:
                assert s.get(DeletedChild, child_hash(gone)) is not None  # only a hash of the id is kept
                assert s.scalar(select(func.count()).select_from(StepRow).where(
                    StepRow.case_id == f"case-{gone}")) == 0
            # a late flags message and a replayed listing about the deleted child are dropped
            _listed(producer, gone)
            producer.send("scoring.flags.v1", key=kept.encode(), value=_event("scoring.flags.changed", {
                "child_id": kept, "ward_code": "40134", "as_of": "2026-10-05", "rules_version": "r",
                "weights_version": "w", "before": None, "after": {"flags": [], "score": 0.0, "tier": None},
                "raised_items": [], "cleared_items": [18]}))
            producer.flush()

            def kept_cleared() -> bool:
                with container.sessions() as s:
                    row = s.get(ChildRow, kept)
                    return row is not None and row.as_of == "2026-10-05"

            wait_until(kept_cleared, 60, "the later message about the other child")  # so the late ones were read
            assert _held(container, gone) == (False, False, None)
            assert _figures(container, gone, kept) == ({kept}, {f"case-{kept}"})
            assert gone not in log_path.read_text(errors="replace")
    finally:
        producer.close()
