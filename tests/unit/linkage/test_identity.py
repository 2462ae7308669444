"""Event ids hash the payload's canonical JSON: the orjson shortcut (issue 19, eighth pass) writes the same bytes as
``json.dumps`` did, so an event id never changes with it (a replayed record must give the same id)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.linkage.domain.identity import _plain, content_hash, event_id_for

pytestmark = pytest.mark.unit


def _by_json(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(raw.encode(), digest_size=10).hexdigest()


_scalars = st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70) | st.text() \
    | st.floats(allow_nan=True, allow_infinity=True)
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner,
                                                                                            max_size=4), max_leaves=12)


@given(st.dictionaries(st.text(), _values, max_size=6))
def test_content_hash_is_the_hash_of_json_dumps(payload: dict[str, Any]) -> None:
    assert content_hash(payload) == _by_json(payload)


@pytest.mark.parametrize("payload", [
    {"a": "control \x00\x1f\x7f, quotes \" \\ / and line seps \u2028\u2029", "b": "ふくおか 福岡 😀"},
    {"big": 2**64, "neg": -(2**63) - 1},  # beyond 64 bits: orjson refuses, json.dumps writes them
    {"floats": [1e16, 1e-5, 0.1, 1.0, float("inf")]},  # written differently by the two: never by orjson
    {"tuple": ("a", 1), "nested": {"z": [None, True, {"y": "x"}]}, "": 0},
])
def test_edge_cases_hash_as_json_dumps(payload: dict[str, Any]) -> None:
    assert content_hash(payload) == _by_json(payload)
    assert event_id_for("child", payload) == f"lk-{_by_json({'e': 'child', 'p': payload})}"


def test_a_lone_surrogate_fails_as_before() -> None:
    with pytest.raises(UnicodeEncodeError):  # json.dumps writes it, UTF-8 refuses it: as before the shortcut
        content_hash({"lone": "\ud800"})


def test_only_plain_payloads_take_the_shortcut() -> None:
    assert _plain({"a": [1, "x", None, True, {"b": ()}]})
    assert not _plain({"a": 1.5}) and not _plain({"a": [0.0]}) and not _plain({1: "x"})
    assert not _plain({"a": {"b"}})  # a set: json.dumps refuses it, and so must the hash
