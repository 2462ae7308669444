"""Disclosure (開示) in scoring: the reply holds the facts scoring keeps for the request's child (by source system
and date) and its current assessment, nothing of another child; a child not held (unknown, deleted) is answered
"nothing held"; the message fits Kafka's default size, dropping the oldest facts and counting them."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.envelope import Envelope, envelope_dict
from contracts.topics.privacy_disclosures import (
    MAX_REPLY_BYTES,
    REPLY_EVENT_TYPE,
    REQUEST_EVENT_TYPE,
    DisclosureReplyV1,
    DisclosureRequestV1,
    decode_request,
)
from services.scoring.service_layer.disclosure import answer, reply
from services.scoring.service_layer.handlers import decode_fact, handle_fact
from services.scoring.service_layer.privacy import forget_child
from tests.unit.scoring.factories import FUKUOKA, FakeStore, ForgettingFakeStore, envelope, fact_dict

pytestmark = pytest.mark.unit
TODAY = date(2026, 6, 1)
NOW = datetime(2026, 6, 1, 3, 0, tzinfo=UTC)


def _fact(store: FakeStore, data: dict[str, Any]) -> None:
    event_id, fact = decode_fact(envelope(data), data["child_id"])
    handle_fact(fact, event_id=event_id, partition=4, store=store, rulebook=FUKUOKA, today=TODAY)


def _flagged(store: FakeStore, child: str, case_no: str) -> None:
    _fact(store, fact_dict("residence", fact_id=f"res-{child}", child_id=child, valid_from="2021-04-01",
                           birth_date="2015-05-01", sex="1", ward_code="40133", resident_since="2021-04-01"))
    _fact(store, fact_dict("public_assistance", fact_id=f"pa-{child}", child_id=child, relation="household",
                           case_no=case_no, valid_from="2026-04-01"))


def _request(child: str, request_id: str = "req-1") -> DisclosureRequestV1:
    return DisclosureRequestV1(request_id=request_id, child_id=child, requested_at="2026-06-01T11:59:00+09:00")


def test_the_reply_holds_the_childs_facts_and_assessment_and_nothing_of_another_child() -> None:
    store = FakeStore()
    _flagged(store, "child-a", "CASE-A-777")
    _flagged(store, "child-b", "CASE-B-999")
    got = answer(_request("child-a"), store, now=NOW)
    assert (got.request_id, got.child_id, got.service, got.held) == ("req-1", "child-a", "scoring", True)
    assert {(f.source_system, f.kind, f.relation, f.valid_from) for f in got.facts} == {
        ("resident_registry", "residence", "self", "2021-04-01"),
        ("public_assistance", "public_assistance", "household", "2026-04-01")}
    assert any(f.attributes.get("case_no") == "CASE-A-777" for f in got.facts)
    labels = [e.label for e in got.entries]
    assert any(label.startswith("項目18") for label in labels), labels  # 生活保護 raises item 18
    assert "段階・点数" in labels and "判定した日" in labels
    key, value = reply(_request("child-a"), store, now=NOW)[1:]
    assert key == b"req-1"
    text = value.decode()
    assert "CASE-A-777" in text and "child-b" not in text and "CASE-B-999" not in text


def test_a_child_not_held_is_answered_nothing_held() -> None:
    store = ForgettingFakeStore()
    _flagged(store, "child-a", "CASE-A-777")
    assert reply(_request("nobody"), store, now=NOW)[0] == "not_held"
    forget_child("child-a", store)  # deleted on request (削除)
    outcome, key, value = reply(_request("child-a", "req-2"), store, now=NOW)
    event = Envelope[DisclosureReplyV1].model_validate_json(value)
    assert outcome == "not_held" and key == b"req-2"
    assert (event.data.held, event.data.facts, event.data.entries) == (False, [], [])
    assert "CASE-A-777" not in value.decode()


def test_the_reply_is_an_envelope_with_a_stable_id_and_the_opt_out_state() -> None:
    store = FakeStore()
    _flagged(store, "child-a", "C1")
    state = store.states["child-a"]
    store.states["child-a"] = {**state, "o": {"active": True, "at": "2026-05-20T10:00:00+09:00"}}
    first = Envelope[DisclosureReplyV1].model_validate_json(reply(_request("child-a"), store, now=NOW)[2])
    again = Envelope[DisclosureReplyV1].model_validate_json(reply(_request("child-a"), store, now=NOW)[2])
    assert first.type == REPLY_EVENT_TYPE and first.id == again.id == "req-1:scoring"
    assert any(e.label == "利用停止" and e.value.startswith("利用停止中") for e in first.data.entries)


def test_an_oversized_reply_drops_its_oldest_facts_and_counts_them() -> None:
    store = FakeStore()
    _flagged(store, "child-a", "C1")
    state = store.states["child-a"]
    many = {f"survey-{i}": {"fact_id": f"survey-{i}", "kind": "survey", "relation": "self",
                            "source_system": "school_surveys", "record_id": f"r{i}",
                            "record_date": f"20{10 + i // 100:02d}-01-01", "valid_from": None, "valid_to": None,
                            "attributes": {"note": "x" * 2000}} for i in range(600)}
    store.states["child-a"] = {**state, "f": {**state["f"], **many}}
    value = reply(_request("child-a"), store, now=NOW)[2]
    data = Envelope[DisclosureReplyV1].model_validate_json(value).data
    assert len(value) <= MAX_REPLY_BYTES
    assert data.omitted_facts > 0 and len(data.facts) + data.omitted_facts == 602
    kept = [f.record_date or f.valid_from or "" for f in data.facts]
    assert kept == sorted(kept) and min(kept) >= "2010"  # the newest are kept, listed by date


def test_requests_are_decoded_from_their_envelope_and_anything_else_is_refused() -> None:
    request = _request("child-a")
    wrapped = json.dumps(envelope_dict(data=request, type_=REQUEST_EVENT_TYPE, source="/tsunagu/casework",
                                       subject="child-a")).encode()
    assert decode_request(wrapped) == request
    assert decode_request(request.model_dump_json().encode()) == request
    other = json.dumps(envelope_dict(data=request, type_="something.else", source="/x", subject="c")).encode()
    assert decode_request(other) is None
    assert decode_request(b"not json") is None and decode_request(None) is None
