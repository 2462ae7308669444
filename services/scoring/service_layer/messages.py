"""linkage.facts.v1 messages as scoring takes them in: decoded, checked against the contract, or refused.

The contract is ``Envelope[FactV1]``. Building those pydantic models for every message costs more than all the
rest of decoding, so a message is read with orjson and checked field by field against the same constraints;
the fact comes out as the plain JSON scoring stores. Anything this check is not sure of (a type pydantic would
coerce, a malformed time, invalid JSON) goes to the contract's own validation, which then decides: it accepts
the same messages with the same values, and refuses the rest with its reasons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from sys import intern
from typing import Any, TypeGuard, get_args

import orjson
from pydantic import AwareDatetime, TypeAdapter, ValidationError

from contracts import progress
from contracts.envelope import Envelope
from contracts.topics import linkage_facts
from contracts.topics.linkage_facts import FactKind, FactV1, Relation

FACT_ENVELOPE = Envelope[FactV1]  # parametrise once: pydantic's generic lookup is costly per message
_KINDS = frozenset(get_args(FactKind))
_RELATIONS = frozenset(get_args(Relation))
_STATUSES = frozenset({"asserted", "retracted"})
_TIME = TypeAdapter(AwareDatetime)
_ABSENT = object()
_BEYOND_64_BITS = 2.0**63
_SHARED_MAX = 12  # characters: days (10), ward and other codes, flags; not names, ids or free text


class InvalidFactMessage(Exception):
    """A message on linkage.facts.v1 that cannot be used; ``reason`` is a short fixed label (a metric label)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class IncomingFact:
    """The ``data`` of a valid linkage.facts.v1 message: whose fact, asserted or retracted, and the fact as the
    child's state stores it (fact_id, kind, relation, source_system, record_id, record_date, valid_from,
    valid_to, attributes), and linkage's version of it. ``stored`` is shared with that state, never changed."""

    child_id: str
    status: str
    stored: dict[str, Any]
    version: int | None = None  # linkage's version of this fact for this child (None: sent without one)
    source_time: str | None = None  # when the source handed over the causing event; not stored, not compared

    @property
    def fact_id(self) -> str:
        return str(self.stored["fact_id"])

    @property
    def kind(self) -> str:
        return str(self.stored["kind"])

    @classmethod
    def of(cls, fact: FactV1) -> IncomingFact:
        return cls(fact.child_id, fact.status, {
            "fact_id": fact.fact_id, "kind": fact.kind, "relation": fact.relation,
            "source_system": fact.source_system, "record_id": fact.record_id, "record_date": fact.record_date,
            "valid_from": fact.valid_from, "valid_to": fact.valid_to, "attributes": dict(fact.attributes)},
            fact.version, fact.source_time)


PROGRESS_KEY = linkage_facts.PROGRESS_KEY_PREFIX.encode()


def is_progress(key: bytes | None) -> bool:
    """Whether the message is linkage's progress report (its key; a child id never starts so)."""
    return key is not None and key.startswith(PROGRESS_KEY)


def decode_progress(raw: bytes | str | None) -> Envelope[linkage_facts.ProgressV1]:
    """A progress report: how far behind linkage is, and how much of its input it has not handled yet
    (contracts/topics/linkage_facts.py); the envelope's ``time`` is when linkage wrote it."""
    return progress.decode(raw.encode() if isinstance(raw, str) else raw, linkage_facts.PROGRESS_EVENT_TYPE,
                           lambda detail: InvalidFactMessage("invalid_progress", detail))


def decode_fact(raw: bytes | str | None, key: bytes | str | None = None) -> tuple[str, IncomingFact]:
    """Parses one linkage.facts.v1 message; errors name fields, never values (they may be personal)."""
    if raw is None:
        raise InvalidFactMessage("empty", "message has no value")
    checked = _checked(raw)
    if checked is None:
        checked = _validated(raw)
    event_type, event_id, fact = checked
    if event_type != linkage_facts.EVENT_TYPE:
        raise InvalidFactMessage("unknown_type", f"event type is not {linkage_facts.EVENT_TYPE}")
    if key is not None:
        key_text = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
        if key_text != fact.child_id:
            raise InvalidFactMessage("key_mismatch", "record key differs from data.child_id")
    return event_id, fact


