"""State and outbox in SQLite: a restart reloads the same identities, indexes and emitted facts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from contracts.envelope import envelope_dict
from contracts.topics.ingest_records import EVENT_TYPE, RecordV1
from services.linkage.bootstrap import bootstrap
from services.linkage.config import LinkageSettings
from services.linkage.service_layer.handlers import Incoming, LinkageService
from tests.unit.linkage.factories import assistance, resident, student

pytestmark = pytest.mark.integration


def incoming(records: list[RecordV1]) -> list[Incoming]:
    return [Incoming(json.dumps(envelope_dict(data=r, type_=EVENT_TYPE, source="/t", subject=None,
                                              event_id=r.record_id)).encode(), None, "ingest.records.v1", 0, i)
            for i, r in enumerate(records)]


def service(data_dir: Path) -> LinkageService:
    return bootstrap(LinkageSettings(data_dir=data_dir), registry=CollectorRegistry()).linkage_service()


def test_a_restart_reloads_state_and_a_replay_emits_nothing(tmp_path: Path) -> None:
    records = [resident("2001", "H1", birth="1990-01-01", reason="initial_load", record_id="r-head"),
               resident("1001", "H1", birth="2020-05-01", record_id="r-child"),
               assistance("started", "C-1", "H1", "2001", "2025-05-01"),
               student("S1", "フクオカ タロウ", "福岡 太郎", "2020-05-01", address="東区箱崎1-2-3")]
    first = service(tmp_path)
    sent = first.handle_records(incoming(records))
    assert len(sent) >= 4 and len(first.store.pending()) == len(sent)
    first.store.acknowledge([seq for seq, _ in sent[:2]])
    assert len(first.store.pending()) == len(sent) - 2

    second = service(tmp_path)
    assert dict(second.state.key_owner.items()) == dict(first.state.key_owner.items())
    assert second.state.households.snapshot() == first.state.households.snapshot()
    assert second.state.deps.snapshot() == first.state.deps.snapshot()
    assert second.handle_records(incoming(records)) == []
    later = second.handle_records(incoming([assistance("ended", "C-1", "H1", "2001", "2025-09-30")]))
    [(_, (topic, _key, value, _headers))] = later
    assert topic == "linkage.facts.v1" and json.loads(value)["data"]["valid_to"] == "2025-09-30"


def test_an_undecodable_record_goes_to_the_dead_letter_topic_with_a_reason(tmp_path: Path) -> None:
    svc = service(tmp_path)
    [(_, (topic, _key, value, headers))] = svc.handle_records(
        [Incoming(b'{"not": "an envelope"}', b"k", "ingest.records.v1", 2, 7)])
    assert topic == "ingest.deadletter.v1" and value == b'{"not": "an envelope"}'
    assert headers["tsunagu.dlq.service"] == "linkage" and headers["tsunagu.dlq.offset"] == "7"
    assert headers["tsunagu.dlq.reason"].startswith("invalid record:")
