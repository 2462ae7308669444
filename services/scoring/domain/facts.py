"""Facts about one child, as scoring sees them: plain values, dates parsed, retracted facts gone."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

Scalar = str | int | float | bool | None


_DAYS: dict[str, date | None] = {}  # parsed days, shared: a child's parsed facts hold many, few are distinct
_DAYS_MAX = 100_000


def parse_date(value: object) -> date | None:
    """ISO 8601 date (a datetime's date part is accepted); anything else is treated as unknown."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return _DAYS[value]
    except KeyError:
        pass
    try:
        day: date | None = date.fromisoformat(value[:10])
    except ValueError:
        day = None
    if len(_DAYS) >= _DAYS_MAX:  # days repeat (≈ 36 500 a century); a datetime's full text may not: bounded
        _DAYS.clear()
    _DAYS[value] = day
    return day


_NO_DATES: Mapping[str, date] = MappingProxyType({})  # shared by the facts without a dated attribute


def _date_attributes(attributes: Mapping[str, Scalar]) -> Mapping[str, date]:
    """The attributes that are dates, parsed (``parse_date``: only a string of 10 characters or more can be one)."""
    found: dict[str, date] | None = None
    for name, value in attributes.items():
        if type(value) is str and len(value) >= 10:
            day = _DAYS.get(value)
            if day is None:
                day = parse_date(value)
            if day is not None:
                if found is None:
                    found = {}
                found[name] = day
    return _NO_DATES if found is None else found


@dataclass(frozen=True, slots=True)
class Fact:
    fact_id: str
    kind: str
    relation: str
    source_system: str
    record_id: str
    record_date: str | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    attributes: Mapping[str, Scalar] = field(default_factory=dict)
    # Parsed once (a fact lives on across its child's updates): the record date, and the attributes that are dates.
    recorded_on: date | None = field(init=False, repr=False, compare=False)
    date_attributes: Mapping[str, date] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "recorded_on", parse_date(self.record_date))
        object.__setattr__(self, "date_attributes", _date_attributes(self.attributes))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Fact:
        """The fact of a stored fact's JSON. Every fact of a child is parsed at each of its full evaluations (a
        backlog's release, the sweep), so the fields are set directly, as the frozen dataclass's ``__init__`` and
        ``__post_init__`` would set them, without their keyword call and ``__post_init__``'s: 2.5 → 1.8 µs a fact
        (a unit test holds it to the constructor's result)."""
        fact = _new(cls)
        record_date, attributes = raw.get("record_date"), raw.get("attributes") or {}
        _set(fact, "fact_id", raw["fact_id"])
        _set(fact, "kind", raw["kind"])
        _set(fact, "relation", raw["relation"])
        _set(fact, "source_system", raw["source_system"])
        _set(fact, "record_id", raw["record_id"])
        _set(fact, "record_date", record_date)
        _set(fact, "valid_from", parse_date(raw.get("valid_from")))
        _set(fact, "valid_to", parse_date(raw.get("valid_to")))
        _set(fact, "attributes", attributes)
        _set(fact, "recorded_on", parse_date(record_date))
        _set(fact, "date_attributes", _date_attributes(attributes))
        return fact

    def attr(self, name: str) -> Scalar:
        return self.attributes.get(name)

    def date_attr(self, name: str) -> date | None:
        return self.date_attributes.get(name)

    def number_attr(self, name: str) -> float | None:
        value = self.attributes.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value)

    def started_by(self, today: date) -> bool:
        """The fact had begun by ``today`` (a fact without a start date counts as begun)."""
        return self.valid_from is None or self.valid_from <= today

    def active_on(self, today: date) -> bool:
        """Begun by ``today`` and not ended: an end date on or before today means it is over."""
        return self.started_by(today) and (self.valid_to is None or self.valid_to > today)

    def business_date(self) -> date | None:
        return self.recorded_on or self.valid_from

    def dates(self) -> list[date]:
        """Every date the fact carries: its start, end and record date, then its dated attributes (what the horizon,
        domain/horizon.py, looks at)."""
        found = [day for day in (self.valid_from, self.valid_to, self.recorded_on) if day is not None]
        found.extend(self.date_attributes.values())
        return found

    def dated(self, *names: str) -> date | None:
        """The first of the named date attributes present, else when the fact began, else its record date."""
        for name in names:
            if (value := self.date_attributes.get(name)) is not None:
                return value
        return self.valid_from or self.recorded_on


