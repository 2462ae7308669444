"""Stable identities: person ids, fact ids and event ids derived from keys, never random.

A *key* names a person in one source: ``atena:<宛名番号>`` (municipal person number) or
``student:<児童生徒番号>`` (student id, unique within the city's school system).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import date
from functools import lru_cache
from typing import Any

import orjson

NAMESPACE = uuid.UUID("8a1c7d2e-5b0f-4f6e-9c3a-2d7e1b4f6a90")
ADULT_AGE = 18


def atena_key(atena_no: str) -> str:
    return f"atena:{atena_no}"


def student_key(student_id: str) -> str:
    return f"student:{student_id}"


_NS_SHA1 = hashlib.sha1(NAMESPACE.bytes, usedforsecurity=False)  # the namespace hashed once, copied per name
# the variant bits (10xx) set on the hex digit they fall in
_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


def uuid5(name: str) -> str:
    """``str(uuid.uuid5(NAMESPACE, name))`` without building UUID objects (it runs for every fact): the SHA-1's
    first 32 hex digits with the version digit 5 and the variant bits set."""
    sha = _NS_SHA1.copy()
    sha.update(name.encode())
    h = sha.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def person_id_for(first_key: str) -> str:
    """The id a person gets from the first key seen; a replay sees the same first key."""
    return uuid5(f"person|{first_key}")


def split_person_id(key: str, record_id: str) -> str:
    return uuid5(f"split|{key}|{record_id}")


def fact_id_for(source_fact_key: str, child_id: str) -> str:
    return uuid5(f"fact|{source_fact_key}|{child_id}")


def review_id_for(record_id: str, subject_key: str) -> str:
    return uuid5(f"review|{record_id}|{subject_key}")


def content_hash(payload: dict[str, Any]) -> str:
    """BLAKE2b of the payload's canonical JSON (``json.dumps``: sorted keys, no spaces, UTF-8). A payload of only
    strings, integers, booleans, None, floats of ordinary size (``_plain``), lists and dicts keyed by strings —
    every payload linkage sends — is written by orjson instead: the same bytes (``text_hash``) for ≈ a tenth of the CPU
    (issue 19, eighth pass; ``tests/unit/linkage/test_identity.py`` compares the two)."""
    if _plain(payload):
        try:
            raw = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:  # an integer beyond 64 bits, a lone surrogate: json.dumps writes them
            pass
        else:
            return hashlib.blake2b(raw, digest_size=10).hexdigest()
    return hashlib.blake2b(_canonical(payload).encode(), digest_size=10).hexdigest()


def _canonical(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _plain(value: object) -> bool:
    """Only values orjson writes byte for byte as ``json.dumps`` does. A float is one when it is 0 or between 1e-4
    and 1e16 in size: both write the shortest digits that read back as the same float, in plain decimals there
    (orjson 3.13, pinned). Outside, they write them differently (json.dumps 1e-09 and 4.9e-05, orjson 1e-9 and
    0.000049), and infinities and NaN not at all alike. A payload with a float (≈ 29 % of linkage's messages at
    scale 0.25) took ``json.dumps`` for that alone: ≈ 22 µs against ≈ 3 (issue 19, fourteenth pass)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float and isinstance(value, float):  # the second for the type checker
        size = abs(value)
        return size == 0.0 or 1e-4 <= size < 1e16  # NaN: False
    if type(value) is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if type(value) is list or type(value) is tuple:
        return all(_plain(v) for v in value)
    return False


def text_hash(payload: dict[str, str | None]) -> str:
    """``content_hash`` of a payload whose values are strings or None (a child's profile): orjson writes exactly
    the bytes ``json.dumps`` does for those (sorted keys, no spaces, UTF-8, the same escapes), at a fraction of
    the cost, so a hash stored before is still equal. Not for floats, which the two write differently."""
    return hashlib.blake2b(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS), digest_size=10).hexdigest()


def event_id_for(entity_id: str, payload: dict[str, Any]) -> str:
    """Same entity, same content → same event id, so a re-sent outbox message is recognisably the same."""
    return f"lk-{content_hash({'e': entity_id, 'p': payload})}"


@lru_cache(maxsize=65_536)  # a few tens of thousands of birth and record dates, each parsed many times
def parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def age_on(birth_date: str | None, on: str | None) -> int | None:
    born, day = parse_date(birth_date), parse_date(on)
    if born is None or day is None:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def is_minor(birth_date: str | None, on: str | None) -> bool:
    age = age_on(birth_date, on)
    return age is not None and 0 <= age < ADULT_AGE
