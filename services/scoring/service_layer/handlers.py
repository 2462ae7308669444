"""Use cases: a fact arrives for a child; the clock moves on. Each returns the flags message to publish, if any."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from contracts.envelope import Envelope, envelope_dict
from contracts.topics import linkage_facts, scoring_flags
from contracts.topics.linkage_facts import FactV1
from contracts.topics.scoring_flags import ChildFlagsV1
from services.scoring.adapters.rulebook import Rulebook
from services.scoring.domain.evaluation import evaluate
from services.scoring.domain.model import EMPTY_ASSESSMENT
from services.scoring.service_layer.state import ChildState

SOURCE = "/tsunagu/scoring"
_ID_NAMESPACE = uuid.UUID("6f1f9c55-2f0e-4d8a-9a51-3b0c5d7e2a10")

Outcome = Literal["flags_changed", "no_change"]


class InvalidFactMessage(Exception):
    """A message on linkage.facts.v1 that cannot be used; ``reason`` is a short fixed label (a metric label)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class StateStore(Protocol):
    def get(self, child_id: str) -> dict[str, Any] | None: ...

    def put(self, child_id: str, state: dict[str, Any], partition: int | None) -> None: ...


@dataclass(frozen=True)
class Published:
    child_id: str
    envelope: dict[str, Any]

    @property
    def value(self) -> bytes:
        return json.dumps(self.envelope, ensure_ascii=False, separators=(",", ":")).encode()


def decode_fact(raw: bytes | str | None, key: bytes | str | None = None) -> tuple[str, FactV1]:
    """Parses one linkage.facts.v1 message; errors name fields, never values (they may be personal)."""
    if raw is None:
        raise InvalidFactMessage("empty", "message has no value")
    try:
        envelope = Envelope[FactV1].model_validate_json(raw)
    except ValidationError as exc:
        kinds = {e["type"] for e in exc.errors()}
        reason = "invalid_json" if kinds & {"json_invalid", "json_type"} else "invalid_schema"
        fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors()})[:5]
        raise InvalidFactMessage(reason, f"fields {fields}") from None
    if envelope.type != linkage_facts.EVENT_TYPE:
        raise InvalidFactMessage("unknown_type", f"event type is not {linkage_facts.EVENT_TYPE}")
    if key is not None:
        key_text = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
        if key_text != envelope.data.child_id:
            raise InvalidFactMessage("key_mismatch", "record key differs from data.child_id")
    return envelope.id, envelope.data


def reassess(child_id: str, state: ChildState, today: date, rulebook: Rulebook,
             trigger: str) -> Published | None:
    """Evaluates the child on ``today``; when the assessment or ward changed, records and returns the message."""
    facts = state.child_facts()
    assessment = evaluate(facts, today, rulebook.rules, rulebook.weights)
    after = assessment.to_dict()
    ward = facts.ward_code(today)
    before = state.last_assessment
    if after == (before or EMPTY_ASSESSMENT) and (ward == state.last_ward or not assessment.flags):
        return None
    before_items = {f["item"] for f in (before or EMPTY_ASSESSMENT)["flags"]}
    message = ChildFlagsV1.model_validate({
        "child_id": child_id, "ward_code": ward, "as_of": today.isoformat(),
        "rules_version": rulebook.rules.version, "weights_version": rulebook.weights.version,
        "before": before, "after": after,
        "raised_items": sorted(assessment.items - before_items),
        "cleared_items": sorted(before_items - assessment.items),
    })
    state.last_assessment, state.last_ward = after, ward
    digest = hashlib.sha256(json.dumps(after, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    event_id = str(uuid.uuid5(_ID_NAMESPACE, f"{child_id}|{trigger}|{digest}"))
    return Published(child_id, envelope_dict(data=message, type_=scoring_flags.EVENT_TYPE, source=SOURCE,
                                             subject=child_id, event_id=event_id))


def handle_fact(fact: FactV1, *, event_id: str, partition: int | None, store: StateStore, rulebook: Rulebook,
                today: date) -> tuple[Outcome, Published | None]:
    state = ChildState.from_json(store.get(fact.child_id))
    changed = state.apply(fact)
    if not changed and state.partition == partition:
        return "no_change", None  # a duplicate delivery: nothing to do, nothing to write
    state.partition = partition
    published = reassess(fact.child_id, state, today, rulebook, trigger=f"fact:{event_id}")
    store.put(fact.child_id, state.to_json(), partition)
    return ("flags_changed" if published else "no_change"), published


def sweep_child(child_id: str, raw_state: dict[str, Any], *, store: StateStore, rulebook: Rulebook,
                today: date) -> Published | None:
    """The clock's re-evaluation of one child (age windows closing, benefits ending, rule changes)."""
    state = ChildState.from_json(raw_state)
    published = reassess(child_id, state, today, rulebook, trigger=f"sweep:{today.isoformat()}")
    if published is not None:
        store.put(child_id, state.to_json(), state.partition)
    return published
