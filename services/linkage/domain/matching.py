"""Fellegi–Sunter matching of a record's person against the registry, with blocking and term frequencies.

Each compared field falls into an agreement level with m (P(level | same person)) and u (P(level | different
persons)); the match weight is the prior log-odds plus Σ log2(m/u). For exact name agreement u is the name's
own frequency in the registry (term-frequency adjustment), so a common name counts for less than a rare one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

import jellyfish

from services.linkage.domain.model import Person
from services.linkage.domain.state import LinkageState

Outcome = Literal["link", "new", "review"]
SIBLING = "given_name_differs"  # never linked automatically, whatever else agrees
MAX_BLOCK = 2000  # a block larger than this (a hugely common value) adds no candidates


class Identity(Protocol):
    @property
    def kana_key(self) -> str | None: ...
    @property
    def kanji_key(self) -> str | None: ...
    @property
    def surname_kana_key(self) -> str | None: ...
    @property
    def given_kana_key(self) -> str | None: ...
    @property
    def birth_date(self) -> str | None: ...
    @property
    def sex(self) -> str | None: ...
    @property
    def address_key(self) -> str | None: ...
    @property
    def school_code(self) -> str | None: ...


@dataclass(frozen=True)
class MatchSettings:
    link_probability: float = 0.995
    new_probability: float = 0.05
    margin_bits: float = 6.0  # best must beat the runner-up by this many bits to link without review
    max_candidates: int = 400


@dataclass(frozen=True)
class Comparison:
    field: str
    record_value: str | None
    candidate_value: str | None
    agreement: str
    weight: float


@dataclass
class Scored:
    person_id: str
    weight: float
    probability: float
    comparisons: list[Comparison] = field(default_factory=list)
    guard: str | None = None  # a reason this pair may never be linked automatically (twins, siblings)


@dataclass
class MatchResult:
    outcome: Outcome
    best: Scored | None
    runner_up: Scored | None
    reason: str


def _bits(m: float, u: float) -> float:
    return math.log2(m / max(u, 1e-12))


def _similar(a: str, b: str) -> bool:
    return jellyfish.jaro_winkler_similarity(a, b) >= 0.92 or jellyfish.levenshtein_distance(a, b) <= 1


def _cmp(name: str, a: str | None, b: str | None, level: str, m: float, u: float) -> Comparison:
    return Comparison(name, a, b, level, round(_bits(m, u), 3))


def _name_kana(r: Identity, p: Person, st: LinkageState, n: int) -> Comparison:
    a, b = r.kana_key, p.kana_key
    if not a or not b:
        return Comparison("kana_name", a, b, "missing", 0.0)
    if a == b:
        return _cmp("kana_name", a, b, "exact", 0.88, max(st.kana_freq.get(a, 1), 1) / n)
    if r.given_kana_key and r.given_kana_key == p.given_kana_key:  # surname changed (marriage, divorce)
        return _cmp("kana_name", a, b, "given_only", 0.05, max(st.given_freq.get(r.given_kana_key, 1), 1) / n)
    if _similar(a, b):
        return _cmp("kana_name", a, b, "fuzzy", 0.05, 0.0005)
    return _cmp("kana_name", a, b, "disagree", 0.02, 0.99)


def _name_kanji(r: Identity, p: Person, st: LinkageState, n: int) -> Comparison:
    a, b = r.kanji_key, p.kanji_key
    if not a or not b:
        return Comparison("kanji_name", a, b, "missing", 0.0)
    if a == b:
        return _cmp("kanji_name", a, b, "exact", 0.85, max(st.kanji_freq.get(a, 1), 1) / n)
    if _similar(a, b):
        return _cmp("kanji_name", a, b, "fuzzy", 0.1, 0.0005)
    return _cmp("kanji_name", a, b, "disagree", 0.05, 0.99)


def _birth_date(r: Identity, p: Person, st: LinkageState, n: int) -> Comparison:
    a, b = r.birth_date, p.birth_date
    if not a or not b:
        return Comparison("birth_date", a, b, "missing", 0.0)
    if a == b:
        return _cmp("birth_date", a, b, "exact", 0.95, max(len(st.by_birth_date.get(a, ())), 1) / n)
    ya, ma, da = a[:4], a[5:7], a[8:10]
    yb, mb, db = b[:4], b[5:7], b[8:10]
    same = (ya == yb) + (ma == mb) + (da == db)
    if same == 2 or (ya == yb and ma == db and da == mb):
        return _cmp("birth_date", a, b, "one_part", 0.04, 0.002)
    return _cmp("birth_date", a, b, "disagree", 0.01, 0.99)


def _sex(r: Identity, p: Person) -> Comparison:
    if not r.sex or not p.sex:
        return Comparison("sex", r.sex, p.sex, "missing", 0.0)
    if r.sex == p.sex:
        return _cmp("sex", r.sex, p.sex, "exact", 0.98, 0.5)
    return _cmp("sex", r.sex, p.sex, "disagree", 0.02, 0.5)


def _address(r: Identity, p: Person) -> Comparison:
    a, b = r.address_key, p.address_key
    if not a or not b:
        return Comparison("address", a, b, "missing", 0.0)
    if a == b:
        return _cmp("address", a, b, "exact", 0.75, 0.0001)
    if a.startswith(b) or b.startswith(a) or jellyfish.jaro_winkler_similarity(a, b) >= 0.93:
        return _cmp("address", a, b, "fuzzy", 0.12, 0.005)
    return _cmp("address", a, b, "disagree", 0.13, 0.995)


def _school(r: Identity, p: Person) -> Comparison:
    if not r.school_code or not p.school_code:
        return Comparison("school_code", r.school_code, p.school_code, "missing", 0.0)
    if r.school_code == p.school_code:
        return _cmp("school_code", r.school_code, p.school_code, "exact", 0.85, 0.003)
    return _cmp("school_code", r.school_code, p.school_code, "disagree", 0.15, 0.997)


def _given_guard(r: Identity, p: Person) -> str | None:
    """Twins and siblings share birth date, address and surname; a different given name keeps them apart.

    A different kana reading of the same kanji name is a reading correction (2025 furigana reform), not a sibling.
    """
    a, b = r.given_kana_key, p.given_kana_key
    if a and b and a != b and r.kanji_key != p.kanji_key and jellyfish.jaro_winkler_similarity(a, b) < 0.85:
        return SIBLING
    return None


def score(record: Identity, person: Person, state: LinkageState) -> Scored:
    n = max(len(state.key_owner), 1000)
    comparisons = [
        _name_kana(record, person, state, n), _name_kanji(record, person, state, n),
        _birth_date(record, person, state, n), _sex(record, person), _address(record, person),
        _school(record, person),
    ]
    weight = _bits(1.0, n) + sum(c.weight for c in comparisons)  # prior: one true match among n persons
    probability = 1.0 / (1.0 + 2.0 ** (-weight)) if weight > -60 else 0.0
    return Scored(person.person_id, round(weight, 3), probability, comparisons, _given_guard(record, person))


def candidates(record: Identity, state: LinkageState, limit: int) -> list[str]:
    found: set[str] = set()
    for index, value in ((state.by_kana, record.kana_key), (state.by_kanji, record.kanji_key),
                         (state.by_birth_date, record.birth_date)):
        block = index.get(value) if value else None
        if block and len(block) <= MAX_BLOCK:
            found |= block
    return sorted(found)[:limit] if len(found) > limit else list(found)


def _other_student(person: Person, own_key: str | None) -> bool:
    """A child has one student id in the city's school system: a candidate holding another is someone else."""
    return own_key is not None and any(k.startswith("student:") and k != own_key for k in person.keys)


