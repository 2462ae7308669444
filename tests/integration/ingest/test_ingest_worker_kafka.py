"""The worker on a real broker: good events and poison, the three ways in, replay and dedup across a restart.

One worker process serves the module (a start costs seconds on a shared machine).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from kafka import KafkaProducer

from contracts.topics.ingest_deadletter import DeadLetterHeaders
from services.ingest.adapters.csv_files import open_csv
from services.ingest.adapters.deadletter_reader import read_dead_letters
from services.ingest.adapters.import_ledger import ImportLedger
from services.ingest.adapters.kafka import KafkaPublisher
from services.ingest.adapters.kafka_batch import KafkaBatchPublisher
from services.ingest.config import IngestSettings
from services.ingest.entrypoints.examples import PAYLOADS, example_event, topic_of
from services.ingest.entrypoints.http_intake import create_app
from services.ingest.service_layer.replay import ReplayFilter, replay
from services.ingest.service_layer.school_import import import_school_file

from .conftest import TEST_APP_ID, KafkaKit

pytestmark = pytest.mark.integration


class Worker:
    def __init__(self, kit: Any, bootstrap: str, data_dir: Path) -> None:
        self.kit, self.bootstrap, self.data_dir = kit, bootstrap, data_dir
        self.app_id = TEST_APP_ID
        self._stack = ExitStack()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = self._stack.enter_context(self.kit.ingest_worker(self.bootstrap, self.data_dir, self.app_id))

    def stop(self) -> None:
        self._stack.close()
        self._stack = ExitStack()


@pytest.fixture(scope="module")
def worker(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Worker]:
    kit = KafkaKit()
    kit.skip_to_end(kafka_bootstrap, TEST_APP_ID)  # history (benchmarks, earlier runs) is not ours to process
    running = Worker(kit, kafka_bootstrap, tmp_path_factory.mktemp("ingest-worker"))
    running.start()
    yield running
    running.stop()


def records_with(kit: Any, bootstrap: str, start: Any, tag: str, count: int, quiet_s: float = 0.0,
                 ) -> list[dict[str, Any]]:
    found = kit.read_from(bootstrap, start, until=count, match=tag.encode(), timeout_s=60, quiet_s=quiet_s)
    return [json.loads(value) for _, value, _ in found]


def test_good_events_flow_and_poison_is_dead_lettered_with_original_bytes(worker: Worker, kit: Any) -> None:
    kafka_bootstrap = worker.bootstrap
    tag = uuid.uuid4().hex
    records_start = kit.end_offsets(kafka_bootstrap, "ingest.records.v1")
    dlq_start = kit.end_offsets(kafka_bootstrap, "ingest.deadletter.v1")
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    poison = [
        ("source.public-assistance.v1", f"{tag} not json".encode()),
        ("source.childcare.v1", b"\xff" + tag.encode()),
        ("source.disability.v1", json.dumps(example_event(
            "public_assistance.case.started", event_id=f"{tag}-wrong-system")).encode()),
        ("source.public-assistance.v1", json.dumps(example_event(
            "public_assistance.case.started", event_id=f"{tag}-era", start_date="平成32年1月1日")).encode()),
    ]
    # Every event type once, a poison event after every ninth, and one repeat that must be dropped.
    for i, event_type in enumerate(sorted(PAYLOADS)):
        event = json.dumps(example_event(event_type, event_id=f"{tag}-{i}")).encode()
        producer.send(topic_of(event_type), key=f"k{i}".encode(), value=event)
        if i % 9 == 0 and poison:
            topic, value = poison.pop()
            producer.send(topic, key=b"poison-key", value=value, headers=[("vendor-trace", b"t-1")])
    producer.send(topic_of("childcare.enrolment.started"), key=b"again",
                  value=json.dumps(example_event("childcare.enrolment.started",
                                                 event_id=f"{tag}-{sorted(PAYLOADS).index('childcare.enrolment.started')}")).encode())
    producer.flush()
    producer.close()

    records = kit.read_from(kafka_bootstrap, records_start, until=len(PAYLOADS), match=tag.encode(),
                            timeout_s=90, quiet_s=3)  # and the repeat, if it came through, right after
    dead = kit.read_from(kafka_bootstrap, dlq_start, until=4, match=tag.encode(), timeout_s=30, quiet_s=1)

    ids = sorted(json.loads(value or b"")["id"] for _, value, _ in records)
    assert ids == sorted(f"{tag}-{i}" for i in range(len(PAYLOADS))), "each good event once, the repeat dropped"
    assert len(dead) == 4
    for key, value, headers in dead:
        dlq = DeadLetterHeaders.from_kafka(headers)
        assert key == b"poison-key"
        assert ("vendor-trace", b"t-1") in headers
        assert dlq.error_class in {"not_json", "invalid_encoding", "unknown_type", "invalid_value"}
        assert dlq.topic.startswith("source.") and dlq.offset >= 0
        assert value is not None and tag.encode() in value
    assert {DeadLetterHeaders.from_kafka(h).error_class for _, _, h in dead} == {
        "not_json", "invalid_encoding", "unknown_type", "invalid_value"}


def test_an_event_posted_over_http_comes_out_as_a_record(worker: Worker, kit: Any) -> None:
    tag = uuid.uuid4().hex
    start = kit.end_offsets(worker.bootstrap, "ingest.records.v1")
    publisher = KafkaPublisher(worker.bootstrap, "test-http-intake", linger_ms=0)
    client = TestClient(create_app(IngestSettings(http_tokens={"child_guidance": "cg-token"}), publisher))

    response = client.post("/v1/sources/child_guidance/events", headers={"Authorization": "Bearer cg-token"},
                           json=example_event("child_guidance.involvement.started", event_id=f"{tag}-http"))
    publisher.close()

    assert response.status_code == 202
    (record,) = records_with(kit, worker.bootstrap, start, tag, 1)
    assert (record["id"], record["subject"]) == (f"{tag}-http", "100000000012")


def test_a_school_file_imported_twice_gives_each_row_one_record(worker: Worker, kit: Any, tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:12]
    start = kit.end_offsets(worker.bootstrap, "ingest.records.v1")
    path = tmp_path / "checkup.csv"
    path.write_bytes(("児童生徒番号,学校コード,健診日,身長,体重\r\n"
                      f"S-{tag}-1,B1,R7.4.20,117.2,20.1\r\nS-{tag}-2,B1,令和7年4月20日,121.0,23.4\r\n"
                      f"S-{tag}-3,B1,R7.2.30,121.0,23.4\r\n").encode("cp932"))
    ledger = ImportLedger(tmp_path / "ledger.sqlite3")
    reports = []
    for _ in range(2):
        publisher = KafkaBatchPublisher(worker.bootstrap, "test-school-import")
        reports.append(import_school_file(open_csv(path), publisher=publisher, ledger=ledger,
                                          now=lambda: datetime.now(UTC), rejects_path=tmp_path / "rejects.csv",
                                          max_event_bytes=1 << 20))
        publisher.close()

    assert [(r.published, r.already_imported, sum(r.rejected.values())) for r in reports] == [(2, 0, 1), (0, 2, 1)]
    records = records_with(kit, worker.bootstrap, start, tag, 2, quiet_s=3)
    assert sorted(r["subject"] for r in records) == [f"student:B1:S-{tag}-1", f"student:B1:S-{tag}-2"]


def test_a_replayed_dead_letter_is_processed_again(worker: Worker, kit: Any) -> None:
    # A dead letter as a since-fixed fault would have left it: valid bytes, internal_error headers.
    tag = uuid.uuid4().hex
    event = json.dumps(example_event("childcare.enrolment.started", event_id=f"{tag}-replay")).encode()
    dlq_start = kit.end_offsets(worker.bootstrap, "ingest.deadletter.v1")
    records_start = kit.end_offsets(worker.bootstrap, "ingest.records.v1")
    producer = KafkaProducer(bootstrap_servers=worker.bootstrap)
    headers = DeadLetterHeaders(reason="unexpected KeyError", error_class="internal_error",
                                topic="source.childcare.v1", partition=0, offset=0, event_id=f"{tag}-replay",
                                system="childcare").to_kafka()
    producer.send("ingest.deadletter.v1", key=b"k", value=event, headers=[("trace", b"t"), *headers]).get(10)
    producer.close()
    (offset,) = dlq_start.values()
    publisher = KafkaPublisher(worker.bootstrap, "test-replay")
    ledger = ImportLedger(worker.data_dir / f"replay-{tag}.sqlite3")

    report = replay(read_dead_letters(worker.bootstrap, offset), publisher=publisher, ledger=ledger,
                    only=ReplayFilter(event_id=f"{tag}-replay"))
    publisher.close()

    assert dict(report.replayed) == {"childcare": 1}
    (record,) = records_with(kit, worker.bootstrap, records_start, tag, 1)
    assert record["id"] == f"{tag}-replay"


def test_a_repeated_event_id_is_not_emitted_again_after_a_restart(worker: Worker, kit: Any) -> None:
    tag = uuid.uuid4().hex
    start = kit.end_offsets(worker.bootstrap, "ingest.records.v1")
    producer = KafkaProducer(bootstrap_servers=worker.bootstrap)

    def publish(event_id: str) -> None:
        event = example_event("disability.certificate.issued", event_id=event_id)
        producer.send(topic_of(event["type"]), key=b"k", value=json.dumps(event).encode()).get(10)

    publish(f"{tag}-first")
    assert len(records_with(kit, worker.bootstrap, start, f"{tag}-first", 1)) == 1
    worker.stop()
    worker.start()
    publish(f"{tag}-first")  # the source sends it again after the restart
    publish(f"{tag}-second")
    producer.close()

    records = records_with(kit, worker.bootstrap, start, tag, 2, quiet_s=3)
    assert sorted(r["id"] for r in records) == [f"{tag}-first", f"{tag}-second"]
