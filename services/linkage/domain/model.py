"""The linkage domain's entities: persons (with their keys), source facts, reviews."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Literal

from services.linkage.domain.identity import fact_id_for

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


# What a FactV1 payload says about the source fact (not about the child): kind, source system, record id, record date,
# valid from, valid to, and the attributes as the fact held them (``shown_attributes`` picks what a payload shows).
Body = tuple[str, str, str, str | None, str | None, str | None, dict[str, Any]]
# What was last sent to one child: (relation, version, retracted, body), the body None when it is the source
# fact's ``body``; or, for a payload this code would not build byte for byte (stored by an older release), the payload.
Entry = tuple[str, int, bool, Body | None] | dict[str, Any]
_ASSERTED: dict[tuple[str, int], Entry] = {}  # one shared tuple per (relation, version) of an asserted entry
_BODY_FIELDS = ("kind", "source_system", "record_id", "record_date", "valid_from", "valid_to", "attributes")


def asserted(relation: str, version: int) -> Entry:
    entry = _ASSERTED.get((relation, version))
    if entry is None:
        entry = _ASSERTED[(relation, version)] = (relation, version, False, None)
    return entry


def shown_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """The attributes a FactV1 payload carries: sorted, without lists and dicts."""
    return {k: v for k, v in sorted(attributes.items()) if not isinstance(v, list | dict)}


def _strictly_equal(a: Any, b: Any) -> bool:
    """Equal and written as the same JSON (1, 1.0 and True are equal in Python, not in the payload's bytes)."""
    return type(a) is type(b) and a == b and (type(a) is not float or repr(a) == repr(b))


def same_body(old: Body, new: Body, *, strict: bool) -> bool:
    """Whether payloads built from the two bodies are equal (``strict``: the same bytes too)."""
    if old is new:
        return True
    test = _strictly_equal if strict else (lambda a, b: a == b)
    if not all(test(a, b) for a, b in zip(old[:6], new[:6], strict=True)):
        return False
    if old[6] is new[6]:
        return True
    shown_old, shown_new = shown_attributes(old[6]), shown_attributes(new[6])
    if not strict:
        return shown_old == shown_new
    return list(shown_old) == list(shown_new) and all(_strictly_equal(a, b) for a, b in
                                                      zip(shown_old.values(), shown_new.values(), strict=True))


@dataclass(slots=True)
class SourceFact:
    """A thing a source system said (a case, an allowance, a checkup), before attribution to children.

    ``sent`` holds, per child id, what the FactV1 last sent for that child said, so attribution can send only
    differences and retract what no longer applies (``payload`` builds the payload again, byte for byte); ``deps``
    names what the attribution read (keys, households, births). The payloads are not kept: they repeat the source
    fact for every child (issue 19: they were the largest part of linkage's memory). Every asserted payload says
    what the source fact said at its last attribution, ``body``; a retracted one keeps the body it was sent with.
    ``attributes`` is replaced, never changed in place: a body holds the dict it was built from.
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
    sent: dict[str, Entry] = field(default_factory=dict)  # child id → what was last sent to it
    body: Body | None = None
    deps: list[str] = field(default_factory=list)

    def current_body(self) -> Body:
        return (self.kind, self.system, self.record_id, self.record_date, self.valid_from, self.valid_to,
                self.attributes)

    def payload(self, child_id: str, entry: Entry) -> dict[str, Any]:
        """The FactV1 payload last sent to ``child_id`` (``entry`` is ``sent[child_id]``)."""
        if isinstance(entry, dict):
            return entry
        relation, version, retracted, body = entry
        kind, system, record_id, record_date, valid_from, valid_to, attributes = body or self.body  # type: ignore[misc]
        return {"fact_id": fact_id_for(self.key, child_id), "child_id": child_id, "kind": kind, "relation": relation,
                "status": "retracted" if retracted else "asserted", "source_system": system, "record_id": record_id,
                "record_date": record_date, "valid_from": valid_from, "valid_to": valid_to,
                "attributes": shown_attributes(attributes), "version": version}

    def payloads(self, child_ids: Collection[str] | None = None) -> list[dict[str, Any]]:
        """The payloads last sent (to ``child_ids`` only, when given), in the order they were first sent."""
        return [self.payload(cid, e) for cid, e in self.sent.items() if child_ids is None or cid in child_ids]

    @property
    def emitted(self) -> dict[str, dict[str, Any]]:
        """The payloads last sent, by fact id (built on each call: for reading, not for the hot path)."""
        return {p["fact_id"]: p for p in self.payloads()}

    @emitted.setter
    def emitted(self, payloads: dict[str, dict[str, Any]]) -> None:
        """Takes payloads as stored by a release that kept them (by fact id), compacted where exact."""
        self.sent, self.body = {}, None
        for payload in payloads.values():
            self.sent[payload["child_id"]] = self._compact(payload)

    def _compact(self, p: dict[str, Any]) -> Entry:
        """The entry for a stored payload; the payload itself unless built back byte for byte."""
        version, status = p.get("version"), p.get("status")
        if (type(version) is not int or status not in ("asserted", "retracted") or list(p) != list(_KEYS)
                or not isinstance(p["attributes"], dict)):
            return p
        raw = p["attributes"]
        if list(shown_attributes(self.attributes).items()) == list(raw.items()):
            raw = self.attributes  # the same dict as the fact's: nothing more to keep
        body = self._shared((*(p[f] for f in _BODY_FIELDS[:6]), raw))
        entry: Entry
        if status == "retracted":
            entry = (p["relation"], version, True, body)
        else:
            if self.body is None:
                self.body = body
            entry = asserted(p["relation"], version) if same_body(self.body, body, strict=True) else (
                p["relation"], version, False, body)
        return entry if _same_json(self.payload(p["child_id"], entry), p) else p

    def to_dict(self) -> dict[str, Any]:
        row = {name: getattr(self, name) for name in _STORED}
        row["body"] = self._body_row(self.body)
        row["sent"] = {cid: e if isinstance(e, dict) else [e[0], e[1], e[2], self._body_row(e[3])]
                       for cid, e in self.sent.items()}
        return row

    def _body_row(self, body: Body | None) -> list[Any] | None:
        """A body as stored: its attributes null when they are the fact's own dict."""
        if body is None:
            return None
        return [*body[:6], None if body[6] is self.attributes else body[6]]

    def _body_of(self, row: list[Any] | None) -> Body | None:
        if row is None:
            return None
        return self._shared((*row[:6], self.attributes if row[6] is None else row[6]))

    def _shared(self, values: tuple[Any, ...]) -> Body:
        """A body read from the store, holding the fact's own strings where equal (one string, not two)."""
        own = self.current_body()
        return tuple(o if o is v or _same_json(o, v) else v for o, v in zip(own, values, strict=True))  # type: ignore[return-value]

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> SourceFact:
        """A stored row: this release's (``sent``, ``body``) or an older one's (``emitted``: the payloads)."""
        fields = {name: raw[name] for name in _STORED if name in raw}
        sf = cls(**fields)
        if "emitted" in raw:
            sf.emitted = raw["emitted"]
        else:
            sf.body = sf._body_of(raw.get("body"))
            sf.sent = {cid: e if isinstance(e, dict) else
                       (asserted(e[0], e[1]) if not e[2] and e[3] is None else (e[0], e[1], e[2], sf._body_of(e[3])))
                       for cid, e in raw.get("sent", {}).items()}
        return sf


_STORED = ("key", "kind", "system", "scope", "refs", "record_id", "record_date", "valid_from", "valid_to",
           "household_no", "pregnancy_id", "attributes", "deps")
_KEYS = ("fact_id", "child_id", "kind", "relation", "status", "source_system", "record_id", "record_date",
         "valid_from", "valid_to", "attributes", "version")


def _same_json(a: Any, b: Any) -> bool:
    """Written as the same JSON: equal, with the same types and key order all the way down."""
    if isinstance(a, dict):
        return (isinstance(b, dict) and list(a) == list(b)
                and all(_same_json(a[k], b[k]) for k in a))
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_same_json(x, y) for x, y in zip(a, b, strict=True))
    return _strictly_equal(a, b)


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
