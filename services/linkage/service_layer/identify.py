"""Turns the persons a record names into keys bound to persons: deterministic by 宛名番号, probabilistic
by name, birth date, sex and address for school records that carry only a student id."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contracts.topics.ingest_records import PersonKeys, RecordV1
from services.linkage.domain.guards import NEW_SURNAME_UNCONFIRMED, SURNAME_CHANGED, TYPO_UNCONFIRMED
from services.linkage.domain.identity import atena_key, person_id_for, review_id_for, student_key
from services.linkage.domain.matching import MatchResult, MatchSettings, match
from services.linkage.domain.model import IDENTITY_FIELDS, PendingReview, Person
from services.linkage.domain.waiting import index_student, unindex_student
from services.linkage.service_layer.unit import Change, Out

AUTHORITATIVE = "resident_registry"
# Reviews opened on the match weights alone, which a later student record of the candidate can settle: a child has
# one student id, so once the candidate holds its own, the record under review is matched again (``recheck``).
RECHECKED = frozenset({SURNAME_CHANGED, TYPO_UNCONFIRMED, NEW_SURNAME_UNCONFIRMED, "uncertain_match",
                       "two_close_candidates"})
SETTLED_BY = "linkage"
# in a key's identity (``Person.key_identities``): the 宛名番号 key a record named beside the student id, and its system
BOUND_WITH, SYSTEM = "bound_with", "system"
# beside them: the school's own record of that student ({"record_id", "identity"}) that came while the key was bound
STUDENT_RECORD = "student_record"


def identity_of(keys: PersonKeys) -> dict[str, Any]:
    values = keys.__dict__  # the model's fields (read once each: getattr twice per field was a tenth of a load)
    return {f: v for f in IDENTITY_FIELDS if (v := values[f]) is not None}


def registry_birth_date(person: Person) -> str | None:
    """The birth date the resident registry gave (a person the registry has not yet named is ``known``: its birth
    date, if any, is another system's)."""
    return person.birth_date if person.status != "known" else None


def conflicting_students(person: Person, ch: Change, match_settings: MatchSettings) -> None:
    """The registry now gives ``person``'s birth date: a student id that another system's record bound with this
    宛名番号 and another birth date goes to review, as that record would have had the registry come first
    (``birth_date_conflict`` in ``_by_atena``), and is unbound — its facts wait for the clerk — unless the school's
    own record of that student (``STUDENT_RECORD``, seen while the key was bound) links it here on the weights, as
    it would have had it come after the conflict."""
    born = registry_birth_date(person)
    for key in sorted(k for k in person.keys if k.startswith("student:")):
        identity = person.key_identities.get(key) or {}
        theirs = identity.get("birth_date")
        if identity.get(BOUND_WITH) is None or born is None or theirs is None or theirs == born:
            continue
        record_id = person.keys[key]
        fields = {k: v for k, v in identity.items() if k in IDENTITY_FIELDS}
        review = PendingReview(review_id_for(record_id, key), record_id, key, person.person_id, "birth_date_conflict",
                               fields, system=str(identity.get(SYSTEM) or ""))
        earlier = ch.state.reviews.get(review.review_id)
        if earlier is not None:
            review.decision, review.decided = earlier.decision, earlier.decided
        ch.state.put_review(review)
        ch.review(review.review_id, review_payload(review, review.system, None))
        seen = identity.get(STUDENT_RECORD)
        if seen:
            own = {k: v for k, v in seen["identity"].items() if k in IDENTITY_FIELDS}
            result = match(Person("-", **own), ch.state, match_settings, ch.state.cannot_by_key.get(key, ()),
                           own_key=key)
            if result.outcome == "link" and result.best is not None and result.best.person_id == person.person_id:
                ch.state.bind_key(person, key, seen["record_id"])
                person.key_identities[key] = seen["identity"]
                continue
        del person.key_identities[key]
        ch.key_unbound(person, key)


def fill_gaps(person: Person, identity: dict[str, Any], ch: Change) -> None:
    gaps = {k: v for k, v in identity.items() if getattr(person, k) is None}
    if gaps:
        ch.person_changed(person, ch.state.update_person(person, gaps) | {f"person:{person.person_id}"})


def review_payload(review: PendingReview, system: str, result: MatchResult | None) -> dict[str, Any]:
    best = result.best if result else None
    return {
        "review_id": review.review_id, "record_id": review.record_id, "system": system,
        "candidate_person_id": review.candidate_person_id, "reason": review.reason,
        "match_weight": best.weight if best else 0.0, "match_probability": round(best.probability, 6) if best else 0.0,
        "comparisons": [{"field": c.field, "record_value": c.record_value, "candidate_value": c.candidate_value,
                         "agreement": c.agreement, "weight": c.weight} for c in best.comparisons] if best else [],
        "status": "decided" if review.decided else "open",
        "decision": (review.decision or {}).get("decision") if review.decided else None,
    }


def open_review(record: RecordV1, subject_key: str | None, reason: str, ch: Change,
                candidate: str | None = None, result: MatchResult | None = None,
                identity: dict[str, Any] | None = None) -> PendingReview:
    review = PendingReview(review_id_for(record.record_id, subject_key or "-"), record.record_id, subject_key,
                           candidate, reason, identity or {}, system=record.system)
    earlier = ch.state.reviews.get(review.review_id)
    if earlier is not None:  # a decision that arrived first (replay order across topics) is kept
        review.decision, review.decided = earlier.decision, earlier.decided
    ch.state.put_review(review)
    ch.review(review.review_id, review_payload(review, record.system, result))
    return review


def person_with(person_id: str, keys: dict[str, str], f: dict[str, Any]) -> Person:
    """``Person(person_id, keys=keys, **f)`` for ``f`` holding identity fields only (``IDENTITY_FIELDS``), each
    named here: compiled, a call with ``**`` parses its keywords at run time for every new person
    (tests/unit/linkage/test_speed_eighth.py shows the two make the same person)."""
    return Person(person_id, keys, name_kanji=f.get("name_kanji"), name_kana=f.get("name_kana"),
                  kanji_key=f.get("kanji_key"), kana_key=f.get("kana_key"),
                  surname_kana_key=f.get("surname_kana_key"), given_kana_key=f.get("given_kana_key"),
                  birth_date=f.get("birth_date"), sex=f.get("sex"), address=f.get("address"),
                  address_key=f.get("address_key"), ward_code=f.get("ward_code"), postal_code=f.get("postal_code"),
                  school_code=f.get("school_code"))


def new_person(key: str, identity: dict[str, Any], record_id: str, ch: Change,
               person_id: str | None = None, fields_only: bool = False) -> Person:
    """``fields_only``: ``identity`` holds identity fields only (``identity_of``), nothing to leave out."""
    fields = identity if fields_only else {k: v for k, v in identity.items() if k in IDENTITY_FIELDS}
    person = person_with(person_id or person_id_for(key), {key: record_id}, fields)
    if key.startswith("student:"):
        person.is_child = True  # 児童生徒 are children by definition
        person.key_identities[key] = identity
    ch.state.add_person(person)
    if key.startswith("student:"):
        index_student(ch.state, person)
    ch.bound.append(key)
    ch.outcomes.add("new")
    ch.person_changed(person, {f"key:{key}", f"person:{person.person_id}"})
    return person


def merge(source: Person, target: Person, bound_by: str, ch: Change) -> None:
    """Keeps the target's id; the source becomes an alias (status merged) and its keys move over."""
    unindex_student(ch.state, source)
    for key, _ in sorted(source.keys.items()):
        identity = source.key_identities.pop(key, None)
        ch.key_unbound(source, key)
        ch.key_bound(target, key, bound_by)
        if identity:
            target.key_identities[key] = identity
    if source.is_child and not target.is_child:
        ch.person_changed(target, ch.state.update_person(target, {"is_child": True}))
    ch.person_changed(source, ch.state.update_person(source, {"status": "merged",
                                                             "merged_into": target.person_id}))


def adopted(target: Person, skey: str, school: str | None, attach: Callable[[], None], ch: Change,
            match_settings: MatchSettings, *, child: bool) -> None:
    """A student key joins ``target`` for a record handled before this one (``attach`` merges its identity or binds
    the key): the school code filled, the person a child (``child``), the key's other holders checked (``recheck``).
    The key was bound by that earlier record, not this one (``ch.bound`` as before), and this record's outcome is
    ``adopted``. ``_by_atena`` (a record naming both ids) and ``late_match`` (a registry child arriving) share it."""
    bound, outcomes = len(ch.bound), set(ch.outcomes)
    attach()
    fill_gaps(target, {"school_code": school} if school else {}, ch)
    if child and not target.is_child:
        ch.person_changed(target, ch.state.update_person(target, {"is_child": True}))
    recheck(target, skey, ch, match_settings)
    del ch.bound[bound:]
    ch.outcomes = outcomes | {"adopted"}


def _by_atena(record: RecordV1, keys: PersonKeys, ch: Change, match_settings: MatchSettings) -> str:
    akey = atena_key(keys.atena_no or "")
    identity = identity_of(keys)
    person = ch.state.person_for_key(akey)
    if person is None:
        if record.system != AUTHORITATIVE:
            identity = {k: v for k, v in identity.items() if k == "birth_date"}
        person = new_person(akey, identity, record.record_id, ch, fields_only=True)
    else:
        ch.outcomes.add("linked")
        if (keys.birth_date and registry_birth_date(person) not in (None, keys.birth_date)
                and record.system != AUTHORITATIVE):
            open_review(record, (keys.student_id and student_key(keys.student_id)) or akey, "birth_date_conflict",
                        ch, person.person_id, identity=identity)
            return student_key(keys.student_id) if keys.student_id else akey
    if keys.student_id:
        skey = student_key(keys.student_id)
        owner = ch.state.person_for_key(skey)
        if owner is None and skey not in person.cannot_link:
            ch.key_bound(person, skey, record.record_id)
            # what the registry, when it comes later, checks this binding against (``conflicting_students``)
            person.key_identities[skey] = {**identity, BOUND_WITH: akey, SYSTEM: record.system}
            fill_gaps(person, {"school_code": keys.school_code} if keys.school_code else {}, ch)
            recheck(person, skey, ch, match_settings)
        elif owner is not None and owner.person_id != person.person_id:
            if (record.system != AUTHORITATIVE and len(owner.keys) == 1 and skey not in person.cannot_link
                    and not any(k.startswith("student:") for k in person.keys)):
                # the school's record came first and became an identity of its own: this record names both ids,
                # so it is this person (as if it had come second: late_match.py)
                adopted(person, skey, keys.school_code, lambda: merge(owner, person, owner.keys[skey], ch), ch,
                        match_settings, child=False)
            else:
                open_review(record, skey, "student_id_bound_to_other_person", ch, person.person_id,
                            identity=identity)
        return skey
    return akey


def _by_student(record: RecordV1, keys: PersonKeys, ch: Change, match_settings: MatchSettings) -> str:
    skey = student_key(keys.student_id or "")
    identity = identity_of(keys)
    known = ch.state.person_for_key(skey)
    if known is not None:
        ch.outcomes.add("linked")
        bound = known.key_identities.get(skey)
        if (bound is not None and BOUND_WITH in bound and STUDENT_RECORD not in bound
                and (keys.kana_key or keys.kanji_key) and keys.birth_date):
            # bound by a record that named a 宛名番号 too: kept for the registry's check (``conflicting_students``)
            known.key_identities[skey] = {**bound, STUDENT_RECORD: {"record_id": record.record_id,
                                                                    "identity": identity}}
            ch.state.touch("person", known.person_id)
        return skey
    if not (keys.kana_key or keys.kanji_key) or not keys.birth_date:
        ch.outcomes.add("pending")  # attendance etc. before the student record: waits for the key to be bound
        return skey
    result = match(keys, ch.state, match_settings, ch.state.cannot_by_key.get(skey, ()), own_key=skey)
    if result.outcome == "link" and result.best is not None:
        person = ch.state.persons[result.best.person_id]
        ch.key_bound(person, skey, record.record_id)
        person.key_identities[skey] = identity
        fill_gaps(person, {"school_code": keys.school_code} if keys.school_code else {}, ch)
        if not person.is_child:
            ch.person_changed(person, ch.state.update_person(person, {"is_child": True}))
        ch.outcomes.add("linked")
        recheck(person, skey, ch, match_settings)
    elif result.outcome == "new":
        new_person(skey, identity, record.record_id, ch, fields_only=True)
    else:
        candidate = result.best.person_id if result.best else None
        open_review(record, skey, result.reason, ch, candidate, result, identity)
    return skey


def recheck(person: Person, own_key: str, ch: Change, match_settings: MatchSettings) -> None:
    """``person`` now holds its own student id ``own_key``: open reviews that named it as the candidate for *another*
    student's record are matched again, as they would have been had this record come first. A child has one
    student id, so the candidate is now a namesake (``candidate_has_other_student_id`` / ``born_on_another_day``
    in matching); when that leaves the record a clear new identity, linkage settles the review itself and
    publishes the case again with status ``decided``. Anything else (still uncertain, or now pointing at another
    candidate) stays with the human."""
    state = ch.state
    for review_id in sorted(state.reviews_by_candidate.get(person.person_id, ())):
        review = state.reviews.get(review_id)
        skey = review.subject_key if review is not None else None
        if (review is None or review.decision is not None or review.decided is not None or skey is None
                or review.reason not in RECHECKED or not skey.startswith("student:") or skey == own_key
                or review.candidate_person_id != person.person_id or state.person_for_key(skey) is not None):
            continue
        fields = {k: v for k, v in review.identity.items() if k in IDENTITY_FIELDS}
        result = match(Person("-", **fields), state, match_settings, state.cannot_by_key.get(skey, ()), own_key=skey)
        if result.outcome == "review" and result.reason in RECHECKED and result.best is not None \
                and result.best.person_id != person.person_id:
            # now pointing at another candidate, on the weights alone: the case stays with the clerk, shown against
            # that candidate, and that candidate's own student record rechecks it in turn — so a child not in the
            # registry, named like several registry children, is settled once the last of them has its own record
            state.reviews_by_candidate[person.person_id].discard(review_id)
            review.candidate_person_id, review.reason = result.best.person_id, result.reason
            state.put_review(review)
            ch.reviews.append(Out("review", review_id, review_payload(review, review.system, result), ch.time))
            continue
        if result.outcome != "new":
            # still uncertain, or now a link to another candidate: that one may be a namesake whose own record
            # has not come yet (three such false links on the small pool at 48 k persons), so a human decides
            continue
        bound, outcomes = len(ch.bound), set(ch.outcomes)  # for the reviewed record, not the record at hand
        created = new_person(skey, review.identity, review.record_id, ch)
        decision = {"decision": "cannot_link", "person_id": created.person_id}
        del ch.bound[bound:]
        ch.outcomes = outcomes
        review.decision = {**decision, "record_id": review.record_id, "decided_by": SETTLED_BY,
                           "reason": "candidate_has_own_student_id"}
        review.decided = f"{decision['decision']}|{decision['person_id']}|{review.record_id}"
        state.put_review(review)
        ch.reviews.append(Out("review", review_id, review_payload(review, review.system, result), ch.time))


def identify(record: RecordV1, ch: Change, match_settings: MatchSettings) -> dict[str, list[str]]:
    """The record's persons as keys by role; binds keys to persons (or opens a review) on the way."""
    refs: dict[str, list[str]] = {}
    for keys in record.persons:
        if keys.atena_no:
            key = _by_atena(record, keys, ch, match_settings)
        elif keys.student_id:
            key = _by_student(record, keys, ch, match_settings)
        else:
            open_review(record, None, "no_identifying_keys", ch, identity=identity_of(keys))
            continue
        refs.setdefault(keys.role, []).append(key)
    return refs
