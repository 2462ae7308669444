"""The linkage domain's entities: persons (with their keys), source facts, reviews."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

PersonStatus = Literal["resident", "left", "known", "merged"]
# How a source fact reaches children: the subject itself, a mother's pregnancy/birth, a household, a guardian.
Scope = Literal["self", "mother", "household", "guardian"]


def _fields(entity: Any) -> dict[str, Any]:
    """The entity's fields as a dict, for persistence: shallow (the nested dicts and lists are the entity's own),
    so it is serialised at once, never kept or changed. ``dataclasses.asdict`` deep-copied every leaf: it was
    a fifth of linkage's CPU (issue 19)."""
    return {name: getattr(entity, name) for name in entity.__slots__}


IDENTITY_FIELDS = (
    "name_kanji", "name_kana", "kanji_key", "kana_key", "surname_kana_key", "given_kana_key",
    "birth_date", "sex", "address", "address_key", "ward_code", "postal_code", "school_code",
)


@dataclass(slots=True)
class Person:
    """One real person as linkage knows them; ``keys`` maps each key to the record (or decision) that bound it."""

    person_id: str
    keys: dict[str, str] = field(default_factory=dict)
    name_kanji: str | None = None
    name_kana: str | None = None
    kanji_key: str | None = None
    kana_key: str | None = None
    surname_kana_key: str | None = None
    given_kana_key: str | None = None
    birth_date: str | None = None
    sex: str | None = None
    address: str | None = None
    address_key: str | None = None
    ward_code: str | None = None
    ward_since: str | None = None  # from when ward_code applies: the registry's 異動日 of a birth, 転入 or 転居
    postal_code: str | None = None
    school_code: str | None = None
    household_no: str | None = None
    status: PersonStatus = "known"
    is_child: bool = False
    merged_into: str | None = None
    cannot_link: list[str] = field(default_factory=list)  # keys a human said are not this person
    key_identities: dict[str, dict[str, Any]] = field(default_factory=dict)  # identity each matched key came with
    profile_hash: str | None = None  # of the last ChildProfileV1 emitted
    profile_version: int = 0  # ChildProfileV1.version of the last one emitted

    def to_dict(self) -> dict[str, Any]:
        return _fields(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Person:
        return cls(**raw)


@dataclass(slots=True)
class SourceFact:
    """A thing a source system said (a case, an allowance, a checkup), before attribution to children.

    ``emitted`` holds the FactV1 payloads last sent per fact id, so attribution can send only differences
    and retract what no longer applies; ``deps`` names what the attribution read (keys, households, births).
    """

    key: str
    kind: str
    system: str
    scope: Scope
    refs: list[list[str]]  # [role, person key]
    record_id: str
    record_date: str | None = None
    valid_from: str | None = None
    valid_to: str | None = None
    household_no: str | None = None
    pregnancy_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    emitted: dict[str, dict[str, Any]] = field(default_factory=dict)
    deps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _fields(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SourceFact:
        return cls(**raw)


@dataclass(slots=True)
class Birth:
    """母子 link from a birth record: mother → child, with the pregnancy (妊娠届) it came from."""

    mother_key: str
    child_key: str
    birth_date: str | None
    pregnancy_id: str | None

    def to_dict(self) -> dict[str, Any]:
        return _fields(self)


@dataclass(slots=True)
class PendingReview:
    """An open clerical-review case: the record's key waits, unbound, for a human decision."""

    review_id: str
    record_id: str
    subject_key: str | None
    candidate_person_id: str | None
    reason: str
    identity: dict[str, Any] = field(default_factory=dict)
    decision: dict[str, Any] | None = None  # the human decision, kept so a replay re-applies it
    decided: str | None = None  # signature of the decision already applied
    system: str = ""  # the record's source system (for the review case published again when it is closed)

    def to_dict(self) -> dict[str, Any]:
        return _fields(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> PendingReview:
        return cls(**raw)
