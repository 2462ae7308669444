"""Use cases: a fact arrives for a child; the clock moves on. Each returns the flags message to publish, if any."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal, Protocol

import orjson

from contracts.envelope import envelope_dict
from contracts.topics import scoring_flags
from services.scoring.domain.evaluation import (
    SCOPE_KINDS,
    evaluate,
    evaluate_rules,
    in_scope,
    supported_by_child_guidance,
)
from services.scoring.domain.facts import ChildFacts
from services.scoring.domain.horizon import next_change
from services.scoring.domain.model import EMPTY_ASSESSMENT
from services.scoring.domain.purge import expired_facts
from services.scoring.domain.rulebook import Rulebook
from services.scoring.domain.signals import split_signals
from services.scoring.service_layer.messages import IncomingFact, InvalidFactMessage, decode_fact
from services.scoring.service_layer.state import WORKING, ChildState

SOURCE = "/tsunagu/scoring"
_ID_NAMESPACE = uuid.UUID("6f1f9c55-2f0e-4d8a-9a51-3b0c5d7e2a10")

Outcome = Literal["flags_changed", "no_change", "stale", "opted_out"]
# decode_fact is here too, beside the use case it feeds
__all__ = ["SOURCE", "IncomingFact", "InvalidFactMessage", "Outcome", "Published", "StateStore", "change_id",
           "decode_fact", "handle_fact", "needs_review", "reassess", "sweep_child"]


class StateStore(Protocol):
    def get(self, child_id: str) -> dict[str, Any] | None: ...

    def put(self, child_id: str, state: dict[str, Any], partition: int | None) -> None: ...


@dataclass(frozen=True)
class Published:
    child_id: str
    envelope: dict[str, Any]

    @property
    def value(self) -> bytes:
        return orjson.dumps(self.envelope)


def _assess(state: ChildState, facts: ChildFacts, today: date, rulebook: Rulebook,
            changed_kinds: set[str] | None) -> tuple[dict[str, Any], str | None]:
    """The child's assessment (AssessmentV1 JSON) and the next day it could change with no new fact.

    When the last assessment was made today with the same rules and the child stays in scope, only the rules
    reading the changed kinds run again (the other flags cannot have changed), and the next-change day is the
    earlier of the one already known and the one the changed facts bring (earlier is safe: one more look).

    The rules run before the horizon: they parse the kinds they read, and the horizon reads the dates of the
    kinds none of them asked for from their JSON (``ChildFacts.dates``) instead of parsing them too."""
    rules, weights = rulebook.rules, rulebook.weights
    if (changed_kinds is None or not changed_kinds.isdisjoint(SCOPE_KINDS) or state.evaluated_on != today.isoformat()
            or state.evaluated_with != rulebook.versions or not in_scope(facts, today, rules)):
        assessment = evaluate(facts, today, rules, weights).to_dict()
        upcoming = next_change(facts, today, rules)
        return assessment, upcoming.isoformat() if upcoming else None
    rerun = rules.reading(changed_kinds)
    rerun_items = {r.item for r in rerun}
    kept = [f for f in (state.last_assessment or EMPTY_ASSESSMENT)["flags"] if f["item"] not in rerun_items]
    flags = sorted(kept + [f.to_dict() for f in evaluate_rules(facts, today, rerun)], key=lambda f: f["item"])
    after = {"flags": flags, "supported_by_child_guidance": supported_by_child_guidance(facts, today)}
    _score(after, rulebook)
    brought = next_change(facts, today, rules, changed_kinds)
    candidates = [d for d in (state.next_review_on, brought.isoformat() if brought else None) if d]
    return after, min(candidates, default=None)


def _score(assessment: dict[str, Any], rulebook: Rulebook) -> None:
    """Sets the score and tier of an assessment (AssessmentV1 JSON) from its flags."""
    weights = rulebook.weights
    score = weights.score(frozenset(f["item"] for f in assessment["flags"]))
    assessment["score"], assessment["tier"] = score, weights.tier(score) if assessment["flags"] else None


def _leave_absences_to_the_clock(after: dict[str, Any], state: ChildState, today: date, rulebook: Rulebook) -> None:
    """A fact does not raise a flag that concludes from an absence (see RuleSpec.concludes_absence): it is
    left out now and the child is looked at again tomorrow, when the clock raises it if it still holds."""
    held = rulebook.rules.raised_by_clock_only
    if not any(f["item"] in held for f in after["flags"]):
        return
    before = {f["item"] for f in (state.last_assessment or EMPTY_ASSESSMENT)["flags"]}
    deferred = [f for f in after["flags"] if f["item"] in held and f["item"] not in before]
    if not deferred:
        return
    after["flags"] = [f for f in after["flags"] if f not in deferred]
    _score(after, rulebook)
    tomorrow = (today + timedelta(days=1)).isoformat()
    state.next_review_on = min(state.next_review_on or tomorrow, tomorrow)


def _date_undated_flags(after: dict[str, Any], before: dict[str, Any] | None, today: date) -> None:
    """A flag whose facts carry no date is dated by when it was first seen (kept while it stays raised)."""
    undated = [flag for flag in after["flags"] if flag["raised_on"] is None]
    if not undated:
        return
    seen = {f["item"]: f["raised_on"] for f in (before or EMPTY_ASSESSMENT)["flags"]}
    for flag in undated:
        flag["raised_on"] = seen.get(flag["item"]) or today.isoformat()


def change_id(child_id: str, data: dict[str, Any], published_before: int) -> str:
    """The flags message's id, derived from the change itself: the child, the assessment before and after, the
    ward, the rules and weights versions, and how many messages this child's state had published before it.
    Not from what triggered it (an event id, a sweep's date): a fact replayed after a restart that recomputes
    the very same change from the same state gets the same id (a duplicate casework drops), while a later
    change — even one back to an earlier assessment — always gets a new one."""
    basis = orjson.dumps([child_id, published_before, data["before"], data["after"], data["ward_code"],
                          data["ward_since"], data["rules_version"], data["weights_version"]])
    digest = hashlib.blake2b(basis, digest_size=16).hexdigest()
    return str(uuid.uuid5(_ID_NAMESPACE, digest))


def reassess(child_id: str, state: ChildState, today: date, rulebook: Rulebook,
             changed_kinds: set[str] | None = None, *, by_clock: bool = False) -> Published | None:
    """Evaluates the child on ``today``; when the assessment or ward changed, records and returns the message.
    Only the clock (``by_clock``) may raise a flag that concludes from an absence."""
    facts = state.child_facts()
    after, state.next_review_on = _assess(state, facts, today, rulebook, changed_kinds)
    if not by_clock:
        _leave_absences_to_the_clock(after, state, today, rulebook)
    _date_undated_flags(after, state.last_assessment, today)
    state.evaluated_on, state.evaluated_with = today.isoformat(), rulebook.versions
    ward = facts.ward_code(today)
    before = state.last_assessment
    # The same assessment is published again only when the child moved to a known ward (casework moves the
    # listing); a ward that became unknown (the residence fact retracted) says nothing new: casework keeps the
    # ward it knows, and the last published ward stays the one to compare with.
    if after == (before or EMPTY_ASSESSMENT) and (ward == state.last_ward or ward is None or not after["flags"]):
        return None
    before_items = {f["item"] for f in (before or EMPTY_ASSESSMENT)["flags"]}
    after_items = {f["item"] for f in after["flags"]}
    ward_since = facts.ward_since(today) if ward else None
    # Built as plain JSON for speed; tests validate it against contracts.topics.scoring_flags.ChildFlagsV1.
    data = split_signals({  # connection signals (101…) leave the flags for the assessment's own list
        "child_id": child_id, "ward_code": ward, "ward_since": ward_since.isoformat() if ward_since else None,
        "as_of": today.isoformat(), "rules_version": rulebook.rules.version,
        "weights_version": rulebook.weights.version, "before": before, "after": after,
        "raised_items": sorted(after_items - before_items),
        "cleared_items": sorted(before_items - after_items),
    })
    event_id = change_id(child_id, data, state.published)
    state.last_assessment, state.last_ward = after, ward
    state.published += 1
    return Published(child_id, envelope_dict(data=data, type_=scoring_flags.EVENT_TYPE, source=SOURCE,
                                             subject=child_id, event_id=event_id))


def handle_fact(fact: IncomingFact, *, event_id: str, partition: int | None, store: StateStore, rulebook: Rulebook,
                today: date, hold: bool = False) -> tuple[Outcome, Published | None]:
    """``hold`` (the go-live load): the fact is recorded and the child left for the next clock sweep, which
    evaluates it afresh; nothing is published while the histories of all systems are still arriving.

    A fact whose version is not above the one held for its id (``stale``: a replay after a restart, or an
    older message arriving late) changes nothing and publishes nothing. ``event_id`` (the incoming message's)
    is not part of the output id: that comes from the resulting change (``change_id``)."""
    raw = store.get(fact.child_id)
    state = WORKING.take(fact.child_id, raw)
    if state.is_stale(fact):  # a replay of a version already applied or superseded: it must not move us back
        if raw is not None:
            WORKING.keep(fact.child_id, raw, state)
        return "stale", None
    changed = state.apply(fact)
    if not changed and state.partition == partition:
        if raw is not None:
            WORKING.keep(fact.child_id, raw, state)
        return "no_change", None  # a duplicate delivery: nothing to do, nothing to write
    state.partition = partition
    if hold or state.opted_out:
        # go-live hold: the sweep evaluates it; 利用停止: the fact is kept, nothing evaluated nor published, and
        # the withdrawal (service_layer/opt_out.py) evaluates it afresh
        state.evaluated_on = None
        _store(store, fact.child_id, state)
        return ("opted_out" if state.opted_out else "no_change"), None
    published = reassess(fact.child_id, state, today, rulebook, changed_kinds=changed)
    if published is not None and fact.source_time is not None:  # for operators' end-to-end latency
        published.envelope["data"]["source_time"] = fact.source_time
    _store(store, fact.child_id, state)
    return ("flags_changed" if published else "no_change"), published


def _store(store: StateStore, child_id: str, state: ChildState) -> None:
    raw = state.to_json()
    store.put(child_id, raw, state.partition)
    WORKING.keep(child_id, raw, state)


def needs_review(raw_state: dict[str, Any], today: date, rulebook: Rulebook) -> bool:
    """Whether the clock could have changed this child's assessment since it was last evaluated."""
    evaluated_on, review_on = raw_state.get("d"), raw_state.get("n")
    iso = today.isoformat()
    if evaluated_on is None or raw_state.get("k") != rulebook.versions or iso < evaluated_on:
        return True  # never evaluated, other rules, or the clock went back (demos): evaluate afresh
    return review_on is not None and iso >= review_on and iso != evaluated_on


def sweep_child(child_id: str, raw_state: dict[str, Any], *, store: StateStore, rulebook: Rulebook,
                today: date) -> Published | None:
    """The clock's daily re-evaluation of one child (age windows closing, benefits ending, rule changes), for a
    child whose assessment could have changed since it was last evaluated."""
    if not needs_review(raw_state, today, rulebook):
        return None
    return settle_child(child_id, raw_state, store=store, rulebook=rulebook, today=today)


def settle_child(child_id: str, raw_state: dict[str, Any], *, store: StateStore, rulebook: Rulebook,
                 today: date) -> Published | None:
    """The clock's evaluation of one child, now: what the sweep does for a child it finds due. The worker also
    calls it, with ``TSUNAGU_SCORING_ABSENCE_SETTLE_SECONDS`` (demonstrations), for a child whose facts have
    stopped arriving for that long, so an absence a fact left for the clock is concluded the same day. The
    message id comes from the change (``change_id``), so the sweep and settling cannot publish one twice.

    After evaluating, the facts no rule of the file can count any more (domain/purge.py: every window over them
    has closed) leave the state; their versions stay, so a replay cannot bring them back. An opted-out child
    (利用停止) is not evaluated, but its expired facts are purged all the same."""
    state = WORKING.take(child_id, raw_state)
    published = None if state.opted_out else reassess(child_id, state, today, rulebook, by_clock=True)
    purged = state.forget(expired_facts(state.child_facts(), today, rulebook.rules))
    if published is not None or purged or state.next_review_on != raw_state.get("n"):
        _store(store, child_id, state)
    return published


def release_child(child_id: str, raw_state: dict[str, Any], *, store: StateStore, rulebook: Rulebook,
                  today: date) -> Published | None:
    """A child whose facts waited for a backlog to be through (the worker's ``catch_up``): evaluated once on all of
    them, as a fact would have it evaluated — an absence is still left to the clock (a backlog being through says
    nothing about a record that has not come: concluding it here raised item 3 for thousands of children whose
    checkups were still on their way, in pipeline_e2e at 0.05)."""
    state = WORKING.take(child_id, raw_state)
    if state.opted_out:
        return None
    review_on = state.next_review_on
    published = reassess(child_id, state, today, rulebook)
    if published is not None or state.next_review_on != review_on or raw_state.get("d") != state.evaluated_on:
        _store(store, child_id, state)
    return published

