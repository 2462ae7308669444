"""Opt-out (利用停止) over the real broker, the scoring worker as a process: facts → flags; an opt-out on
privacy.optouts.v1 → further facts publish nothing; the withdrawal → the current flags are published."""

from __future__ import annotations

import json
import re
import signal
import socket
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka import KafkaProducer

from contracts.envelope import envelope_dict
from contracts.topics.privacy_optouts import EVENT_TYPE, TOPIC, OptOutV1
from tests.integration.scoring.factories import FACTS, fact_envelope, residence
from tests.integration.scoring.worker import Worker
from tests.kafka_reader import TopicReader, end_offsets, wait_committed

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _opt_out(child: str, active: bool) -> bytes:
    now = datetime.now(UTC)
    data = OptOutV1(child_id=child, active=active, since="2026-05-20", until=None if active else "2026-06-01",
                    requested_by="保護者", reason_code="request" if active else "withdrawal",
                    changed_at=now.isoformat())
    return json.dumps(envelope_dict(data=data, type_=EVENT_TYPE, source="/tsunagu/casework", subject=child,
                                    time=now)).encode()


@pytest.fixture
def worker(kafka_bootstrap: str, tmp_path: Path) -> Iterator[tuple[Worker, int]]:
    port = _free_port()
    started = Worker(kafka_bootstrap, f"test-scoring-optout-{uuid.uuid4().hex[:8]}", tmp_path, today="2026-06-01",
                     metrics_port=port)
    started.start()
    yield started, port
    started.stop(signal.SIGKILL)


def test_an_opted_out_child_gets_no_flags_until_the_withdrawal_publishes_its_current_ones(
        kafka_bootstrap: str, worker: tuple[Worker, int]) -> None:
    process, port = worker
    child = f"optout-{uuid.uuid4().hex}"
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    reader = TopicReader(kafka_bootstrap, "scoring.flags.v1")

    def metric(name: str, outcome: str) -> float:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
        assert child not in text  # no child id in the metrics
        found = re.search(rf'{name}\{{outcome="{outcome}"\}} ([0-9.e+]+)', text)
        return float(found.group(1)) if found else 0.0

    try:
        assert process.wait_for_assignment(), "the worker never got its partitions"
        # facts → flags: the household's 生活保護 raises item 18
        producer.send(FACTS, key=child.encode(), value=residence(child))
        producer.send(FACTS, key=child.encode(), value=fact_envelope(child, f"{child}-pa"))
        producer.flush()
        [raised] = reader.for_keys({child}, 1, timeout_s=120)
        assert raised["data"]["raised_items"] == [18]

        # opt-out → a fact that would raise item 19 (児童扶養手当) publishes nothing
        producer.send(TOPIC.name, key=child.encode(), value=_opt_out(child, active=True))
        producer.flush()
        opt_outs = end_offsets(kafka_bootstrap, TOPIC.name)
        wait_committed(kafka_bootstrap, process.app_id, opt_outs, 60)  # the opt-out handled
        assert metric("tsunagu_scoring_opt_outs_total", "opted_out") >= 1
        recorded_before = metric("tsunagu_scoring_facts_processed_total", "opted_out")
        producer.send(FACTS, key=child.encode(), value=fact_envelope(
            child, f"{child}-al", kind="allowance", relation="guardian", source_system="child_allowance",
            valid_from="2026-05-01", record_date="2026-05-01", attributes={"allowance": "jido_fuyo_teate"}))
        producer.flush()
        facts = end_offsets(kafka_bootstrap, FACTS)
        wait_committed(kafka_bootstrap, process.app_id, facts, 60)  # the fact handled
        assert metric("tsunagu_scoring_facts_processed_total", "opted_out") >= recorded_before + 1, (
            "the fact was not recorded as an opted-out child's")
        assert reader.for_keys({child}, 1, timeout_s=5) == [], "a flags message for an opted-out child"

        # withdrawal → the current flags (18 and now 19) are published, as a change from what was last published
        producer.send(TOPIC.name, key=child.encode(), value=_opt_out(child, active=False))
        producer.flush()
        [resumed] = reader.for_keys({child}, 1, timeout_s=60)
        data = resumed["data"]
        assert data["raised_items"] == [19] and data["cleared_items"] == []
        assert [f["item"] for f in data["before"]["flags"]] == [18]
        assert [f["item"] for f in data["after"]["flags"]] == [18, 19]
        assert metric("tsunagu_scoring_opt_outs_total", "withdrawn") >= 1
    finally:
        producer.close()
        reader.close()
