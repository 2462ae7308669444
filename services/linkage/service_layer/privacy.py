"""Deletion on request (削除, privacy.deletions.v1): linkage forgets a child and refuses to learn it again.

``forget`` removes the person (and the aliases merged into it), its keys, its own source facts, its births, the
reviews about it and its keys in the processed-record index, and scrubs the keys and tokens naming it from the
facts of other people (a household's 生活保護, a mother's checkups). It returns what to publish:

* a deletion retraction on linkage.facts.v1 for every fact id ever sent for the child (``status="retracted"``,
  ``record_id="privacy-deletion:<request id>"``, no dates, no attributes, the next version), which tells scoring
  to forget the child's whole state (docs/scoring.md);
* a tombstone (null value) on the compacted linkage.children.v1 for the child id and every merged alias.

The deleted keys stay only as a keyed hash (HMAC-SHA256 with a random per-installation salt kept in the store) in
a deny-list: a record naming a deleted key — a replay of old records, or a new one from a source system that still
holds the person — is handled without that person (``admit``), so the person is never linked or created again.
A request handled once (by its id) changes nothing the second time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from contracts.envelope import Envelope
from contracts.topics import linkage_children
from contracts.topics.ingest_records import RecordV1
from contracts.topics.privacy_deletions import DeletionRequestV1
from services.linkage.domain.identity import atena_key, student_key
from services.linkage.domain.model import Person, SourceFact
from services.linkage.domain.state import LinkageState
from services.linkage.service_layer.ports import Message
from services.linkage.service_layer.unit import Out

if TYPE_CHECKING:
    from services.linkage.service_layer.handlers import Incoming, LinkageService

log = logging.getLogger("tsunagu.linkage")
DELETION_RECORD_PREFIX = "privacy-deletion:"
DELETED_REF_PREFIX = "deleted:"  # what a deleted key becomes in another person's fact: it names nobody
_SUBJECT_ROLES = ("subject", "child")


@dataclass
class Forgotten:
    """What a deletion removed, per kind of row (counts only: no ids, no content)."""

    outcome: str  # deleted / unknown_child / duplicate
    counts: dict[str, int] = field(default_factory=dict)
    facts: list[Out] = field(default_factory=list)  # deletion retractions for linkage.facts.v1
    tombstones: list[str] = field(default_factory=list)  # child ids to tombstone on linkage.children.v1


def _salt(state: LinkageState) -> str:
    salt = state.privacy.get("salt")
    if not isinstance(salt, str):
        salt = secrets.token_hex(32)
        state.privacy["salt"] = salt
        state.touch("privacy", "salt")
    return salt


def key_digest(state: LinkageState, key: str) -> str:
    return hmac.new(_salt(state).encode(), key.encode(), hashlib.sha256).hexdigest()


def is_denied(state: LinkageState, key: str) -> bool:
    return f"deny:{key_digest(state, key)}" in state.privacy


def _person_keys(keys: Any) -> list[str]:
    return ([atena_key(keys.atena_no)] if keys.atena_no else []) + (
        [student_key(keys.student_id)] if keys.student_id else [])


def admit(record: RecordV1, state: LinkageState) -> RecordV1 | None:
    """The record without the persons whose keys were deleted; None when it named only deleted persons."""
    if "salt" not in state.privacy:  # no deletion ever: nothing to look up (the usual case, kept cheap)
        return record
    kept = [p for p in record.persons if not any(is_denied(state, k) for k in _person_keys(p))]
    if len(kept) == len(record.persons):
        return record
    return record.model_copy(update={"persons": kept}) if kept else None


def _cluster(state: LinkageState, child_id: str) -> list[Person]:
    """The person the id resolves to and every alias merged into it (the same real person)."""
    root = state.resolve(child_id)
    if root is None:
        return []
    found = {root.person_id: root}
    grew = True
    while grew:
        grew = False
        for person in state.persons.held_values():  # a merged alias is always in memory (``held_always``)
            if person.merged_into in found and person.person_id not in found:
                found[person.person_id] = person
                grew = True
    return list(found.values())


def _retraction(payload: dict[str, Any], request_id: str) -> dict[str, Any]:
    return {"fact_id": payload["fact_id"], "child_id": payload["child_id"], "kind": payload["kind"],
            "relation": payload["relation"], "status": "retracted", "source_system": payload["source_system"],
            "record_id": f"{DELETION_RECORD_PREFIX}{request_id}", "record_date": None, "valid_from": None,
            "valid_to": None, "attributes": {}, "version": int(payload.get("version") or 0) + 1}


def _drop_deps(state: LinkageState, sf: SourceFact, tokens: set[str]) -> None:
    for token in sf.deps:
        if token in tokens:
            state.deps.discard(token, sf.key)
    sf.deps = [t for t in sf.deps if t not in tokens]


def _scrub_facts(state: LinkageState, ids: set[str], keys: set[str], tokens: set[str], request_id: str,
                 time: str, result: Forgotten) -> None:
    replaced = {k: f"{DELETED_REF_PREFIX}{key_digest(state, k)[:16]}" for k in keys}
    for sf in state.source_facts.values():  # one at a time (from the store once attached): not all kept at once
        mine = sf.payloads(ids)
        in_key = not keys.isdisjoint(sf.key.split("|"))  # e.g. residence|atena:…, infant_checkup|atena:…|1y6m
        names = in_key or any(k in keys for _, k in sf.refs)
        if not mine and not names and tokens.isdisjoint(sf.deps):
            continue
        result.facts += [Out("fact", p["child_id"], _retraction(p, request_id), time) for p in mine]
        sf.sent = {child_id: entry for child_id, entry in sf.sent.items() if child_id not in ids}
        sf.refs = [[role, replaced.get(k, k)] for role, k in sf.refs]
        subjects = [k for role, k in sf.refs if role in _SUBJECT_ROLES]
        own = sf.scope == "self" and all(k.startswith(DELETED_REF_PREFIX) for k in subjects)
        if own or in_key or all(k.startswith(DELETED_REF_PREFIX) for _, k in sf.refs):
            state.changed_fact(sf)  # the object iterated (read from the store) is the one removed
            state.remove_source_fact(sf.key)
            result.counts["source_facts"] = result.counts.get("source_facts", 0) + 1
        else:
            _drop_deps(state, sf, tokens)
            state.changed_fact(sf)
            result.counts["facts_scrubbed"] = result.counts.get("facts_scrubbed", 0) + 1


def _scrub_births(state: LinkageState, keys: set[str], result: Forgotten) -> None:
    for mother_key in list(state.births):
        births = state.births[mother_key]
        kept = [] if mother_key in keys else [b for b in births if b.child_key not in keys]
        if len(kept) == len(births):
            continue
        for birth in births:
            if birth not in kept and birth.pregnancy_id:
                state.birth_by_pregnancy.pop(birth.pregnancy_id, None)
        result.counts["births"] = result.counts.get("births", 0) + len(births) - len(kept)
        if kept:
            state.births[mother_key] = kept
        else:
            del state.births[mother_key]
        state.touch("births", mother_key)


def _scrub_reviews(state: LinkageState, ids: set[str], keys: set[str], result: Forgotten) -> None:
    for review in list(state.reviews.values()):
        if review.subject_key in keys:
            del state.reviews[review.review_id]
            state.deferred_by_record.get(review.record_id, set()).discard(review.review_id)
            state.touch("review", review.review_id)
            result.counts["reviews"] = result.counts.get("reviews", 0) + 1
        elif review.candidate_person_id in ids:  # another person's review: it loses its (deleted) candidate
            review.candidate_person_id = None
            state.touch("review", review.review_id)


def _scrub_keys(state: LinkageState, keys: set[str], result: Forgotten) -> None:
    for record_id, bound in state.processed.items():
        if not keys.isdisjoint(bound):
            state.processed[record_id] = [k for k in bound if k not in keys]
            state.touch("processed", record_id)
            result.counts["processed_records"] = result.counts.get("processed_records", 0) + 1
    # "never link this key here": the key itself must go. The persons whose lists name a key are in
    # ``cannot_by_key`` (and maybe some that no longer do): found there, not by reading every person from the store
    named = sorted({pid for key in keys for pid in state.cannot_by_key.get(key, ())})
    for person in (p for pid in named if (p := state.persons.get(pid)) is not None):
        if not keys.isdisjoint(person.cannot_link):
            person.cannot_link = [k for k in person.cannot_link if k not in keys]
            state.touch("person", person.person_id)
    for key in keys:
        state.cannot_by_key.pop(key, None)
        state.deps.drop(f"key:{key}")
        state.deps.drop(f"births:{key}")


def _remove(state: LinkageState, cluster: list[Person], request_id: str, time: str, result: Forgotten) -> set[str]:
    """Removes the persons of ``cluster`` (one real person) and everything naming them; returns their keys."""
    ids = {p.person_id for p in cluster}
    keys = {k for p in cluster for k in p.keys}
    tokens = {f"person:{pid}" for pid in ids} | {f"key:{k}" for k in keys} | {f"births:{k}" for k in keys}
    _scrub_facts(state, ids, keys, tokens, request_id, time, result)
    _scrub_births(state, keys, result)
    _scrub_reviews(state, ids, keys, result)
    _scrub_keys(state, keys, result)
    for token in tokens:
        state.deps.drop(token)
    for person in cluster:
        if person.is_child or person.profile_version:
            result.tombstones.append(person.person_id)
        state.remove_person(person)
    result.counts.update(persons=len(cluster), keys=len(keys), fact_retractions=len(result.facts))
    return keys


def forget(request: DeletionRequestV1, state: LinkageState) -> Forgotten:
    """Deletes the child named by the request from the state (marked dirty for the store)."""
    done = f"request:{request.request_id}"
    if done in state.privacy:
        return Forgotten("duplicate")
    cluster = _cluster(state, request.child_id)
    result = Forgotten("deleted" if cluster else "unknown_child")
    keys = _remove(state, cluster, request.request_id, request.requested_at, result)
    for key in sorted(keys):
        state.privacy[f"deny:{key_digest(state, key)}"] = request.request_id
        state.touch("privacy", f"deny:{key_digest(state, key)}")
    state.privacy[done] = {"outcome": result.outcome, "counts": result.counts}
    state.touch("privacy", done)
    return result


def forget_expired(state: LinkageState, person_ids: list[str], run_id: str, time: str) -> Forgotten:
    """Retention (domain/person_retention.py): removes each person as a deletion does — retractions that make
    scoring forget the child's whole state (the same ``privacy-deletion:`` record prefix: a person who comes back
    starts afresh there too), a tombstone on linkage.children.v1 — but puts **no** key on the deny-list: a later
    record about the person creates them again. ``run_id`` names the purge in the retractions' record id."""
    result = Forgotten("purged")
    total: dict[str, int] = {}
    for person_id in person_ids:
        cluster = _cluster(state, person_id)
        if not cluster:
            continue
        one = Forgotten("purged")
        _remove(state, cluster, f"retention-{run_id}", time, one)
        result.facts += one.facts
        result.tombstones += one.tombstones
        for name, n in one.counts.items():
            total[name] = total.get(name, 0) + n
    result.counts = total
    return result


