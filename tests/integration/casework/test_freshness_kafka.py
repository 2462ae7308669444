"""データの鮮度 over a real broker (issue 17): the ingest worker reports a source's last event on
ingest.source_status.v1 and the casework worker stores it in its source_status table."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka import KafkaProducer
from sqlalchemy import select

from contracts.sources import SOURCE_SYSTEMS
from contracts.topics.ingest_source_status import TOPIC as STATUS_TOPIC
from services.casework.adapters.orm import SourceStatusRow
from services.casework.bootstrap import Container
from services.ingest.entrypoints.examples import example_event, topic_of
from tests.integration.casework.processes import casework_env, free_port, running, start_group_at_end
from tests.kafka_reader import TopicReader, wait_until
from tests.unit.casework.factories import raw

pytestmark = pytest.mark.integration
READY = "Worker ready"


def test_ingest_reports_a_source_and_casework_stores_it(kafka_bootstrap: str, pg_container: Container,
                                                       tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    ingest_group = f"tsunagu-ingest-fresh-{run}"
    ingest_env = {
        **casework_env(kafka_bootstrap, str(pg_container.settings.database_url), tmp_path),
        "TSUNAGU_INGEST_KAFKA_BOOTSTRAP": kafka_bootstrap, "TSUNAGU_INGEST_APP_ID": ingest_group,
        "TSUNAGU_INGEST_DATA_DIR": str(tmp_path / "ingest"), "TSUNAGU_INGEST_METRICS_PORT": str(free_port()),
        "TSUNAGU_INGEST_LOG_LEVEL": "info", "TSUNAGU_INGEST_SOURCE_STATUS_INTERVAL_S": "1",
    }
    cw_env = casework_env(kafka_bootstrap, str(pg_container.settings.database_url), tmp_path)
    # both groups start after the shared topics' history: only this test's event is processed
    start_group_at_end(kafka_bootstrap, ingest_group, [s.topic for s in SOURCE_SYSTEMS.values()])
    start_group_at_end(kafka_bootstrap, cw_env["TSUNAGU_CASEWORK_APP_ID"],
                       ["scoring.flags.v1", "linkage.children.v1", "linkage.review.v1", STATUS_TOPIC.name])
    status = TopicReader(kafka_bootstrap, STATUS_TOPIC.name)
    # The hand-over time is the Kafka timestamp: two hours ago, to the millisecond, so it is recognisably ours.
    handed_over_ms = int(time.time() * 1000) - 2 * 3600 * 1000 - 123
    handed_over = datetime.fromtimestamp(handed_over_ms / 1000, UTC)
    event_type = "childcare.enrolment.started"
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    try:
        with running("services.ingest.entrypoints.worker", ingest_env, tmp_path / "ingest.log", READY, 90), \
                running("services.casework.entrypoints.worker", cw_env, tmp_path / "casework.log", READY, 90):
            producer.send(topic_of(event_type), key=f"k-{run}".encode(), timestamp_ms=handed_over_ms,
                          value=raw(example_event(event_type, event_id=f"fresh-{run}")))
            producer.flush()

            def ours(event: dict) -> bool:  # type: ignore[type-arg]
                data = event.get("data") or {}
                return (data.get("system") == "childcare"
                        and datetime.fromisoformat(data["last_event_time"]) == handed_over)

            # ingest reports every second: a fetch may bring two reports of the event, both saying the same
            reported = status.events(ours, 1, timeout_s=90)[0]
            assert reported["subject"] == "childcare" and reported["type"] == "ingest.source_status.reported"
            assert reported["data"]["events_24h"] == 1
            assert reported["data"]["silence_allowed_s"] == 14 * 86_400

            def stored() -> SourceStatusRow | None:
                with pg_container.sessions() as s:
                    row = s.scalar(select(SourceStatusRow).where(SourceStatusRow.system == "childcare"))
                    return row if row is not None and row.last_event_at == handed_over else None

            row = wait_until(stored, 90, "casework to store childcare's status")
            assert row.events_24h == 1 and row.silence_allowed_s == 14 * 86_400
    finally:
        producer.close()
        status.close()
