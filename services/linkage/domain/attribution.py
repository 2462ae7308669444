"""Attribution: which children a source fact concerns, and the FactV1 changes that follow.

Attribution is recomputed from current state, never patched: ``reconcile`` compares the facts a source fact
should have now with those last emitted and returns only the differences (asserted/updated or retracted).
So household moves, births, merges and splits are all handled by re-running it for the affected source facts.
"""

from __future__ import annotations

from typing import Any

from services.linkage.domain.identity import fact_id_for, text_hash
from services.linkage.domain.model import Entry, Person, SourceFact, asserted, same_body, shown_attributes
from services.linkage.domain.state import LinkageState

Target = tuple[str, str]  # (child id, relation)


class _Reader:
    """Resolves keys while recording what was read, so later changes know whom to re-attribute."""

    def __init__(self, state: LinkageState) -> None:
        self.state = state
        self.deps: set[str] = set()

    def person(self, key: str) -> Person | None:
        self.deps.add(f"key:{key}")
        person = self.state.person_for_key(key)
        if person is not None:
            self.deps.add(f"person:{person.person_id}")
        return person

    def child(self, key: str) -> Person | None:
        person = self.person(key)
        return person if person is not None and person.is_child else None

    def household_children(self, household_no: str) -> list[Person]:
        self.deps.add(f"hh:{household_no}")
        return self.state.household_children(household_no)


def _refs(sf: SourceFact, *roles: str) -> list[str]:
    return [key for role, key in sf.refs if role in roles]


def _mother_targets(sf: SourceFact, rd: _Reader) -> list[Target]:
    """A pregnancy's or a delivery's fact reaches the children born of it: twins both, once their births are
    known (a record that names one child, or none, still concerns every child of that delivery)."""
    mothers = _refs(sf, "mother")
    rd.deps |= {f"key:{key}" for key in mothers}  # lets a birth find its mother's open pregnancy
    child_keys = _refs(sf, "child")
    if not child_keys and sf.pregnancy_id:  # every birth of the pregnancy fires preg:<id>
        rd.deps.add(f"preg:{sf.pregnancy_id}")
        births = [b for key in mothers for b in rd.state.births.get(key, [])]
        birth = rd.state.birth_by_pregnancy.get(sf.pregnancy_id)
        child_keys = [b.child_key for b in births if b.pregnancy_id == sf.pregnancy_id] or (
            [birth.child_key] if birth else [])
    else:  # a postpartum checkup: the delivery it follows, found among the mother's births (a twin's may come later)
        rd.deps |= {f"births:{key}" for key in mothers}
        births = [b for key in mothers for b in rd.state.births.get(key, [])]
        if child_keys:  # the named child's delivery: its twin too
            days = {b.birth_date for b in births if b.child_key in child_keys and b.birth_date}
            child_keys = child_keys + [b.child_key for b in births if b.birth_date in days
                                       and b.child_key not in child_keys]
        else:  # without the child: the mother's latest delivery up to that day
            before = [b for b in births if not sf.record_date or not b.birth_date or b.birth_date <= sf.record_date]
            if before:
                latest = max(b.birth_date or "" for b in before)
                child_keys = [b.child_key for b in before if (b.birth_date or "") == latest]
    return [(c.person_id, "mother") for key in child_keys if (c := rd.child(key))]


def _household_targets(sf: SourceFact, rd: _Reader) -> list[Target]:
    household = sf.household_no
    if household is None:
        for key in _refs(sf, "member", "household_head", "subject"):
            member = rd.person(key)
            if member is not None and member.household_no and member.status == "resident":
                household = member.household_no
                break
    return [(c.person_id, "household") for c in rd.household_children(household)] if household else []


def _guardian_targets(sf: SourceFact, rd: _Reader) -> list[Target]:
    found: list[Target] = [(c.person_id, "self") for key in _refs(sf, "subject") if (c := rd.child(key))]
    covered = _refs(sf, "covered_child")
    if covered:
        found += [(c.person_id, "guardian") for key in covered if (c := rd.child(key))]
    elif not found:  # no children listed: the guardian's household's children
        for key in _refs(sf, "guardian"):
            guardian = rd.person(key)
            if guardian is not None and guardian.household_no and guardian.status == "resident":
                found += [(c.person_id, "guardian") for c in rd.household_children(guardian.household_no)
                          if c.person_id != guardian.person_id]
    return found


def targets(sf: SourceFact, state: LinkageState) -> tuple[list[Target], set[str]]:
    rd = _Reader(state)
    if sf.scope == "self":
        found = [(c.person_id, "self") for key in _refs(sf, "subject", "child") if (c := rd.child(key))]
    elif sf.scope == "mother":
        found = _mother_targets(sf, rd)
    elif sf.scope == "household":
        found = _household_targets(sf, rd)
    else:
        found = _guardian_targets(sf, rd)
    unique: dict[str, str] = {}
    for child_id, relation in found:
        unique.setdefault(child_id, relation)
    return sorted(unique.items()), rd.deps


