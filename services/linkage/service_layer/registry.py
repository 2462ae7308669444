"""住民記録 (resident registry): persons, 世帯 (households), residence facts for children."""

from __future__ import annotations

from typing import Any

from contracts.topics.ingest_records import RecordV1
from services.linkage.domain.identity import is_minor
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.model import Person, SourceFact
from services.linkage.domain.state import KEYED_FIELDS
from services.linkage.service_layer.identify import conflicting_students, identity_of, open_review
from services.linkage.service_layer.late_match import adopt_students
from services.linkage.service_layer.unit import Change

ARRIVALS = ("birth", "move_in")
WARD_MOVES = ("birth", "move_in", "move_within")  # 異動事由 after which the (new) address applies from 異動日


def _ward_since(person: Person, identity: dict[str, Any], reason: Any, effective: Any) -> str | None:
    """From when the child's ward applies: the 異動日 of a birth, 転入 or 転居, or of the record that first
    gave or changed the ward; kept across records that leave the ward as it is (name or household changes)."""
    day = effective if isinstance(effective, str) else person.birth_date
    ward = identity.get("ward_code", person.ward_code)
    if reason in WARD_MOVES or ward != person.ward_code or person.ward_since is None:
        return day
    return person.ward_since


_MATCHED = tuple(sorted(KEYED_FIELDS))


def _matched_on(person: Person) -> tuple[Any, ...]:
    """What matching reads of a person (its blocks and weights), and whether it is in the blocks at all."""
    return (*(getattr(person, f) for f in _MATCHED), person.is_child)


def _residence(akey: str, record: RecordV1, ch: Change) -> SourceFact:
    key = f"residence|{akey}"
    sf = ch.state.source_facts.get(key)
    if sf is None:
        sf = SourceFact(key=key, kind="residence", system=record.system, scope="self",
                        refs=[["subject", akey]], record_id=record.record_id)
    return sf


def apply_registry(record: RecordV1, refs: dict[str, list[str]], ch: Change, match_settings: MatchSettings) -> None:
    subjects = refs.get("subject", [])
    person = ch.state.person_for_key(subjects[0]) if subjects else None
    if person is None:
        return
    akey = subjects[0]
    attrs = record.attributes
    effective = attrs.get("effective_date") if isinstance(attrs.get("effective_date"), str) else record.record_date
    sf = _residence(akey, record, ch)
    if record.event_type.endswith(".left"):
        tokens = ch.state.update_person(person, {"status": "left"})
        sf.valid_to = effective if isinstance(effective, str) else None
        sf.attributes = {**sf.attributes, "left_reason": attrs.get("reason")}
    else:
        keys = next(k for k in record.persons if k.role == "subject")
        identity: dict[str, Any]
        made_here = "new" in ch.outcomes and person.keys.get(akey) == record.record_id and len(person.keys) == 1
        if made_here:
            # made from this very record (``_by_atena``): its identity fields are the record's already, so only
            # what the record adds besides is compared and set
            identity = {}
        else:
            identity = identity_of(keys)
        if isinstance(attrs.get("school_code"), str):  # 学齢簿: the school a child of school age is assigned to
            identity["school_code"] = attrs["school_code"]
        if (keys.birth_date and person.birth_date and keys.birth_date != person.birth_date
                and attrs.get("reason") != "correction" and sf.sent):
            open_review(record, akey, "registry_birth_date_changed", ch, person.person_id, identity=identity)
        minor = person.is_child or is_minor(keys.birth_date, effective if isinstance(effective, str) else None)
        ward_since = _ward_since(person, identity, attrs.get("reason"), effective)
        matched_on = _matched_on(person)
        tokens = ch.state.update_person(person, {**identity, "household_no": record.household_no,
                                                 "status": "resident", "is_child": minor, "ward_since": ward_since})
        if person.is_child and (made_here or _matched_on(person) != matched_on):
            adopt_students(person, ch, match_settings)  # made by this record, or matched on something new
        conflicting_students(person, ch, match_settings)
        since: Any = effective if attrs.get("reason") in ARRIVALS else sf.attributes.get("resident_since")
        sf.attributes = {"birth_date": person.birth_date, "sex": person.sex, "ward_code": person.ward_code,
                         "household_no": person.household_no, "resident_since": since,
                         "ward_since": person.ward_since}
        sf.valid_from, sf.valid_to = since, None
    if person.is_child or sf.key in ch.state.source_facts:  # adults have no residence fact to attribute
        sf.record_id, sf.record_date = record.record_id, record.record_date
        ch.state.put_source_fact(sf)
        ch.source_facts.add(sf.key)
    ch.person_changed(person, tokens | {f"person:{person.person_id}"})
