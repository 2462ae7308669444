"""Deletion on request in linkage: the child leaves the state and the store, its facts are retracted, its profile
tombstoned, its keys refused from then on; a redelivered request changes nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from contracts.envelope import envelope_dict
from contracts.topics.ingest_records import EVENT_TYPE, RecordV1
from contracts.topics.privacy_deletions import EVENT_TYPE as DELETION_TYPE
from contracts.topics.privacy_deletions import DeletionRequestV1
from services.linkage.adapters.clock import FixedClock
from services.linkage.adapters.store import SqliteStore
from services.linkage.domain.identity import atena_key, person_id_for
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.state import LinkageState
from services.linkage.metrics import LinkageMetrics
from services.linkage.service_layer.handlers import Incoming, LinkageService
from services.linkage.service_layer.ports import Message
from services.linkage.service_layer.privacy import DELETION_RECORD_PREFIX, deleted_keys, handle_deletions
from tests.unit.linkage.factories import assistance, person, record, resident

pytestmark = pytest.mark.unit
MCH = "maternal_child_health"
CHILD, SIBLING, HEAD, HOUSEHOLD = "7101", "7102", "7103", "H71"
CHILD_ID = person_id_for(atena_key(CHILD))


def _service(tmp_path: Path) -> LinkageService:
    store = SqliteStore(f"sqlite:///{tmp_path / 'linkage.db'}")
    return LinkageService(LinkageState(), store, LinkageMetrics(CollectorRegistry()), MatchSettings(), "/test",
                          clock=FixedClock(datetime(2025, 10, 1, 10, tzinfo=UTC)))


def _records(service: LinkageService, records: list[RecordV1]) -> list[Message]:
    batch = [Incoming(json.dumps(envelope_dict(data=r, type_=EVENT_TYPE, source="/t", subject=None,
                                               event_id=r.record_id)).encode(), None, "ingest.records.v1", 0, i)
             for i, r in enumerate(records)]
    return _sent(service, service.handle_records(batch))


def _delete(service: LinkageService, child_id: str = CHILD_ID, request_id: str = "del-1") -> list[Message]:
    request = DeletionRequestV1(request_id=request_id, child_id=child_id, requested_by="保護者",
                                requested_at="2025-10-01T10:00:00+09:00")
    value = json.dumps(envelope_dict(data=request, type_=DELETION_TYPE, source="/tsunagu/casework",
                                     subject=child_id)).encode()
    return _sent(service, handle_deletions(service, [Incoming(value, child_id.encode(), "privacy.deletions.v1",
                                                              0, 0)]))


def _sent(service: LinkageService, entries: list[tuple[int, Message]]) -> list[Message]:
    assert service.store is not None
    service.store.acknowledge([seq for seq, _ in entries])  # as the worker does once the broker has them
    return [m for _, m in entries]


def _values(messages: list[Message]) -> list[dict[str, Any]]:
    return [json.loads(m[2])["data"] for m in messages if m[2] is not None]


def _stored_text(service: LinkageService) -> str:
    assert service.store is not None
    with service.store.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT tbl, k, v FROM state").all()
        outbox = conn.exec_driver_sql("SELECT k, v FROM outbox").all()
    return json.dumps([list(r) for r in rows], ensure_ascii=False) + repr(outbox)


def _city(service: LinkageService) -> list[Message]:
    return _records(service, [
        resident(HEAD, HOUSEHOLD, birth="1985-01-01", reason="initial_load", name_kana="ミナミ ハナコ",
                 name_kanji="南 花子"),
        resident(CHILD, HOUSEHOLD, birth="2023-04-05", name_kana="ミナミ ソラ", name_kanji="南 空"),
        resident(SIBLING, HOUSEHOLD, birth="2021-02-03", name_kana="ミナミ ウミ", name_kanji="南 海"),
        assistance("started", "C71", HOUSEHOLD, HEAD, "2025-05-01"),
        record(MCH, f"{MCH}.infant_checkup.recorded", [person("child", atena_no=CHILD)], day="2025-06-01",
               checkup="1y6m", weight_kg=9.1),
    ])


def test_the_child_leaves_state_and_store_with_retractions_and_a_tombstone(tmp_path: Path) -> None:
    service = _service(tmp_path)
    before = _city(service)
    sent_to_child = {p["fact_id"]: p for p in _values(before) if p.get("child_id") == CHILD_ID and "kind" in p}
    assert {p["kind"] for p in sent_to_child.values()} == {"residence", "public_assistance", "infant_checkup"}

    out = _delete(service)

    tombstones = [m for m in out if m[2] is None]
    assert tombstones == [("linkage.children.v1", CHILD_ID.encode(), None, {})]
    retractions = _values(out)
    assert {r["fact_id"] for r in retractions} == set(sent_to_child)
    for r in retractions:
        assert r["child_id"] == CHILD_ID and r["status"] == "retracted"
        assert r["record_id"] == f"{DELETION_RECORD_PREFIX}del-1" and r["attributes"] == {}
        assert r["valid_from"] is None and r["record_date"] is None
        assert r["version"] == sent_to_child[r["fact_id"]]["version"] + 1
    state = service.state
    assert CHILD_ID not in state.persons and state.person_for_key(atena_key(CHILD)) is None
    assert deleted_keys(state, [atena_key(CHILD), atena_key(SIBLING)]) == {atena_key(CHILD)}
    # nothing about the child in the store: no id, no 宛名番号, no name, no birth date; the sibling is intact
    text = _stored_text(service)
    for trace in (CHILD_ID, f"atena:{CHILD}", "ミナミ ソラ", "南 空", "2023-04-05"):
        assert trace not in text, trace
    reloaded = service.store.loaded() if service.store else None
    assert reloaded is not None and CHILD_ID not in reloaded.persons
    sibling = person_id_for(atena_key(SIBLING))
    assert sibling in reloaded.persons
    assistance_fact = reloaded.source_facts["public_assistance|C71"]
    assert {p["child_id"] for p in assistance_fact.emitted.values()} == {sibling}


def test_a_redelivered_request_changes_nothing(tmp_path: Path) -> None:
    service = _service(tmp_path)
    _city(service)
    _delete(service)
    text = _stored_text(service)
    assert _delete(service) == []
    assert _stored_text(service) == text
    assert service.metrics.deletions.labels("duplicate")._value.get() == 1


def test_old_records_replayed_and_new_ones_never_bring_the_child_back(tmp_path: Path) -> None:
    service = _service(tmp_path)
    _city(service)
    _delete(service)
    replayed = _records(service, [
        resident(CHILD, HOUSEHOLD, birth="2023-04-05", name_kana="ミナミ ソラ", name_kanji="南 空"),
        record(MCH, f"{MCH}.infant_checkup.recorded", [person("child", atena_no=CHILD)], day="2026-04-10",
               checkup="3y"),
        record(MCH, f"{MCH}.birth.recorded", [person("mother", atena_no=HEAD), person("child", atena_no=CHILD)],
               day="2023-04-05", birth_date="2023-04-05"),
        assistance("ended", "C71", HOUSEHOLD, HEAD, "2025-09-30"),
    ])
    assert CHILD_ID not in service.state.persons
    assert all(p.get("child_id") != CHILD_ID for p in _values(replayed))
    ended = [p for p in _values(replayed) if p.get("kind") == "public_assistance"]
    assert [p["child_id"] for p in ended] == [person_id_for(atena_key(SIBLING))]  # the household goes on
    assert CHILD_ID not in _stored_text(service) and f"atena:{CHILD}" not in _stored_text(service)
    assert service.metrics.records_processed.labels("deleted")._value.get() == 2


def test_an_unknown_child_is_recorded_and_changes_nothing_else(tmp_path: Path) -> None:
    service = _service(tmp_path)
    _city(service)
    persons = set(service.state.persons)
    assert _delete(service, child_id="no-such-child", request_id="del-x") == []
    assert set(service.state.persons) == persons
    assert service.metrics.deletions.labels("unknown_child")._value.get() == 1


def test_a_merged_alias_goes_with_the_child_and_a_tombstone_survives_the_outbox(tmp_path: Path) -> None:
    service = _service(tmp_path)
    _city(service)
    state = service.state
    alias = state.persons[person_id_for(atena_key(SIBLING))]
    alias.merged_into, alias.status = CHILD_ID, "merged"  # as a must-link merge leaves it
    state.touch("person", alias.person_id)
    request = DeletionRequestV1(request_id="del-2", child_id=alias.person_id, requested_by="本人",
                                requested_at="2025-10-01T10:00:00+09:00")
    value = json.dumps(request.model_dump()).encode()  # plain JSON is accepted too
    entries = handle_deletions(service, [Incoming(value, None, "privacy.deletions.v1", 0, 1)])
    assert service.store is not None
    pending = [m for _, m in service.store.pending()]
    assert pending == [m for _, m in entries]  # the tombstones come back out of the outbox as tombstones
    assert {m[1] for m in pending if m[2] is None} == {CHILD_ID.encode(), alias.person_id.encode()}
    assert alias.person_id not in state.persons and CHILD_ID not in state.persons
