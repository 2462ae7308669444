"""Retention in linkage over the real broker (issue 15, docs/privacy.md "Retention in casework and linkage"): the
linkage worker, as a process with a per-kind period set, links a family whose old 生活保護 case ended years ago,
then its timer purges that source fact from its SQLite store while the running case, the persons and their keys
stay; a child who left the city long ago (with its whole household) is purged with a tombstone on
linkage.children.v1; the metric counts it and the log carries no id or name."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest
from kafka import KafkaProducer

from contracts.envelope import envelope_dict
from contracts.topics.ingest_records import EVENT_TYPE, RecordV1
from services.linkage.adapters.store import SqliteStore
from services.linkage.domain.identity import atena_key, person_id_for
from tests.integration.casework.processes import free_port
from tests.kafka_reader import TopicReader, wait_until
from tests.unit.linkage.factories import assistance, left, resident

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]


def test_the_worker_purges_a_fact_past_its_period_and_keeps_what_links(kafka_bootstrap: str,
                                                                       tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    head, child, household = f"9{tag}1", f"9{tag}2", f"HR{tag}"
    gone, gone_household = f"9{tag}3", f"HG{tag}"  # left the city in 2016, alone in its household
    old, running_case = f"OLD{tag}", f"RUN{tag}"
    data_dir, port = tmp_path / "linkage", free_port()
    env = {**os.environ, "TSUNAGU_LINKAGE_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "TSUNAGU_LINKAGE_APP_ID": f"linkage-ret-{tag}", "TSUNAGU_LINKAGE_DATA_DIR": str(data_dir),
           "TSUNAGU_LINKAGE_METRICS_PORT": str(port), "TSUNAGU_LINKAGE_LOG_LEVEL": "info", "PYTHONPATH": str(ROOT),
           "TSUNAGU_LINKAGE_FACT_RETENTION_YEARS": '{"public_assistance": 5}',
           "TSUNAGU_LINKAGE_PERSON_RETENTION_YEARS": "5",
           "TSUNAGU_LINKAGE_RETENTION_PURGE_INTERVAL_S": "2"}
    log_path = tmp_path / "linkage.log"
    records: list[RecordV1] = [
        resident(head, household, birth="1980-01-01", reason="initial_load", name_kana="ホゾン ハナコ",
                 name_kanji="保存 花子", record_id=f"rt-{tag}-1"),
        resident(child, household, birth="2012-04-05", name_kana="ホゾン ソラ", name_kanji="保存 空",
                 record_id=f"rt-{tag}-2"),
        assistance("started", old, household, head, "2013-01-01"),
        assistance("ended", old, household, head, "2015-03-31"),
        assistance("started", running_case, household, head, "2016-01-01"),
        resident(gone, gone_household, birth="2011-02-02", name_kana="サラバ ウミ", name_kanji="去 海",
                 effective="2014-04-01", record_id=f"rt-{tag}-3"),
        left(gone, gone_household, "2016-03-31"),
    ]
    children = TopicReader(kafka_bootstrap, "linkage.children.v1")
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    with log_path.open("ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "services.linkage.entrypoints.worker"], cwd=ROOT,
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for rec in records:
            envelope = envelope_dict(data=rec, type_=EVENT_TYPE, source="/tsunagu/ingest", subject=None,
                                     event_id=rec.record_id)
            producer.send("ingest.records.v1", key=household.encode(),
                          value=json.dumps(envelope, ensure_ascii=False).encode())
        producer.flush()
        store_path = data_dir / "linkage.db"

        def purged() -> dict[str, object] | None:
            if not store_path.exists():
                return None
            state = SqliteStore(f"sqlite:///{store_path}").loaded()
            kinds = {sf.key: sf for sf in state.source_facts.values() if sf.kind == "public_assistance"}
            ours = {k for k in kinds if tag in k}
            # the running case is stored (the records arrived) and the ended one is not (purged)
            if f"public_assistance|{running_case}" in ours and f"public_assistance|{old}" not in ours and \
                    state.person_for_key(atena_key(child)) is not None and \
                    state.person_for_key(atena_key(gone)) is None and all(r.record_id in state.processed
                                                                           for r in records):
                return {"state": state}
            return None

        found = wait_until(purged, 120, "linkage to store the family and purge the ended case")
        state = found["state"]
        assert state.person_for_key(atena_key(head)) is not None  # persons and keys stay: later records link

        def counted() -> str | None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                    text = response.read().decode()
            except OSError:
                return None
            return text if 'tsunagu_linkage_retention_purged_total{kind="public_assistance"}' in text else None

        metrics = wait_until(counted, 30, "the purge metric")
        gone_key = person_id_for(atena_key(gone)).encode()
        profiles: list = []

        def tombstoned() -> bool:
            profiles.extend(children.raw(lambda m: m.key == gone_key, want=10, timeout_s=1))
            return bool(profiles) and profiles[-1].value is None

        wait_until(tombstoned, 30, "the tombstone of the child who left")
        assert profiles[0].value is not None and profiles[-1].value is None  # its profile(s), then the tombstone
        assert 'tsunagu_linkage_retention_purged_total{kind="person"}' in metrics
        assert 'tsunagu_linkage_retention_purge_runs_total{outcome="ok"}' in metrics
        # the ended case was seen before it was purged: its start and end records were processed
        assert all(r.record_id in state.processed for r in records)
    finally:
        producer.close()
        children.close()
        proc.terminate()
        proc.wait(timeout=60)
    text = log_path.read_text(errors="replace")
    # the worker reads ingest.records.v1 from its beginning: earlier tests' families may be purged in the same run
    assert re.search(r"retention purge: [1-9]\d* source facts removed .*public_assistance=[1-9]", text), text[-2000:]
    for secret in (head, child, household, old, "保存", "ホゾン", gone, "去 海"):
        assert secret not in text
