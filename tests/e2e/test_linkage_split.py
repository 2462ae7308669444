"""A wrong link split by a human: the facts attributed through it are retracted and scoring clears the flag.

Linkage and scoring run as processes over the real broker. A school record with no 宛名番号 is linked to a
registered child; its attendance raises item 12 (欠席が多い) on that child; a split decision moves the school
record to its own identity — the registered child's flag clears, the school child's is raised.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from contracts.envelope import envelope_dict
from contracts.topics.ingest_records import EVENT_TYPE, PersonKeys, RecordV1
from contracts.topics.linkage_review import ReviewDecisionV1
from services.linkage.domain.identity import atena_key, person_id_for, student_key
from tests.kafka_reader import TopicReader

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def send(bootstrap: str, topic: str, items: list[tuple[str, dict[str, Any]]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for key, value in items:
        producer.send(topic, key=key.encode(), value=json.dumps(value, ensure_ascii=False).encode())
    producer.flush()
    producer.close()


def as_event(rec: RecordV1) -> dict[str, Any]:
    return envelope_dict(data=rec, type_=EVENT_TYPE, source="/tsunagu/ingest", subject=None, event_id=rec.record_id)


def records(tag: str) -> tuple[str, list[RecordV1]]:
    atena, student = f"8{tag}", f"E2E{tag}"
    identity = {"name_kanji": "博多 一花", "name_kana": "ハカタ イチカ", "kanji_key": "博多一花",
                "kana_key": "ハカタイチカ", "surname_kana_key": "ハカタ", "given_kana_key": "イチカ",
                "birth_date": "2015-06-12", "sex": "2", "address_key": "中央区天神2-3-4"}
    registry = RecordV1(record_id=f"split-{tag}-reg", system="resident_registry",
                        event_type="resident_registry.person.registered", occurred_at="2025-04-01T09:00:00+09:00",
                        record_date="2025-04-01", household_no=f"9{tag}",
                        persons=[PersonKeys(role="subject", atena_no=atena, ward_code="40133", **identity)],
                        attributes={"effective_date": "2025-04-01", "reason": "move_in"})
    school = RecordV1(record_id=f"split-{tag}-stu", system="school_students",
                      event_type="school_students.student.registered", occurred_at="2026-04-08T09:00:00+09:00",
                      persons=[PersonKeys(role="subject", student_id=student, school_code="SC1", **identity)],
                      attributes={"grade": 6})
    attendance = [RecordV1(record_id=f"split-{tag}-att-{month}", system="school_affairs",
                           event_type="school_affairs.attendance.reported", occurred_at="2026-07-01T09:00:00+09:00",
                           record_date=f"2026-{month:02d}-01",
                           persons=[PersonKeys(role="subject", student_id=student, school_code="SC1")],
                           attributes={"school_year": 2026, "month": month, "absence_days": 16, "late_arrivals": 0})
                  for month in (5, 6)]
    return atena, [registry, school, *attendance]


@pytest.fixture
def workers(kafka_bootstrap: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    run = uuid.uuid4().hex[:8]
    topics = {"records": f"e2e.split-{run}.records", "decisions": f"e2e.split-{run}.decisions"}
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(name=t, num_partitions=1, replication_factor=1) for t in topics.values()])
    admin.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "TSUNAGU_LINKAGE_KAFKA_BOOTSTRAP": kafka_bootstrap, "TSUNAGU_LINKAGE_APP_ID": f"split-linkage-{run}",
           "TSUNAGU_LINKAGE_DATA_DIR": str(tmp_path / "linkage"), "TSUNAGU_LINKAGE_METRICS_PORT": "0",
           "TSUNAGU_LINKAGE_RECORDS_TOPIC": topics["records"], "TSUNAGU_LINKAGE_DECISIONS_TOPIC": topics["decisions"],
           "TSUNAGU_LINKAGE_LOG_LEVEL": "warn",
           "TSUNAGU_SCORING_KAFKA_BOOTSTRAP": kafka_bootstrap, "TSUNAGU_SCORING_APP_ID": f"split-scoring-{run}",
           "TSUNAGU_SCORING_METRICS_PORT": "0",
           "TSUNAGU_SCORING_LOG_LEVEL": "warn"}
    procs = [subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=env,
                              stdout=(tmp_path / f"{name}.log").open("wb"), stderr=subprocess.STDOUT)
             for name, module in (("linkage", "services.linkage.entrypoints.worker"),
                                  ("scoring", "services.scoring.entrypoints.worker"))]
    try:
        yield topics
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)


def collect(bootstrap: str, topic: str, child_ids: set[str]) -> Callable[[], list[dict[str, Any]]]:
    """A watcher from the topic's end now (partitions assigned by hand: no group join to race with)."""
    reader = TopicReader(bootstrap, topic)
    seen: list[dict[str, Any]] = []

    def poll() -> list[dict[str, Any]]:
        seen.extend(e["data"] for e in reader.events(
            lambda e: isinstance(e.get("data"), dict) and e["data"].get("child_id") in child_ids,
            want=10**6, timeout_s=0.5))
        return seen
    return poll


def eventually(check: Callable[[], bool], what: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def test_splitting_a_wrong_link_clears_the_flag_downstream(kafka_bootstrap: str, workers: dict[str, str]) -> None:
    tag = uuid.uuid4().int % 10**9
    atena, recs = records(f"{tag:09d}")
    registered, school_child = person_id_for(atena_key(atena)), person_id_for(student_key(f"E2E{tag:09d}"))
    flags = collect(kafka_bootstrap, "scoring.flags.v1", {registered, school_child})
    facts = collect(kafka_bootstrap, "linkage.facts.v1", {registered, school_child})

    send(kafka_bootstrap, workers["records"], [(atena, as_event(r)) for r in recs])
    eventually(lambda: any(12 in f["raised_items"] and f["child_id"] == registered for f in flags()),
               "item 12 raised on the registered child (the school record was linked to them)")

    decision = ReviewDecisionV1(review_id=f"split-{tag}", decision="split", record_id=recs[1].record_id,
                                person_id=registered, decided_by="u-e2e", decided_at="2026-07-02T10:00:00+09:00",
                                reason="the school confirmed it is another child")
    send(kafka_bootstrap, workers["decisions"], [(decision.review_id, envelope_dict(
        data=decision, type_="linkage.review.decided", source="/e2e", subject=decision.review_id))])

    eventually(lambda: any(12 in f["cleared_items"] and f["child_id"] == registered for f in flags()),
               "item 12 cleared on the registered child after the split")
    # The facts watcher is read only now: poll until the retractions are in (one poll returns one batch).
    def retracted() -> set[str]:
        return {f["kind"] for f in facts() if f["child_id"] == registered and f["status"] == "retracted"}

    eventually(lambda: retracted() >= {"attendance", "school_enrolment"}, "the linked facts retracted", timeout=60)
    assert retracted() == {"attendance", "school_enrolment"}
    eventually(lambda: any(12 in f["raised_items"] and f["child_id"] == school_child for f in flags()),
               "item 12 raised on the school record's own identity")
