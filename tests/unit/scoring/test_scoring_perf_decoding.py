"""Decoding without building the pydantic models accepts exactly what the contract (Envelope[FactV1]) accepts,
with the same values, and refuses the rest with the contract's reasons."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.scoring.service_layer import messages
from services.scoring.service_layer.messages import IncomingFact, InvalidFactMessage, decode_fact
from tests.unit.scoring.factories import envelope, fact_dict

pytestmark = pytest.mark.unit

_MISSING = object()


def _reference(raw: bytes, key: str | None) -> tuple[str, IncomingFact] | tuple[str, str]:
    """What the contract's own validation says (the slow path, forced)."""
    try:
        event_type, event_id, fact = messages._validated(raw)
        if event_type != "linkage.fact.changed":
            return "unknown_type", ""
        if key is not None and key != fact.child_id:
            return "key_mismatch", ""
        return event_id, fact
    except InvalidFactMessage as refused:
        return refused.reason, refused.detail


def _decoded(raw: bytes, key: str | None) -> tuple[str, IncomingFact] | tuple[str, str]:
    try:
        return decode_fact(raw, key)
    except InvalidFactMessage as refused:
        return refused.reason, refused.detail if refused.reason.startswith("invalid") else ""


ODD_VALUES = st.sampled_from([
    None, "", "x" * 129, "x" * 300, 0, 1, -1, 2, True, False, 1.0, 1.5, float("nan"), "2", [], {}, [1], {"a": 1},
    "2026-06-01T09:00:00+09:00", "2026-06-01T09:00:00", "2026-06-01 09:00:00Z", "2026-02-30T00:00:00Z", 1700000000,
    "1.0", "application/json", "text/plain", "residence", "no_such_kind", "self", "mother", "cousin", "asserted",
    "retracted", "linkage.fact.changed", "c1", 10**20, 2**63, -(2**63) - 1, 1e20, -5.0, "2026-06-01",
])
ENVELOPE_FIELDS = ["specversion", "id", "source", "type", "time", "subject", "datacontenttype", "schemaversion"]
DATA_FIELDS = ["fact_id", "child_id", "kind", "relation", "status", "source_system", "record_id", "record_date",
               "valid_from", "valid_to", "attributes"]


@st.composite
def messages_(draw: st.DrawFn) -> dict[str, Any]:
    data = fact_dict(draw(st.sampled_from(["residence", "attendance", "public_assistance"])), child_id="c1",
                     valid_from="2026-04-01", weight_kg=12.5, attended=True, month=4, note=None, ward_code="40131")
    message: dict[str, Any] = json.loads(envelope(data, event_id="e-1"))
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(["envelope", "data", "attributes"]))
        data = message.get("data")
        target = {"envelope": message, "data": data,
                  "attributes": data.get("attributes") if isinstance(data, dict) else None}[where]
        if not isinstance(target, dict):
            continue
        name = draw(st.sampled_from({"envelope": ENVELOPE_FIELDS, "data": DATA_FIELDS,
                                     "attributes": ["weight_kg", "attended", "extra"]}[where]))
        value = draw(st.one_of(st.just(_MISSING), ODD_VALUES))
        if value is _MISSING:
            target.pop(name, None)
        else:  # a copy: the sampled [] and {} are shared, and one set inside itself is a circular reference
            target[name] = copy.deepcopy(value)
    return message


@settings(max_examples=400, deadline=None)
@given(messages_(), st.sampled_from([None, "c1", "other"]))
def test_the_quick_check_agrees_with_the_contract(message: dict[str, Any], key: str | None) -> None:
    raw = json.dumps(message, ensure_ascii=False).encode()
    assert repr(_decoded(raw, key)) == repr(_reference(raw, key))  # repr: a NaN equals itself


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[]", b"null", b'"text"', b"1", b'{"data": {}}',
                                 b'{"id": "e", "data": {"attributes": {"a": {"nested": 1}}}}'])
def test_malformed_messages_get_the_contracts_reasons(raw: bytes) -> None:
    assert _decoded(raw, None) == _reference(raw, None)


def test_an_ordinary_message_is_decoded_without_the_models() -> None:
    data = fact_dict("infant_checkup", child_id="c1", valid_from="2026-04-01", checkup="3y", weight_kg=12.5,
                     attended=True)
    checked = messages._checked(envelope(data, event_id="e-1"))
    assert checked is not None
    event_type, event_id, fact = checked
    assert (event_type, event_id, fact.child_id, fact.status) == ("linkage.fact.changed", "e-1", "c1", "asserted")
    assert list(fact.stored) == ["fact_id", "kind", "relation", "source_system", "record_id", "record_date",
                                 "valid_from", "valid_to", "attributes"]
    assert fact.stored == messages._validated(envelope(data, event_id="e-1"))[2].stored
