"""``fact_data``: a fact's JSON written without pydantic is the JSON pydantic writes, and a payload it cannot vouch
for goes to pydantic (issue 19, fourteenth pass)."""

from __future__ import annotations

import math
from typing import Any, get_args

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.topics.linkage_facts import FactKind, FactV1, Relation
from services.linkage.service_layer.messages import encode, fact_data
from services.linkage.service_layer.unit import Out

pytestmark = pytest.mark.unit

_scalar = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8) \
    | st.floats(allow_nan=False, allow_infinity=False)
_text = st.text(min_size=1, max_size=12)
_optional = st.none() | st.text(max_size=10)


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    payload: dict[str, Any] = {"fact_id": draw(_text), "child_id": draw(_text),
                               "kind": draw(st.sampled_from(get_args(FactKind))),
                               "relation": draw(st.sampled_from(get_args(Relation))),
                               "source_system": draw(_text), "record_id": draw(_text)}
    for name in ("status", "record_date", "valid_from", "valid_to", "attributes", "version", "source_time",
                 "not_a_field"):
        if draw(st.booleans()):
            payload[name] = draw({"status": st.sampled_from(("asserted", "retracted")),
                                  "attributes": st.dictionaries(st.text(max_size=6), _scalar, max_size=5),
                                  "version": st.none() | st.integers(1, 10**6),
                                  "not_a_field": _scalar}.get(name, _optional))
    keys = draw(st.permutations(list(payload)))  # the model's order comes from the model, not the payload
    return {key: payload[key] for key in keys}


@given(payloads())
def test_a_valid_payload_is_written_as_pydantic_writes_it(payload: dict[str, Any]) -> None:
    expected = FactV1.model_validate(payload).model_dump(mode="json")
    got = fact_data(payload)
    assert got == expected
    assert orjson.dumps(got) == orjson.dumps(expected)  # the same keys in the same order: the same bytes


_BROKEN: list[tuple[str, Any]] = [
    ("kind", "not_a_kind"), ("relation", "cousin"), ("status", "deleted"), ("fact_id", None), ("fact_id", 7),
    ("child_id", b"bytes"), ("record_date", 20250801), ("version", 0), ("version", "2"), ("version", True),
    ("attributes", {"a": [1, 2]}), ("attributes", {"a": {"b": 1}}), ("attributes", ["x"]),
    ("attributes", {"a": math.inf}), ("attributes", {"a": math.nan}), ("attributes", {1: "x"}),
]


@pytest.mark.parametrize(("name", "value"), _BROKEN)
def test_what_it_cannot_vouch_for_goes_to_pydantic(name: str, value: Any) -> None:
    payload = {"fact_id": "f", "child_id": "c", "kind": "residence", "relation": "self",
               "source_system": "resident_registry", "record_id": "r", name: value}
    assert fact_data(payload) is None
    missing = dict(payload)
    del missing["fact_id"]
    assert fact_data(missing) is None


def test_a_default_container_is_never_shared() -> None:
    payload = {"fact_id": "f", "child_id": "c", "kind": "residence", "relation": "self",
               "source_system": "resident_registry", "record_id": "r"}
    first, second = fact_data(payload), fact_data(payload)
    assert first is not None and second is not None
    assert first["attributes"] == {} and first["attributes"] is not second["attributes"]


def test_encode_still_refuses_what_the_contract_refuses() -> None:
    out = Out("fact", "c", {"fact_id": "f", "child_id": "c", "kind": "not_a_kind", "relation": "self",
                            "source_system": "resident_registry", "record_id": "r"}, "2026-11-01T09:00:00+09:00")
    with pytest.raises(ValidationError):
        encode(out, "/tsunagu/linkage")


def test_encode_writes_the_fact_as_before() -> None:
    payload = {"record_id": "r", "kind": "infant_checkup", "fact_id": "f", "child_id": "c", "relation": "mother",
               "source_system": "maternal_child_health", "attributes": {"height_cm": 71.5, "ok": True, "n": 3},
               "version": 2}
    out = Out("fact", "c", payload, "2026-11-01T09:00:00+09:00")
    _, _, value, _ = encode(out, "/tsunagu/linkage", "2026-11-01T00:00:01+00:00")
    data = orjson.loads(value)["data"]
    assert list(data) == list(FactV1.model_fields)
    expected = FactV1.model_validate({**payload, "source_time": "2026-11-01T00:00:01+00:00"})
    assert data == expected.model_dump(mode="json")
