"""Opt-out (利用停止) in scoring: while a child's opt-out holds, nothing is evaluated or published for it.

Casework publishes each child's opt-out state on privacy.optouts.v1 (compacted, key child id, co-partitioned with
linkage.facts.v1). The state is kept in the child's own ``child-state`` row (``o``: active, and casework's
``changed_at``), so it survives a restart with the rest of the state (the changelog):

* **opt-out**: recorded; from then on a fact updates the child's facts (and versions) but is not evaluated and
  publishes nothing (handlers.handle_fact, outcome ``opted_out``); the clock does not evaluate the child either
  (handlers.settle_child), though it still purges expired facts. The last published assessment is left as it was:
  casework holds the same, and the withdrawal publishes the difference.
* **withdrawal**: the child is evaluated afresh at once and what changed since the last published assessment is
  published as a normal ``scoring.flags.v1`` change (nothing when nothing changed: casework already holds it).
  As for a fact, an absence (items 3, 16) is left to the next day's sweep.
* a message not newer than the one held (``changed_at``: a redelivery, a replay after a restart) changes nothing.
* a **tombstone** (null value: casework deleted the child, 削除) publishes nothing: a row holding only the opt-out
  is deleted; a row with facts stays as it is until the deletion itself reaches scoring (privacy.py).

Idempotent; logs and metrics carry no child id.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal, Protocol

from pydantic import ValidationError

from contracts.envelope import Envelope
from contracts.topics.privacy_optouts import EVENT_TYPE, OptOutV1
from services.scoring.domain.rulebook import Rulebook
from services.scoring.service_layer.handlers import Published, reassess
from services.scoring.service_layer.state import WORKING

OptOutOutcome = Literal["opted_out", "withdrawn", "stale", "tombstone_forgotten", "tombstone_kept",
                        "tombstone_not_held"]


class InvalidOptOut(ValueError):
    """A privacy.optouts.v1 message that is not an opt-out of the child its key names (``reason``: a code)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class OptOutStore(Protocol):
    """The child-state rows, written to each row's own changelog partition (adapters/changelog_store.py)."""

    def get(self, child_id: str) -> dict[str, Any] | None: ...

    def put(self, child_id: str, state: dict[str, Any], partition: int | None) -> None: ...

    def delete(self, child_id: str, partition: int | None) -> None: ...


def decode_opt_out(key: bytes | None, value: bytes | None) -> tuple[str, OptOutV1 | None]:
    """The child id and its opt-out state; ``None`` for a tombstone. Raises InvalidOptOut."""
    child_id = key.decode("utf-8", "replace") if key else ""
    if not child_id:
        raise InvalidOptOut("no_key")
    if value is None:
        return child_id, None
    try:
        event = Envelope[OptOutV1].model_validate_json(value)
    except ValidationError as exc:
        raise InvalidOptOut("invalid_schema") from exc
    if event.type != EVENT_TYPE:
        raise InvalidOptOut("unknown_type")
    if event.data.child_id != child_id:
        raise InvalidOptOut("key_mismatch")
    try:
        datetime.fromisoformat(event.data.changed_at)
    except ValueError as exc:
        raise InvalidOptOut("invalid_schema") from exc
    return child_id, event.data


def _newer(opt: OptOutV1, held: dict[str, Any] | None) -> bool:
    if not held or not held.get("at"):
        return True
    return datetime.fromisoformat(opt.changed_at) > datetime.fromisoformat(held["at"])


def handle_opt_out(child_id: str, opt: OptOutV1 | None, *, partition: int | None, store: OptOutStore,
                   rulebook: Rulebook, today: date, hold: bool = False) -> tuple[OptOutOutcome, Published | None]:
    """Applies the child's opt-out state; returns the flags message a withdrawal publishes, if any.
    ``partition``: the message's, used only for a child not held yet (the topics are co-partitioned)."""
    raw = store.get(child_id)
    state = WORKING.take(child_id, raw)
    if opt is None:
        if raw is None:
            return "tombstone_not_held", None
        if state.is_empty:  # only the opt-out was held: nothing of the child stays
            store.delete(child_id, raw.get("p"))
            return "tombstone_forgotten", None
        WORKING.keep(child_id, raw, state)
        return "tombstone_kept", None
    if not _newer(opt, state.opt_out):
        if raw is not None:
            WORKING.keep(child_id, raw, state)
        return "stale", None
    was_out = state.opted_out
    state.opt_out = {"active": opt.active, "at": opt.changed_at}
    if state.partition is None:
        state.partition = partition
    published = None
    state.evaluated_on = None  # evaluated afresh when it is evaluated again (the withdrawal, the sweep)
    if not opt.active and was_out and not hold and state.facts:
        published = reassess(child_id, state, today, rulebook)
    new_raw = state.to_json()
    store.put(child_id, new_raw, state.partition)
    WORKING.keep(child_id, new_raw, state)
    return ("opted_out" if opt.active else "withdrawn"), published