_new, _set = object.__new__, object.__setattr__  # Fact.from_dict's way round a frozen dataclass's __init__


def raw_fact_dates(raw: Mapping[str, Any]) -> list[date]:
    """``Fact.from_dict(raw).dates()``, without building the fact."""
    found = [day for day in (parse_date(raw.get("valid_from")), parse_date(raw.get("valid_to")),
                             parse_date(raw.get("record_date"))) if day is not None]
    found.extend(_date_attributes(raw.get("attributes") or {}).values())
    return found


def _by_id(fact: Fact) -> str:
    return fact.fact_id


class ChildFacts:
    """The current facts of one child, indexed by kind; the input of every rule.

    Built from stored JSON with ``from_raw``, a kind is parsed only when a rule first asks for it. ``replacing``
    gives the same child after an update, sharing what did not change (parsed facts, the residence and birth
    record of a day) so that a child's next update starts where the last one ended.
    """

    __slots__ = ("_birth_record", "_by_kind", "_parse", "_raw_by_kind", "_residence")

    def __init__(self, facts: Iterable[Fact] = ()) -> None:
        by_kind: dict[str, list[Fact]] = {}
        for fact in facts:
            by_kind.setdefault(fact.kind, []).append(fact)
        for same_kind in by_kind.values():
            same_kind.sort(key=_by_id)
        self._by_kind = by_kind
        self._raw_by_kind: dict[str, list[Mapping[str, Any]]] = {}
        # The last day asked and the answer: an update or a sweep asks about one day, many times.
        self._residence: tuple[date, Fact | None] | None = None
        self._birth_record: tuple[date, Fact | None] | None = None
        self._parse: Callable[[Mapping[str, Any]], Fact] = Fact.from_dict

    @classmethod
    def from_raw(cls, raws: Iterable[Mapping[str, Any]],
                 parse: Callable[[Mapping[str, Any]], Fact] = Fact.from_dict) -> ChildFacts:
        facts = cls()
        facts._parse = parse
        for raw in raws:
            facts._raw_by_kind.setdefault(raw["kind"], []).append(raw)
        return facts

    def updated(self, fact_id: str, previous_kind: str | None, raw: Mapping[str, Any] | None) -> ChildFacts:
        """These facts after one changed: ``fact_id`` (of ``previous_kind`` until now, ``None``: new) is now
        ``raw`` (``None``: gone). Every other fact, parsed or not, is shared with this one."""
        facts = ChildFacts()
        facts._parse = self._parse
        facts._by_kind, facts._raw_by_kind = dict(self._by_kind), dict(self._raw_by_kind)
        current_kind = raw["kind"] if raw is not None else None
        kinds = {kind for kind in (previous_kind, current_kind) if kind is not None}
        for kind in kinds:
            raws = [r for r in self._raw_by_kind.get(kind, ()) if r["fact_id"] != fact_id]
            parsed = self._by_kind.get(kind)
            if parsed is not None:
                parsed = [f for f in parsed if f.fact_id != fact_id]
            if raw is not None and kind == current_kind:
                raws.append(raw)
                if parsed is not None:
                    parsed = sorted([*parsed, self._parse(raw)], key=_by_id)
            facts._raw_by_kind[kind] = raws
            if parsed is not None:
                facts._by_kind[kind] = parsed
        if "residence" not in kinds:  # what was found for a day still holds
            facts._residence = self._residence
            if "birth" not in kinds:
                facts._birth_record = self._birth_record
        return facts

    def keeping(self, kinds: Iterable[str], keep: Callable[[Fact], bool]) -> ChildFacts:
        """These facts with those of ``kinds`` that ``keep`` refuses left out; every other kind is shared."""
        facts = ChildFacts()
        facts._parse = self._parse
        facts._by_kind, facts._raw_by_kind = dict(self._by_kind), self._raw_by_kind
        for kind in kinds:
            facts._by_kind[kind] = [f for f in self.of_kind(kind) if keep(f)]
        facts._residence, facts._birth_record = self._residence, self._birth_record
        return facts

    def of_kind(self, kind: str) -> list[Fact]:
        found = self._by_kind.get(kind)
        if found is None:
            found = sorted((self._parse(raw) for raw in self._raw_by_kind.get(kind, ())), key=_by_id)
            self._by_kind[kind] = found
        return found

    @property
    def facts(self) -> tuple[Fact, ...]:
        kinds = sorted(set(self._by_kind) | set(self._raw_by_kind))
        return tuple(sorted((f for kind in kinds for f in self.of_kind(kind)), key=_by_id))

    def dates(self) -> list[date]:
        """Every date the facts carry (start, end, record date, dated attributes), in no particular order. A kind
        no rule has asked for yet is read from its JSON (``raw_fact_dates``) rather than parsed into facts: the
        horizon (domain/horizon.py) looks at every kind, a municipality's rules at some (Fukuoka's none of about a
        fifth of the facts: medical subsidies, surveys, school aid, …)."""
        found: list[date] = []
        parsed, default_parse = self._by_kind, self._parse == Fact.from_dict
        for kind in set(parsed) | set(self._raw_by_kind):
            facts = parsed.get(kind)
            if facts is None and default_parse:
                for raw in self._raw_by_kind[kind]:
                    found.extend(raw_fact_dates(raw))
                continue
            for fact in facts if facts is not None else self.of_kind(kind):
                found.extend(fact.dates())
        return found

    def __iter__(self) -> Iterator[Fact]:
        return iter(self.facts)

    def __len__(self) -> int:
        return len(self.facts)

    def residence(self, today: date) -> Fact | None:
        """The child's current residence fact: the active one that began last."""
        if self._residence is None or self._residence[0] != today:
            self._residence = (today, self._find_residence(today))
        return self._residence[1]

    def _find_residence(self, today: date) -> Fact | None:
        candidates = [f for f in self.of_kind("residence") if f.relation == "self" and f.active_on(today)]
        if not candidates:
            return None
        return max(candidates, key=lambda f: (f.valid_from or date.min, f.fact_id))

    def birth_record(self, today: date) -> Fact | None:
        """The fact the birth date comes from: the current residence, else the birth record, else any residence."""
        if self._birth_record is None or self._birth_record[0] != today:
            self._birth_record = (today, self._find_birth_record(today))
        return self._birth_record[1]

    def _find_birth_record(self, today: date) -> Fact | None:
        residence = self.residence(today)
        candidates = [residence] if residence is not None else []
        candidates += [f for f in self.of_kind("birth") if f.relation == "self"] + self.of_kind("residence")
        return next((f for f in candidates if f.date_attr("birth_date") is not None), None)

    def birth_date(self, today: date) -> date | None:
        record = self.birth_record(today)
        return record.date_attr("birth_date") if record is not None else None

    def sex(self, today: date) -> str | None:
        residence = self.residence(today)
        facts = [residence] if residence is not None else []
        facts += self.of_kind("residence") + self.of_kind("school_enrolment")
        for fact in facts:
            value = fact.attr("sex")
            if value in ("1", "2"):
                return str(value)
        return None

    def ward_code(self, today: date) -> str | None:
        residence = self.residence(today)
        value = residence.attr("ward_code") if residence is not None else None
        return str(value) if value else None

    def ward_since(self, today: date) -> date | None:
        """From when the current ward applies: linkage's ``ward_since`` on the residence fact (a 転居 within the
        city), else when that residence began (転入, or birth)."""
        residence = self.residence(today)
        if residence is None:
            return None
        return residence.date_attr("ward_since") or residence.valid_from or residence.date_attr("birth_date")

    def resident_since(self, today: date) -> date | None:
        """転入日 of the current stay; ``None`` means the child has lived here since birth (or we do not know)."""
        residence = self.residence(today)
        return residence.date_attr("resident_since") if residence is not None else None
