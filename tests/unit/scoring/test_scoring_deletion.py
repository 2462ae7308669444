"""Deletion on request in scoring: a deletion retraction or the request forgets the child's state, publishes
nothing, and a redelivery changes nothing (the worker's wiring: test_scoring_worker.py)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from contracts.envelope import envelope_dict
from contracts.topics.privacy_deletions import EVENT_TYPE, DeletionRequestV1
from services.scoring.service_layer.handlers import decode_fact, handle_fact
from services.scoring.service_layer.privacy import decode_deletion, forget_child, is_deletion
from services.scoring.service_layer.state import WORKING
from tests.unit.scoring.factories import FUKUOKA, FakeStore, ForgettingFakeStore, envelope, fact_dict

pytestmark = pytest.mark.unit
TODAY = date(2026, 6, 1)



def _flagged_child(store: FakeStore, child: str) -> None:
    for data in (fact_dict("residence", fact_id=f"res-{child}", child_id=child, valid_from="2021-04-01",
                           birth_date="2015-05-01", sex="1", ward_code="40133", resident_since="2021-04-01"),
                 fact_dict("public_assistance", fact_id=f"pa-{child}", child_id=child, relation="household",
                           case_no="C1", valid_from="2026-04-01")):
        _, fact = decode_fact(envelope(data), child)
        handle_fact(fact, event_id="e", partition=4, store=store, rulebook=FUKUOKA, today=TODAY)
    assert store.states[child]["a"]["flags"], "the child is flagged before the deletion"


def _deletion_retraction(child: str, fact_id: str, version: int = 2) -> Any:
    data = {"fact_id": fact_id, "child_id": child, "kind": "public_assistance", "relation": "household",
            "status": "retracted", "source_system": "public_assistance", "record_id": "privacy-deletion:req-1",
            "record_date": None, "valid_from": None, "valid_to": None, "attributes": {}, "version": version}
    return decode_fact(envelope(data), child)[1]


def test_a_deletion_retraction_is_told_from_an_ordinary_one() -> None:
    assert is_deletion(_deletion_retraction("c1", "pa-c1"))
    ordinary = fact_dict("public_assistance", child_id="c1", status="retracted", relation="household")
    assert not is_deletion(decode_fact(envelope(ordinary), "c1")[1])


def test_forgetting_removes_the_state_and_the_parsed_copy_and_publishes_nothing() -> None:
    store = ForgettingFakeStore()
    _flagged_child(store, "c1")
    _flagged_child(store, "c2")
    assert forget_child("c1", store) is True
    assert "c1" not in store.states and store.deleted == [("c1", 4)]  # the row's own partition
    assert WORKING.take("c1", None).is_empty  # no parsed copy left behind
    assert "c2" in store.states  # another child is untouched
    assert forget_child("c1", store) is False  # redelivery: nothing held, nothing written
    assert store.deleted == [("c1", 4)]


def test_deletion_requests_are_decoded_from_the_envelope_or_plain_and_junk_is_refused() -> None:
    request = DeletionRequestV1(request_id="req-1", child_id="c1", requested_by="本人",
                                requested_at="2026-06-01T10:00:00+09:00")
    wrapped = json.dumps(envelope_dict(data=request, type_=EVENT_TYPE, source="/t", subject="c1")).encode()
    assert decode_deletion(wrapped) == request
    assert decode_deletion(request.model_dump_json().encode()) == request
    assert decode_deletion(b"not json") is None and decode_deletion(None) is None