def fact_payload(sf: SourceFact, child_id: str, relation: str) -> dict[str, Any]:
    return {
        "fact_id": fact_id_for(sf.key, child_id), "child_id": child_id, "kind": sf.kind, "relation": relation,
        "status": "asserted", "source_system": sf.system, "record_id": sf.record_id,
        "record_date": sf.record_date, "valid_from": sf.valid_from, "valid_to": sf.valid_to,
        "attributes": shown_attributes(sf.attributes),
    }


def reconcile(sf: SourceFact, state: LinkageState) -> list[dict[str, Any]]:
    """The FactV1 payloads to publish so downstream matches what this source fact implies now.

    A child's payload is sent again when it would differ from the last one sent to it (relation, status or what
    the source fact says), with the next version; a child no longer reached gets the last payload retracted."""
    found, deps = targets(sf, state)
    state.set_deps(sf, deps)
    body, old = sf.current_body(), sf.body
    # ``body`` as the asserted entries' shared body from now on: the old one while payloads built from the two
    # are equal (unchanged entries keep what was sent), else the new one (then every asserted entry is re-sent)
    unchanged = old is not None and same_body(old, body, strict=False)
    base = old if unchanged else body
    # a payload sent now is the base's, byte for byte
    own = base is body or (old is not None and same_body(old, body, strict=True))
    sent = sf.sent
    changes: list[dict[str, Any]] = []
    entries: list[tuple[str, Entry]] = []
    known = 0  # children reached now that were sent something before
    for child_id, relation in found:
        previous = sent.get(child_id)
        known += previous is not None
        if isinstance(previous, dict):  # a payload as an older release stored it
            payload = fact_payload(sf, child_id, relation)
            if _unversioned(previous) == payload:
                continue
        elif previous is not None and not previous[2] and previous[0] == relation and (
                unchanged if previous[3] is None else same_body(previous[3], body, strict=False)):
            continue
        else:
            payload = fact_payload(sf, child_id, relation)
        version = _next_version(previous)
        changes.append({**payload, "version": version})
        entries.append((child_id, asserted(relation, version) if own else (relation, version, False, body)))
    if len(sent) > known:  # some child was sent something and is no longer reached
        reached = {child_id for child_id, _ in found}
        for child_id, previous in sent.items():
            if child_id in reached:
                continue
            if isinstance(previous, dict):
                if previous.get("status") != "retracted":
                    retraction = {**previous, "status": "retracted", "version": _next_version(previous)}
                    changes.append(retraction)
                    entries.append((child_id, retraction))
            elif not previous[2]:
                relation, version, _, was = previous
                retracted: Entry = (relation, version + 1, True, was or old)
                changes.append(sf.payload(child_id, retracted))
                entries.append((child_id, retracted))
    sf.body = base
    if changes:
        for child_id, entry in entries:
            sent[child_id] = entry
        state.changed_fact(sf)
    return changes


def _unversioned(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "version"} if "version" in payload else payload


def _next_version(previous: Entry | None) -> int:
    """Each change of a fact for a child (asserted, updated, retracted) gets the next version: 1, 2, … The last
    entry sent (``SourceFact.sent``, persisted with the state) holds the current one, so a restart continues the
    sequence; a payload sent before versions existed counts as version 0."""
    if previous is None:
        return 1
    if isinstance(previous, dict):
        return int(previous.get("version") or 0) + 1
    return previous[1] + 1


def profile_payload(person: Person, state: LinkageState) -> dict[str, Any]:
    status = {"merged": "merged", "left": "left"}.get(person.status, "resident")
    return {
        "child_id": person.person_id, "household_id": person.household_no, "name_kanji": person.name_kanji,
        "name_kana": person.name_kana, "birth_date": person.birth_date, "sex": person.sex,
        "ward_code": person.ward_code, "ward_since": person.ward_since, "address": person.address,
        "status": status, "merged_into": person.merged_into,
    }


def profile_change(person: Person, state: LinkageState) -> dict[str, Any] | None:
    """The ChildProfileV1 to publish when a child's profile differs from the last one sent."""
    if not person.is_child:
        return None
    payload = profile_payload(person, state)
    digest = text_hash(payload)
    if digest == person.profile_hash:
        return None
    person.profile_hash = digest
    person.profile_version += 1  # persisted with the person: a restart continues the sequence
    state.touch("person", person.person_id)
    return {**payload, "version": person.profile_version}
