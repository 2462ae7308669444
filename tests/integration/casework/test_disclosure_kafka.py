"""Disclosure (開示) across services over the real broker and PostgreSQL (issue 15, docs/privacy.md): linkage, scoring
and casework's worker as processes. A privacy officer's request goes out through casework's outbox on
privacy.disclosures.v1; linkage and scoring answer on privacy.disclosure_replies.v1; casework's worker keeps the
answers; the report then holds the child's facts from linkage and scoring (by source system and date) and nothing
of another child. After the child's deletion (削除), a new disclosure says that nothing is held anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaProducer

from contracts.envelope import envelope_dict
from contracts.topics.ingest_records import EVENT_TYPE, RecordV1
from contracts.topics.linkage_children import TOPIC as CHILDREN_TOPIC
from contracts.topics.privacy_disclosures import REPLY_TOPIC
from contracts.topics.scoring_flags import TOPIC as FLAGS_TOPIC
from services.casework.bootstrap import Container
from services.casework.service_layer import privacy_deletion, privacy_disclosure
from services.linkage.domain.identity import atena_key, person_id_for
from tests.integration.casework.processes import ROOT, casework_env, running, start_group_at_end
from tests.integration.scoring.worker import Worker
from tests.integration.scoring.worker import start_group_at_end as start_scoring_at_end
from tests.kafka_reader import TopicReader, wait_until
from tests.unit.casework.privacy_data import add_users
from tests.unit.linkage.factories import assistance, resident

pytestmark = pytest.mark.integration
READY = "Worker ready"
CASEWORK_TOPICS = [FLAGS_TOPIC.name, CHILDREN_TOPIC.name, "linkage.review.v1", REPLY_TOPIC.name]


def _send_records(producer: KafkaProducer, records: list[RecordV1]) -> None:
    for rec in records:
        envelope = envelope_dict(data=rec, type_=EVENT_TYPE, source="/tsunagu/ingest", subject=None,
                                 event_id=rec.record_id)
        producer.send("ingest.records.v1", key=(rec.persons[0].atena_no or "").encode(),
                      value=json.dumps(envelope, ensure_ascii=False).encode())
    producer.flush()


@pytest.fixture
def linkage(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Path]:
    env = {**os.environ, "TSUNAGU_LINKAGE_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "TSUNAGU_LINKAGE_APP_ID": f"linkage-dis-{uuid.uuid4().hex[:8]}",
           "TSUNAGU_LINKAGE_DATA_DIR": str(tmp_path / "linkage"), "TSUNAGU_LINKAGE_METRICS_PORT": "0",
           "TSUNAGU_LINKAGE_LOG_LEVEL": "info", "PYTHONPATH": str(ROOT)}
    log_path = tmp_path / "linkage.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "services.linkage.entrypoints.worker"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    yield log_path
    proc.terminate()
    proc.wait(timeout=60)


@pytest.fixture
def scoring(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Worker]:
    app_id = f"scoring-dis-{uuid.uuid4().hex[:8]}"
    start_scoring_at_end(kafka_bootstrap, app_id)  # earlier tests' facts are not ours
    worker = Worker(kafka_bootstrap, app_id, tmp_path, today="2025-06-01")
    worker.start()
    yield worker
    worker.stop()


def _answered(c: Container, request_id: str, timeout_s: float) -> privacy_disclosure.RequestStatus:
    def complete() -> privacy_disclosure.RequestStatus | None:
        with c.sessions() as session:
            status = privacy_disclosure.status_of(session, request_id, c.clock())
        return status if status is not None and status.complete else None

    result: privacy_disclosure.RequestStatus = wait_until(complete, timeout_s, "both services answered")
    return result


def test_a_disclosure_holds_what_linkage_and_scoring_hold_for_the_child_only(
        kafka_bootstrap: str, pg_container: Container, linkage: Path, scoring: Worker, tmp_path: Path) -> None:
    # Dates and names of their own: the broker is shared, and another test's new linkage group reads these records
    # too (it checks its own child's birth date is gone from its store after a deletion).
    tag = uuid.uuid4().hex[:8]
    child_atena, head_atena, other_atena = f"7{tag}1", f"7{tag}2", f"7{tag}3"
    household, other_household = f"HD{tag}", f"HO{tag}"
    child, other = person_id_for(atena_key(child_atena)), person_id_for(atena_key(other_atena))
    add_users(pg_container)
    env = casework_env(kafka_bootstrap, str(pg_container.settings.database_url), tmp_path)
    start_group_at_end(kafka_bootstrap, env["TSUNAGU_CASEWORK_APP_ID"], CASEWORK_TOPICS)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    flags = TopicReader(kafka_bootstrap, FLAGS_TOPIC.name)
    children = TopicReader(kafka_bootstrap, CHILDREN_TOPIC.name)
    try:
        with running("services.casework.entrypoints.worker", env, tmp_path / "casework.log", READY, 90):
            _send_records(producer, [
                resident(head_atena, household, birth="1987-11-23", reason="initial_load", record_id=f"ds-{tag}-1"),
                resident(child_atena, household, birth="2016-08-19", name_kana="カイジ ソラ", name_kanji="開示 空",
                         record_id=f"ds-{tag}-2"),
                resident(other_atena, other_household, birth="2014-06-17", name_kana="タニン ウミ",
                         name_kanji="他人 海", record_id=f"ds-{tag}-3"),
                assistance("started", f"C{tag}", household, head_atena, "2025-05-01"),
            ])
            # scoring has the child's state (item 18: the household's 生活保護); casework has its profile
            wait_until(lambda: any(18 in e["data"]["raised_items"] for e in flags.for_keys({child}, 1, 2)), 240,
                       f"item 18 for the child (logs: {linkage}, {scoring.log})")
            wait_until(lambda: _known(pg_container, child), 60, "casework knows the child (its profile)")

            asked = privacy_disclosure.request(pg_container, username="privacy", child_id=child,
                                               request_ref=f"R-{tag}")
            status = _answered(pg_container, asked.request_id, 120)
            assert [(p.service, p.held) for p in status.parts] == [("linkage", True), ("scoring", True)]
            report = privacy_disclosure.disclose(pg_container, username="privacy", request_id=asked.request_id,
                                                 out=tmp_path / "report", pdf=False)
            html = report.html.read_text(encoding="utf-8")
            assert "未完成" not in html and html.count("回答済み（") == 2
            assert "開示 空" in html and child_atena in html  # linkage: the child's own record and 宛名番号
            assert f"C{tag}" in html and "生活保護" in html and "2025-05-01" in html  # the fact, by system and date
            assert "項目18" in html  # scoring: its current item, with what it rests on
            for trace in ("他人 海", "タニン ウミ", other_atena, other, "2014-06-17"):
                assert trace not in html, trace  # nothing of the other child

            # 削除: casework deletes and publishes; linkage and scoring forget; a new disclosure finds nothing
            privacy_deletion.delete_person(pg_container, username="privacy", child_id=child, requested_by="保護者",
                                           request_ref=f"D-{tag}", confirm=lambda _c, _e: True)
            wait_until(lambda: any(m.value is None for m in children.raw(lambda m: m.key == child.encode(), 1, 2)),
                       120, "linkage's tombstone for the deleted child")
            time.sleep(5)  # scoring forgets the child on its deletion retractions (after linkage's tombstone)
            again = privacy_disclosure.request(pg_container, username="privacy", child_id=child,
                                               request_ref=f"R2-{tag}")
            assert again.deleted
            status = _answered(pg_container, again.request_id, 120)
            assert [(p.service, p.held) for p in status.parts] == [("linkage", False), ("scoring", False)]
            html = privacy_disclosure.disclose(pg_container, username="privacy", request_id=again.request_id,
                                               out=tmp_path / "after", pdf=False).html.read_text(encoding="utf-8")
            assert "削除請求によりケース管理から削除されています" in html
            assert html.count("保有している情報はありません") == 2
            for trace in ("開示 空", child_atena, f"C{tag}", "項目18"):
                assert trace not in html, trace
        log = (tmp_path / "casework.log").read_text(errors="replace") + linkage.read_text(errors="replace")
        assert "開示 空" not in log and child_atena not in log  # no personal data in the workers' logs
    finally:
        producer.close()
        flags.close()
        children.close()


def _known(c: Container, child_id: str) -> bool:
    from services.casework.adapters.orm import Child

    with c.sessions() as session:
        return session.get(Child, child_id) is not None
