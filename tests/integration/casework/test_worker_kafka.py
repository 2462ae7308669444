"""The Faust worker over a real broker: flags in, one alert out, survives kill -9 and replays, relays outcomes."""

from __future__ import annotations

import json
import signal
import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaProducer

from services.casework.adapters.orm import ReviewCase
from services.casework.bootstrap import Container
from services.casework.domain.workflow import Action, StepCommand
from services.casework.service_layer import cases
from services.casework.service_layer.auth import create_user, principal_of
from services.casework.service_layer.reviews import decide_review
from tests.integration.casework.processes import casework_env, running, start_group_at_end
from tests.kafka_reader import TopicReader
from tests.unit.casework.factories import flags_event, profile_event, raw, review_event

pytestmark = pytest.mark.integration
WORKER = "services.casework.entrypoints.worker"
READY = "Worker ready"


def end_offsets(bootstrap: str, topic: str) -> TopicReader:
    return TopicReader(bootstrap, topic)


def collect(reader: TopicReader, match: str, want: int, timeout: float = 90) -> list[dict]:  # type: ignore[type-arg]
    """This test's messages only: those whose data mentions ``match`` (foreign and poison messages skipped)."""
    return reader.events(lambda e: match in json.dumps(e.get("data")), want, timeout)


def test_worker_over_kafka(kafka_bootstrap: str, pg_container: Container, tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    child = f"kw-{run}"
    env = casework_env(kafka_bootstrap, str(pg_container.settings.database_url), tmp_path)
    # the shared test topics hold other tests' history: this worker's group starts after it
    start_group_at_end(kafka_bootstrap, env["TSUNAGU_CASEWORK_APP_ID"],
                       ["scoring.flags.v1", "linkage.children.v1", "linkage.review.v1"])
    alerts = end_offsets(kafka_bootstrap, "casework.alerts.v1")
    outcomes = end_offsets(kafka_bootstrap, "casework.outcomes.v1")
    decisions = end_offsets(kafka_bootstrap, "linkage.decisions.v1")
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    first = raw(flags_event(child, "40134", [], [17], tier_after="予防"))

    with running(WORKER, env, tmp_path / "worker.log", READY) as worker:
        producer.send("linkage.children.v1", key=child.encode(), value=raw(profile_event(child, "40134")))
        producer.send("scoring.flags.v1", key=child.encode(), value=b"{poison")
        producer.send("scoring.flags.v1", key=child.encode(), value=first)
        producer.send("scoring.flags.v1", key=child.encode(), value=first)
        producer.flush()
        [alert] = collect(alerts, child, 1)
        assert alert["data"]["ward_code"] == "40134" and alert["data"]["items"] == [17]
        worker.send_signal(signal.SIGKILL)
        worker.wait()

    with running(WORKER, env, tmp_path / "worker2.log", READY):
        producer.send("scoring.flags.v1", key=child.encode(), value=first)  # replay after a crash
        producer.flush()
        with pg_container.uow() as uow:
            user = create_user(uow.session, username=f"u{run}", password="long-enough-pw", role="ward_staff",
                               ward_code="40134", division=None, now=pg_container.clock())
            principal = principal_of(user)
            alert_row = cases.case_for_step(uow, principal, alert["data"]["alert_id"])
            cases.record_step(uow, principal, alert_row, StepCommand(Action.SCREEN, "要アプローチ", "確認"),
                              pg_container.clock())
            uow.commit()
        review_id = f"rv-{run}"
        producer.send("linkage.review.v1", key=review_id.encode(), value=raw(review_event(review_id)))
        producer.flush()
        deadline = time.monotonic() + 90  # generous: the test machine is shared and busy
        while time.monotonic() < deadline:
            with pg_container.sessions() as s:
                if s.get(ReviewCase, review_id) is not None:
                    break
            time.sleep(0.2)
        with pg_container.uow() as uow:
            decide_review(review_id, "cannot_link", "生年月日が異なる", user_id=principal.user_id, uow=uow,
                          now=pg_container.clock())
            uow.commit()
        [decision] = collect(decisions, review_id, 1)
        assert decision["data"]["decision"] == "cannot_link" and decision["data"]["decided_by"] == principal.user_id
        [outcome] = collect(outcomes, alert["data"]["alert_id"], 1)
        assert outcome["data"]["step"] == "二次スクリーニング" and outcome["data"]["result"] == "要アプローチ"
        # Nothing new after the replay. The kill may have come between publishing the alert and marking it
        # in the outbox: then the same event (same id) is published again, which consumers dedupe.
        again = collect(alerts, child, 2, timeout=3)
        assert {a["id"] for a in again} <= {alert["id"]}
    log = (tmp_path / "worker.log").read_text()
    assert "skipped" in log and "invalid_schema" in log
    assert "福岡" not in log and "花子" not in log  # no personal data in logs
