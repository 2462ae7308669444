"""Student records that came before the registry child they belong to.

A school record carries only a student id. Matched when nobody like it is in the registry yet (the school's
system loaded first, a backlog read topic by topic, a 転入 registered after the child's first school day), it
becomes an identity of its own. Without what follows, it stayed one: the registry child arriving later was a
second child, with the school's facts on the first and everything else on the second, and which of the two a
flag fell on depended on which topic was read first.

So when a registry child arrives, or its name or birth date changes, the student identities in its blocks that
hold nothing but their student id are matched again, exactly as their records would be matched now; one that
now links merges into the person it links to (``merge``: that person keeps its id, the student identity becomes
its alias and its facts move over), as if its record had come second. The same holds for a record that names a
宛名番号 and a student id together (就学援助): a student identity of its own is merged into the 宛名番号's person.

A student record that went to review on the weights alone (its key waits unbound) while the child it belongs to
was not yet registered is matched again the same way (``settle``): one that now links is bound, and the case is
published again as decided by linkage (``must_link``, reason ``registry_child_arrived``); one that now points at
another candidate moves to it and stays open for the clerk.
"""

from __future__ import annotations

from services.linkage.domain.blocking import blocking_keys
from services.linkage.domain.matching import MatchSettings, match
from services.linkage.domain.model import IDENTITY_FIELDS, PendingReview, Person
from services.linkage.domain.waiting import STUDENT, student_only, students_near
from services.linkage.service_layer.identify import SETTLED_BY, adopted, merge, review_payload
from services.linkage.service_layer.unit import Change, Out


def adopt(student: Person, skey: str, target: Person, ch: Change, ms: MatchSettings) -> None:
    """Merges the student identity into ``target`` as binding its key there would have (``_by_student``)."""
    identity = student.key_identities.get(skey) or {}
    adopted(target, skey, identity.get("school_code"), lambda: merge(student, target, student.keys[skey], ch), ch,
            ms, child=True)


def bind(target: Person, skey: str, record_id: str, identity: dict, ch: Change, ms: MatchSettings) -> None:
    """Binds a student key to ``target`` as ``_by_student`` does on a link, for a record handled earlier."""

    def attach() -> None:
        ch.key_bound(target, skey, record_id)
        target.key_identities[skey] = identity

    adopted(target, skey, identity.get("school_code"), attach, ch, ms, child=True)


def settle(review: PendingReview, skey: str, ch: Change, ms: MatchSettings) -> None:
    """An open review of a student record, matched again now: bound when it links, moved when it points at
    another candidate (both published again); otherwise left as it is."""
    state = ch.state
    fields = {k: v for k, v in review.identity.items() if k in IDENTITY_FIELDS}
    result = match(Person("-", **fields), state, ms, state.cannot_by_key.get(skey, ()), own_key=skey)
    best = result.best
    if best is None or result.outcome == "new":
        return
    if result.outcome == "review" and (best.person_id, result.reason) == (review.candidate_person_id, review.reason):
        return
    if review.candidate_person_id in state.reviews_by_candidate:
        state.reviews_by_candidate[review.candidate_person_id].discard(review.review_id)
    review.candidate_person_id = best.person_id
    if result.outcome == "link":
        target = state.persons[best.person_id]
        bind(target, skey, review.record_id, review.identity, ch, ms)
        review.decision = {"decision": "must_link", "person_id": target.person_id, "record_id": review.record_id,
                           "decided_by": SETTLED_BY, "reason": "registry_child_arrived"}
        review.decided = f"must_link|{target.person_id}|{review.record_id}"
    else:
        review.reason = result.reason
    state.put_review(review)
    ch.reviews.append(Out("review", review.review_id, review_payload(review, review.system, result), ch.time))


def adopt_students(person: Person, ch: Change, ms: MatchSettings) -> None:
    """``person`` (a registry child without a student id) arrived or changed what matching reads: student
    identities that match it now are merged into it, open reviews near it are matched again."""
    state = ch.state
    if person.status == "merged" or not person.is_child or any(k.startswith(STUDENT) for k in person.keys):
        return
    keys = list(blocking_keys(person))
    near: set[str] = set()
    for key in keys:
        near.update(state.review_blocks.get(key))
    for review_id in sorted(near):
        review = state.reviews.get(review_id)
        skey = review.subject_key if review is not None else None
        if (review is None or skey is None or review.decision is not None or review.decided is not None
                or state.person_for_key(skey) is not None):
            continue
        settle(review, skey, ch, ms)
        if any(k.startswith(STUDENT) for k in person.keys):
            return  # it holds a student id now: any other student record is someone else's
    found = students_near(state, keys)
    found.discard(person.person_id)
    for pid in sorted(found):
        student = state.persons.get(pid)
        skey = student_only(student) if student is not None else None
        if student is None or skey is None:
            continue
        identity = student.key_identities.get(skey)
        if not identity:
            continue
        fields = {k: v for k, v in identity.items() if k in IDENTITY_FIELDS}
        excluded = set(state.cannot_by_key.get(skey, ())) | {pid}
        result = match(Person("-", **fields), state, ms, excluded, own_key=skey)
        if result.outcome != "link" or result.best is None:
            continue
        target = state.persons.get(result.best.person_id)
        if target is None or target.status == "merged" or any(k.startswith(STUDENT) for k in target.keys):
            continue
        adopt(student, skey, target, ch, ms)
        if target is person:
            return  # it holds a student id now: any other student identity is someone else