def denied_count(state: LinkageState) -> int:
    return sum(1 for k in state.privacy if k.startswith("deny:"))


def deleted_keys(state: LinkageState, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` are on the deny-list (tests and operators' checks)."""
    return {k for k in keys if is_denied(state, k)}


def decode_deletion(value: bytes) -> DeletionRequestV1 | None:
    """A deletion request in its CloudEvents envelope (as casework's relay sends it) or plain; None if neither."""
    try:
        return Envelope[DeletionRequestV1].model_validate_json(value).data
    except ValidationError:
        try:
            return DeletionRequestV1.model_validate_json(value)
        except ValidationError:
            return None


def handle_deletions(service: LinkageService, batch: Sequence[Incoming]) -> list[tuple[int, Message]]:
    """privacy.deletions.v1 in: state, deny-list, retractions and tombstones in one transaction (the outbox)."""
    messages: list[Message] = []
    for item in batch:
        request = decode_deletion(item.value)
        if request is None:
            service.metrics.records_failed.labels("invalid_deletion").inc()
            log.warning("skipped an undecodable deletion request at %s-%s@%s", item.topic, item.partition,
                        item.offset)
            continue
        result = forget(request, service.state)
        service.metrics.deletions.labels(result.outcome).inc()
        log.info("deletion request %s: %s %s", request.request_id, result.outcome,  # ids and counts only
                 " ".join(f"{k}={v}" for k, v in sorted(result.counts.items())))
        messages += service._encode(result.facts)
        for child_id in result.tombstones:
            service.metrics.messages_published.labels("child_tombstone").inc()
            messages.append((linkage_children.TOPIC.name, child_id.encode(), None, {}))
    return service._commit(messages)