def _validated(raw: bytes | str) -> tuple[str, str, IncomingFact]:
    """The contract's own validation: the reference for what is accepted, and the reasons for what is not."""
    try:
        envelope = FACT_ENVELOPE.model_validate_json(raw)
    except ValidationError as exc:
        kinds = {e["type"] for e in exc.errors()}
        reason = "invalid_json" if kinds & {"json_invalid", "json_type"} else "invalid_schema"
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})[:5]
        raise InvalidFactMessage(reason, f"fields {fields}") from None
    return envelope.type, envelope.id, IncomingFact.of(envelope.data)


def _checked(raw: bytes | str) -> tuple[str, str, IncomingFact] | None:
    """The message when it plainly meets the contract as it stands (no coercion needed); else ``None``."""
    try:
        message = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(message) is not dict:
        return None
    get = message.get
    event_id, event_type, data = get("id"), get("type"), get("data")
    if not (_text(event_id, 128) and _text(get("source"), 256) and _text(event_type, 128)
            and get("specversion", "1.0") == "1.0" and get("datacontenttype", "application/json") == "application/json"
            and _subject(get("subject")) and _schema_version(get("schemaversion", 1)) and _time(get("time"))
            and type(data) is dict):
        return None
    fact = _fact(data)
    return None if fact is None else (event_type, event_id, fact)


def _fact(data: dict[str, Any]) -> IncomingFact | None:
    get = data.get
    fact_id, child_id, kind, relation = get("fact_id"), get("child_id"), get("kind"), get("relation")
    status, source_system, record_id = get("status", "asserted"), get("source_system"), get("record_id")
    record_date, valid_from, valid_to = get("record_date"), get("valid_from"), get("valid_to")
    attributes, version, source_time = get("attributes", _ABSENT), get("version"), get("source_time")
    if attributes is _ABSENT:
        attributes = {}
    if not (version is None or (type(version) is int and version >= 1)):
        return None
    if not (type(fact_id) is str and type(child_id) is str and type(source_system) is str
            and type(record_id) is str and type(kind) is str and kind in _KINDS and type(relation) is str
            and relation in _RELATIONS and type(status) is str and status in _STATUSES
            and _optional_str(record_date) and _optional_str(valid_from) and _optional_str(valid_to)
            and _optional_str(source_time) and type(attributes) is dict):
        return None
    # The state keeps these strings for a long time, many facts over: one object for each distinct short value
    # (kinds, systems, days, codes) instead of one per fact (docs/scoring.md, "Memory"). Equal values, so nothing
    # that compares or encodes them changes. The attributes are checked (``_scalar``) and shared in one pass.
    shared_attributes: dict[str, Any] = {}
    for name, value in attributes.items():
        kind_of = type(value)
        if kind_of is str:
            if len(value) <= _SHARED_MAX:
                value = intern(value)
        elif not (value is None or kind_of is int or kind_of is bool or (kind_of is float and _scalar(value))):
            return None
        shared_attributes[name] = value
    return IncomingFact(child_id, status, {
        "fact_id": fact_id, "kind": intern(kind), "relation": intern(relation),
        "source_system": intern(source_system), "record_id": record_id, "record_date": _shared(record_date),
        "valid_from": _shared(valid_from), "valid_to": _shared(valid_to),
        "attributes": shared_attributes if attributes else attributes},
        version, source_time)


def _shared(value: Any) -> Any:
    """A short string as its one shared object (a day, a code); anything else as it is."""
    return intern(value) if type(value) is str and len(value) <= _SHARED_MAX else value


def _text(value: object, max_length: int) -> TypeGuard[str]:
    return type(value) is str and 0 < len(value) <= max_length


def _optional_str(value: object) -> bool:
    return value is None or type(value) is str


def _subject(value: object) -> bool:
    return value is None or (type(value) is str and len(value) <= 128)


def _schema_version(value: object) -> bool:
    return type(value) is int and value >= 1


def _time(value: object) -> bool:
    if type(value) is not str:
        return False
    try:
        _TIME.validate_strings(value)
    except ValidationError:
        return False
    return True


def _scalar(value: object) -> bool:
    if isinstance(value, float):  # orjson reads an integer beyond 64 bits as a float; pydantic keeps it an int
        return type(value) is float and math.isfinite(value) and abs(value) < _BEYOND_64_BITS
    return value is None or type(value) in (str, int, bool)
