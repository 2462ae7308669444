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
    {"floats": [1e16, 1e-5, 0.1, 1.0, float("inf")]},  # some written differently by the two: not by orjson
    {"floats": [0.1, 1.0, 123.456, 0.30000000000000004, 1e-4, 9999999999999998.0]},  # the same by both
    {"tuple": ("a", 1), "nested": {"z": [None, True, {"y": "x"}]}, "": 0},
])
def test_edge_cases_hash_as_json_dumps(payload: dict[str, Any]) -> None:
    assert content_hash(payload) == _by_json(payload)
    assert event_id_for("child", payload) == f"lk-{_by_json({'e': 'child', 'p': payload})}"


def test_a_lone_surrogate_fails_as_before() -> None:
    with pytest.raises(UnicodeEncodeError):  # json.dumps writes it, UTF-8 refuses it: as before the shortcut
        content_hash({"lone": "\ud800"})


@given(st.floats(min_value=1e-4, max_value=1e16, exclude_max=True) | st.floats(max_value=-1e-4, min_value=-1e16,
                                                                                exclude_min=True))
def test_floats_of_ordinary_size_take_the_shortcut_and_hash_as_json_dumps(value: float) -> None:
    payload = {"attributes": {"height_cm": value, "weight_kg": [value, 0.0, -0.0]}}
    assert _plain(payload)
    assert content_hash(payload) == _by_json(payload)


def test_floats_from_every_bit_pattern_that_take_the_shortcut_are_written_as_json_dumps_writes_them() -> None:
    """orjson and json.dumps over 200 000 random doubles (every exponent): where ``_plain`` lets a float through,
    the two write the same text."""
    import math
    import random
    import struct

    import orjson

    rng, checked = random.Random(19), 0
    for _ in range(200_000):
        value = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        for candidate in (value, float(f"{rng.uniform(1, 10):.{rng.randint(0, 16)}f}e{rng.randint(-5, 16)}")):
            if _plain(candidate):
                checked += 1
                assert orjson.dumps(candidate).decode() == json.dumps(candidate), repr(candidate)
            else:
                assert not math.isfinite(candidate) or abs(candidate) < 1e-4 or abs(candidate) >= 1e16
    assert checked > 100_000


def test_only_plain_payloads_take_the_shortcut() -> None:
    assert _plain({"a": [1, "x", None, True, {"b": ()}]})
    assert _plain({"a": 1.5}) and _plain({"a": [0.0, -0.0, 1e-4, 9.999e15]})
    assert not _plain({"a": 1e16}) and not _plain({"a": 9.9e-5}) and not _plain({"a": float("nan")})
    assert not _plain({"a": float("inf")}) and not _plain({"a": -1e-5}) and not _plain({1: "x"})
    assert not _plain({"a": {"b"}})  # a set: json.dumps refuses it, and so must the hash
