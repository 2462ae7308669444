"""Human review decisions: must-link (bind or merge), cannot-link (never again) and split (undo a link).

Decisions are stored with the review they answer, so replaying records re-applies them; a decision that
arrives before its record (replay order across topics) waits for the record and is applied right after it.
"""

from __future__ import annotations

from typing import Any

from contracts.topics.linkage_review import ReviewDecisionV1
from services.linkage.domain.identity import person_id_for, split_person_id
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.model import PendingReview, Person
from services.linkage.service_layer.identify import fill_gaps, merge, new_person
from services.linkage.service_layer.unit import Change, Out


def _signature(d: dict[str, Any]) -> str:
    return f"{d['decision']}|{d.get('person_id')}|{d.get('record_id')}"


def handle_decision(decision: ReviewDecisionV1, ch: Change, ms: MatchSettings) -> tuple[str, list[Out]]:
    state = ch.state
    d = decision.model_dump(mode="json")
    review = state.reviews.get(decision.review_id)
    if review is not None and review.decided == _signature(d):
        return "duplicate", []
    if review is None:
        review = PendingReview(decision.review_id, decision.record_id or "", None, None, "decision_first")
    review.decision = d
    review.decided = None
    state.put_review(review)
    outcome = apply_decision(review, ch, ms)
    return outcome, ch.finish()


def apply_decision(review: PendingReview, ch: Change, ms: MatchSettings) -> str:
    d = review.decision or {}
    if review.record_id and review.record_id not in ch.state.processed:
        return "deferred"
    kind = d["decision"]
    if kind == "split":
        outcome = _split(review, d, ch)
    elif review.subject_key is None and not ch.state.processed.get(review.record_id):
        outcome = "deferred" if review.reason == "decision_first" and not review.record_id else "nothing_to_link"
    elif kind == "must_link":
        outcome = _must_link(review, d, ch)
    else:
        outcome = _cannot_link(review, d, ch, ms)
    if outcome != "deferred":
        review.decided = _signature(d)
        ch.state.put_review(review)
    return outcome


def apply_deferred(record_id: str, ch: Change, ms: MatchSettings) -> None:
    for review_id in sorted(ch.state.deferred_by_record.get(record_id, ())):
        apply_decision(ch.state.reviews[review_id], ch, ms)


def _target(d: dict[str, Any], review: PendingReview, ch: Change) -> Person | None:
    pid = d.get("person_id") or review.candidate_person_id
    return ch.state.resolve(pid) if pid else None


def _subject(review: PendingReview, ch: Change) -> str:
    """The key the decision is about: the review's, else the key the named record bound."""
    return review.subject_key or ch.state.processed[review.record_id][0]


def _must_link(review: PendingReview, d: dict[str, Any], ch: Change) -> str:
    key = _subject(review, ch)
    target = _target(d, review, ch)
    if target is None:
        return "unknown_person"
    if key in target.cannot_link:
        target.cannot_link.remove(key)
        ch.state.cannot_by_key[key].discard(target.person_id)
    owner = ch.state.person_for_key(key)
    if owner is None:
        ch.key_bound(target, key, f"decision:{review.review_id}")
        target.key_identities[key] = review.identity
        fill_gaps(target, review.identity, ch)
        return "linked"
    if owner.person_id == target.person_id:
        return "already_linked"
    merge(owner, target, f"decision:{review.review_id}", ch)
    return "merged"


def detach(person: Person, key: str, record_id: str, ch: Change) -> Person:
    """Moves a wrongly linked key to its own identity; facts attributed through it follow (retract + assert).

    A key whose own identity was merged away gets that identity back, so a split undoes a merge exactly.
    """
    identity = person.key_identities.pop(key, {})
    ch.key_unbound(person, key)
    ch.state.add_cannot_link(person, key)
    original = ch.state.persons.get(person_id_for(key))
    if original is not None and original.merged_into is not None:
        ch.person_changed(original, ch.state.update_person(original, {"status": "known", "merged_into": None}))
        ch.key_bound(original, key, record_id)
        original.key_identities[key] = identity
        return original
    pid = split_person_id(key, record_id) if original is not None else None
    new = new_person(key, identity, record_id, ch, pid)
    if person.is_child and not new.is_child:
        ch.person_changed(new, ch.state.update_person(new, {"is_child": True}))
    return new


def _cannot_link(review: PendingReview, d: dict[str, Any], ch: Change, ms: MatchSettings) -> str:
    key = _subject(review, ch)
    target = _target(d, review, ch)
    if target is None:
        return "unknown_person"
    ch.state.add_cannot_link(target, key)
    ch.person_changed(target)
    owner = ch.state.person_for_key(key)
    if owner is not None and owner.person_id == target.person_id:
        detach(target, key, review.record_id, ch)
        return "split"
    if owner is not None:
        return "kept"
    new_person(key, review.identity, review.record_id, ch)  # a human said no: the clerk can still must-link later
    return "new"


def _split(review: PendingReview, d: dict[str, Any], ch: Change) -> str:
    person = ch.state.resolve(d.get("person_id") or "")
    record_id = d.get("record_id") or review.record_id
    if person is None or not record_id:
        return "unknown_person"
    bound_here = set(ch.state.processed.get(record_id, []))
    keys = [k for k, by in person.keys.items()
            if (by == record_id or k in bound_here) and person_id_for(k) != person.person_id]
    for key in sorted(keys):
        detach(person, key, record_id, ch)
    return "split" if keys else "nothing_to_split"