def match(record: Identity, state: LinkageState, settings: MatchSettings, excluded: Iterable[str] = (),
          own_key: str | None = None) -> MatchResult:
    skip = set(excluded)
    scored = [score(record, state.persons[pid], state)
              for pid in candidates(record, state, settings.max_candidates) if pid not in skip]
    for s in scored:
        if s.guard is None and _other_student(state.persons[s.person_id], own_key):
            s.guard = "candidate_has_other_student_id"
    scored.sort(key=lambda s: (-s.weight, s.person_id))
    siblings = [s for s in scored if s.guard == SIBLING]
    scored = [s for s in scored if s.guard != SIBLING]
    best = scored[0] if scored else None
    runner = scored[1] if len(scored) > 1 else None
    if best is None or best.probability < settings.new_probability:
        reason = "only_siblings_agree" if siblings and best is None else "no_candidate_above_threshold"
        return MatchResult("new", best or (siblings[0] if siblings else None), runner, reason)
    if best.guard:
        return MatchResult("review", best, runner, best.guard)
    if best.probability >= settings.link_probability:
        if runner is not None and runner.probability >= settings.new_probability \
                and best.weight - runner.weight < settings.margin_bits and not runner.guard:
            return MatchResult("review", best, runner, "two_close_candidates")
        return MatchResult("link", best, runner, "match")
    return MatchResult("review", best, runner, "uncertain_match")
