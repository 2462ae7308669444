"""A validated source payload → ``RecordV1`` for ingest.records.v1, following ``PERSON_FIELDS``."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import Any

from contracts.envelope import Envelope
from contracts.sources._common import SourceData
from contracts.topics.ingest_records import PERSON_FIELDS, Role, Scalar
from services.ingest.domain import normalise, surnames
from services.ingest.domain.dates import parse_jp_date
from services.ingest.domain.errors import IngestRejected, InvalidDate

# The person whose identity the payload itself carries (resident registry, school students):
# these fields describe that "subject" and go into its PersonKeys, not into attributes.
IDENTITY_FIELDS = ("name_kanji", "name_kana", "birth_date", "sex", "address", "ward_code", "postal_code")
IDENTITY_SYSTEMS = frozenset({"resident_registry", "school_students"})
# The record's own business date: the first of these the payload has. A birth date dates only the birth
# event itself; a student's registration has no business date of its own (its occurred_at says when).
RECORD_DATE_FIELDS = (
    "start_date", "end_date", "issue_date", "effective_date", "left_date", "visit_date", "checkup_date",
    "notification_date", "answered_date", "as_of",
)
BIRTH_EVENT = "maternal_child_health.birth.recorded"
# Dates that cannot lie after the event that reports them (a birth reported before it happened).
NOT_AFTER_EVENT = frozenset({"birth_date"})
_CLOCK_SKEW = timedelta(days=1)  # event times carry an offset; a date is local, so allow a day


def is_date_field(name: str) -> bool:
    return name.endswith("_date") or name == "as_of"


# Fields that do not go to attributes: persons' fields, household_no (its own field), identity fields.
_CONSUMED: dict[str, frozenset[str]] = {
    system: frozenset({*roles, "household_no", *(IDENTITY_FIELDS if system in IDENTITY_SYSTEMS else ())})
    for system, roles in PERSON_FIELDS.items()
}


def record_key(record: dict[str, Any]) -> str:
    """The primary 宛名番号 (first person in PERSON_FIELDS order), else the student key."""
    persons: list[dict[str, Any]] = record["persons"]
    for person in persons:
        if person.get("atena_no"):
            return str(person["atena_no"])
    for person in persons:
        if person.get("student_id"):
            return f"student:{person.get('school_code') or ''}:{person['student_id']}"
    raise IngestRejected("invalid_data", "record names no person (neither 宛名番号 nor student id)")


def record_payload(system: str, envelope: Envelope[SourceData]) -> dict[str, Any]:
    """RecordV1 as a JSON-ready dict without null fields (minimal data), built without pydantic.

    Building the dict directly is several times cheaper than constructing and dumping the models; the
    unit and property tests validate every output against RecordV1.
    """
    # Source payloads are flat (strings, numbers, lists of strings): their __dict__ is the data, with no
    # model_dump copy. Dates are parsed once here and reused for persons, attributes and record_date.
    data: dict[str, Any] = envelope.data.__dict__
    model = type(envelope.data)
    event_day = envelope.time.date()
    dates = {name: _date(name, data[name], event_day) for name in _date_fields(model) if data.get(name) is not None}
    roles = PERSON_FIELDS[system]
    persons = _persons(system, data, roles, dates)
    consumed = _CONSUMED[system]
    attributes: dict[str, Scalar | list[str]] = {}
    for name, value in data.items():
        if name in consumed or value is None:
            continue
        if name in dates:
            attributes[name] = dates[name].isoformat()
        elif type(value) is str:  # most values: ``_attribute``'s first case, without the call
            attributes[name] = normalise.nfkc(value)
        else:
            attributes[name] = _attribute(value)
    record_date = None
    for name in _record_date_fields(model):  # the first of RECORD_DATE_FIELDS the payload has
        if name in dates:
            record_date = dates[name].isoformat()
            break
    if envelope.type == BIRTH_EVENT:
        record_date = dates["birth_date"].isoformat()
    if record_date is None and "school_year" in data and "month" in data:
        # 年度 runs April–March: months 1–3 belong to the following calendar year.
        year = data["school_year"] + (1 if data["month"] < 4 else 0)
        record_date = date(year, data["month"], 1).isoformat()
    record: dict[str, Any] = {"record_id": envelope.id, "system": system, "event_type": envelope.type,
                              "occurred_at": envelope.time.isoformat()}
    if record_date is not None:
        record["record_date"] = record_date
    household = data.get("household_no")
    if household:
        record["household_no"] = normalise.digits(household)
    record["persons"] = persons
    record["attributes"] = attributes
    return record


@cache
def _date_fields(model: type[SourceData]) -> tuple[str, ...]:
    return tuple(name for name in model.model_fields if is_date_field(name))


@cache
def _record_date_fields(model: type[SourceData]) -> tuple[str, ...]:
    """RECORD_DATE_FIELDS that the model has, in that order (most have one or none of the ten)."""
    return tuple(name for name in RECORD_DATE_FIELDS if name in model.model_fields)


def _date(name: str, value: str, event_day: date) -> date:
    try:
        parsed = parse_jp_date(value)
    except InvalidDate as exc:
        raise IngestRejected("invalid_value", f"data.{name}: {exc}") from None
    if name in NOT_AFTER_EVENT and parsed > event_day + _CLOCK_SKEW:
        raise IngestRejected("invalid_value", f"data.{name}: after the event's own time (in the future)")
    return parsed


def _attribute(value: Any) -> Scalar | list[str]:
    if isinstance(value, str):
        return normalise.nfkc(value)  # identifiers in full-width (ＣＡ１２３) must join their half-width twin
    if isinstance(value, list):
        return [normalise.nfkc(str(v)) for v in value]
    if isinstance(value, bool | int | float):
        return value
    return str(value)


def _persons(system: str, data: dict[str, Any], roles: dict[str, Role],
             dates: dict[str, date]) -> list[dict[str, Any]]:
    # Several source fields with the same role ("subject": atena_no and student_id) describe one person.
    by_role: dict[Role, dict[str, Any]] = {}
    persons: list[dict[str, Any]] = []
    for field, role in roles.items():
        value = data.get(field)
        if value is None:
            continue
        if isinstance(value, list):
            persons.extend({"role": role, "atena_no": normalise.digits(v)} for v in value)
            continue
        keys = by_role.setdefault(role, {"role": role})
        if field.endswith("atena_no"):
            keys["atena_no"] = normalise.digits(value)
        elif field == "student_id":
            keys["student_id"] = normalise.nfkc(value)
            if data.get("school_code"):
                keys["school_code"] = normalise.nfkc(data["school_code"])
    if system in IDENTITY_SYSTEMS and "subject" in by_role:
        by_role["subject"].update(_identity(data, dates))
    return [*by_role.values(), *persons]


def _identity(data: dict[str, Any], dates: dict[str, date]) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    if data.get("name_kanji"):
        keys["name_kanji"] = data["name_kanji"]
        keys["kanji_key"] = normalise.kanji_key(data["name_kanji"])
    if data.get("name_kana"):
        keys["name_kana"] = data["name_kana"]
        keys["kana_key"] = normalise.kana_key(data["name_kana"])
        split = normalise.split_name(data["name_kana"])
        if split:
            keys["surname_kana_key"] = normalise.kana_key(split[0])
            keys["given_kana_key"] = normalise.kana_key(split[1])
        elif inferred := surnames.split_kana(keys["kana_key"], data.get("name_kanji")):
            # no space in the カナ: split where the surname list makes it knowable (name_kana stays as written,
            # so linkage can tell a split the source made from one inferred here)
            keys["surname_kana_key"], keys["given_kana_key"] = inferred
    elif keys.get("kanji_key") and (reading := surnames.surname_reading(data["name_kanji"])):
        # 氏名 without カナ: the surname's reading from the list (no kana_key, so nothing compares it), for blocking
        # by birth date × surname when the given name has a kanji slip
        keys["surname_kana_key"] = reading
    if "birth_date" in dates:
        keys["birth_date"] = dates["birth_date"].isoformat()
    if data.get("sex"):
        keys["sex"] = data["sex"]
    if data.get("address"):
        keys["address"] = normalise.nfkc(data["address"])
        keys["address_key"] = normalise.address_key(data["address"])
    ward = data.get("ward_code") or (normalise.ward_from_address(data["address"]) if data.get("address") else None)
    if ward:
        keys["ward_code"] = ward
    if data.get("postal_code"):
        postal = normalise.postal_code(data["postal_code"])
        if postal is None:
            raise IngestRejected("invalid_value", "data.postal_code: not a 7-digit postal code")
        keys["postal_code"] = postal
    return keys
