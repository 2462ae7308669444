"""Fellegi–Sunter matching of a record's person against the registry, with blocking and term frequencies.

Each compared field falls into an agreement level with m (P(level | same person)) and u (P(level | different
persons)); the match weight is the prior log-odds plus Σ log2(m/u). For exact name agreement u is the name's
own frequency in the registry (term-frequency adjustment), so a common name counts for less than a rare one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, Protocol

import jellyfish

from services.linkage.domain.blocking import NAME_BLOCK_LIMIT, Blockable, blocking_keys, slip_keys
from services.linkage.domain.dates import date_level, shaped_dates
from services.linkage.domain.guards import (
    BORN_APART,
    DATE_DIFFERS,
    GIVEN_LEVELS,
    OTHER_DAY,
    SURNAME_CHANGED,
    TYPO_UNCONFIRMED,
    Level,
    birth_date_guard,
    new_surname_guard,
    surname_changed,
)
from services.linkage.domain.model import Person
from services.linkage.domain.names import (
    Given,
    given_kanji,
    given_kanji_suffix,
    has_separator,
    kanji_given_suffix,
    record_given_kana,
    seion,
    short_vowels,
    surname_kanji_key,
)
from services.linkage.domain.state import LinkageState

Outcome = Literal["link", "new", "review"]
SIBLING = "given_name_differs"  # never linked automatically, whatever else agrees
HARD_GUARDS = frozenset({SIBLING, BORN_APART, OTHER_DAY})
OTHER_STUDENT = "candidate_has_other_student_id"
MAX_BLOCK = 500  # a block larger than this (a hugely common value) adds no candidates
FIELDS = ("kana_name", "kanji_name", "birth_date", "sex", "address", "school_code", "household_surname")


class Identity(Blockable, Protocol):
    """What matching compares: the blocking keys plus the fields scored beside them."""

    @property
    def name_kanji(self) -> str | None: ...
    @property
    def sex(self) -> str | None: ...
    @property
    def school_code(self) -> str | None: ...


@dataclass(frozen=True)
class MatchSettings:
    link_probability: float = 0.97
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
    guard: str | None = None  # a reason this pair may never be linked automatically (twins, siblings)
    levels: list[tuple[str, str | None, str | None, str, float]] = field(default_factory=list)

    @property
    def comparisons(self) -> list[Comparison]:
        return evidence(self)


@dataclass
class MatchResult:
    outcome: Outcome
    best: Scored | None
    runner_up: Scored | None
    reason: str


def _bits(m: float, u: float) -> float:
    return math.log2(m / max(u, 1e-12))


# (m, u) per agreement level, from what municipal data gets wrong; exact name/date levels take u from the
# registry's own frequencies (term-frequency adjustment) instead.
M_EXACT = {"kana_name": 0.88, "kanji_name": 0.85, "birth_date": 0.95}
FIXED = {
    ("kana_name", "fuzzy"): _bits(0.05, 0.0005), ("kana_name", "disagree"): _bits(0.02, 0.99),
    # a new surname and a one-kana slip in the given name (アオキ ララ for タナカ ウララ): the surname change (0.05)
    # times a kana slip (0.03) against a stranger whose given name is one kana off (≈ 1 %)
    ("kana_name", "given_slip"): _bits(0.05 * 0.03, 0.01),
    ("kanji_name", "fuzzy"): _bits(0.1, 0.0005), ("kanji_name", "disagree"): _bits(0.05, 0.99),
    ("kanji_name", "given_only"): _bits(0.04, 0.002), ("kanji_name", "given_inferred"): _bits(0.03, 0.004),
    # a typo-shaped date (see dates.py): ±1–2 days or a swap hardly ever fits a stranger; one digit or a 和暦
    # year slip fits ~20 dates; a difference of any other shape is rarer still in true pairs than it used to be
    # when "within a month" counted as a slip
    ("birth_date", "near"): _bits(0.03, 0.0008), ("birth_date", "typo"): _bits(0.015, 0.003),
    ("birth_date", "disagree"): _bits(0.002, 0.99),
    ("sex", "exact"): _bits(0.98, 0.5), ("sex", "disagree"): _bits(0.02, 0.5),
    ("address", "exact"): _bits(0.75, 0.0001), ("address", "fuzzy"): _bits(0.12, 0.005),
    ("address", "disagree"): _bits(0.13, 0.995),
    # a new surname usually comes with a move (divorce, remarriage): given a surname change, the registry's address
    # disagrees about half the time for the same child, not 13 %
    ("address", "disagree_new_surname"): _bits(0.5, 0.995),
    ("school_code", "exact"): _bits(0.85, 0.003), ("school_code", "disagree"): _bits(0.15, 0.997),
}
M_GIVEN_ONLY = 0.05
# A child's surname changes with a parent's: the mother's 氏の変更 on divorce or her remarriage is a 住民記録 異動
# the day it is filed, so the registry shows the new surname on someone in the child's 世帯 in most true surname
# changes (a school ahead of the registry, or a child living apart from the mother, is the rest). A stranger's
# surname equals one held in that 世帯 only by the surname's own frequency (term frequency, as for names).
M_HOUSEHOLD_SURNAME = 0.85
HOUSEHOLD_SURNAME_DISAGREE = _bits(1 - M_HOUSEHOLD_SURNAME, 0.99)
# A kanji name one character off while the kana agrees exactly: the fixed u of a fuzzy kanji (any two names one
# character apart) says nothing of that reading's other spellings (悠斗/悠人 are two children's names as often as an
# input slip). Conditional on the reading, a stranger is written as the record is by that spelling's share of the
# reading's holders; a spelling none of them has is a slip, and a stranger's record lands on it rarely (0.5 %).
M_KANJI_SLIP = 0.1
KANJI_UNKNOWN_SPELLING = 0.005
INFERRED_U = 3.0  # a given name found by where the name would split: ×3 as likely by coincidence


def _spelling_share(st: LinkageState, kana: str | None, kanji: str) -> float:
    """Of the people holding this reading (kana name), the share who write it with this kanji name."""
    return min(1.0, st.kanji_freq.get(kanji, 0) / max(st.kana_freq.get(kana or "", 1), 1))


def _parts_similar(r: Identity, p: Person) -> bool:
    """Surname and given name each within a slip of the other's (typos in both parts of a long name)."""
    rs, rg, ps, pg = r.surname_kana_key, r.given_kana_key, p.surname_kana_key, p.given_kana_key
    return bool(rs and rg and ps and pg and _similar(rs, ps) and _similar(rg, pg))


def _similar(a: str, b: str) -> bool:
    return jellyfish.levenshtein_distance(a, b) <= 1 or jellyfish.jaro_winkler_similarity(a, b) >= 0.92


@lru_cache(maxsize=65_536)
def _tf(field: str, freq: int, n: int) -> float:
    return _bits(M_EXACT[field], max(freq, 1) / n)


def _levels(r: Identity, p: Person, st: LinkageState, n: int, record_given_kanji: str | None,
            given: Given | None) -> list[Level]:
    """``given``: the record's given name read against ``p`` (``record_given_kana``), None when the kana keys agree."""
    out: list[Level] = []
    names: list[str] = []  # the name fields' levels (kana, kanji), as in ``out``
    a, b = r.kana_key, p.kana_key
    if a and b:
        if a == b:
            out.append(("kana_name", a, b, "exact", _tf("kana_name", st.kana_freq.get(a, 1), n)))
            names.append("exact")
        elif given is not None and given.kana and seion(given.kana) == seion(p.given_kana_key):  # new surname
            u = max(st.given_freq.get(given.kana, 1), 1) / n
            if given.inferred:  # no separator in the source: the split is the candidate's, it may be chance
                out.append(("kana_name", a, b, "given_inferred", _bits(M_GIVEN_ONLY, min(1.0, u * INFERRED_U))))
                names.append("given_inferred")
            else:
                out.append(("kana_name", a, b, "given_only", _bits(M_GIVEN_ONLY, u)))
                names.append("given_only")
        else:
            level = "fuzzy" if _similar(a, b) or _parts_similar(r, p) else "disagree"
            if level == "disagree" and _given_slip(given, p, record_given_kanji):
                level = "given_slip"
            out.append(("kana_name", a, b, level, FIXED["kana_name", level]))
            names.append(level)
    kana_exact = bool(names) and names[0] == "exact"
    a, b = r.kanji_key, p.kanji_key
    if a and b:
        if a == b:
            out.append(("kanji_name", a, b, "exact", _tf("kanji_name", st.kanji_freq.get(a, 1), n)))
            names.append("exact")
        elif record_given_kanji is not None and record_given_kanji == given_kanji(p.name_kanji):
            out.append(("kanji_name", a, b, "given_only", FIXED["kanji_name", "given_only"]))
            names.append("given_only")
        elif record_given_kanji is None and given_kanji_suffix(a, p):  # 須田観宇: ends in the given name
            out.append(("kanji_name", a, b, "given_inferred", FIXED["kanji_name", "given_inferred"]))
            names.append("given_inferred")
        else:
            level = "fuzzy" if _similar(a, b) else "disagree"
            weight = FIXED["kanji_name", level]
            if level == "fuzzy" and kana_exact:
                # the same reading written one character otherwise (悠斗/悠人): an input slip, or another child's
                # spelling of that reading — as often as the reading's holders are written as the record is
                weight = _bits(M_KANJI_SLIP, max(KANJI_UNKNOWN_SPELLING, _spelling_share(st, r.kana_key, a)))
            out.append(("kanji_name", a, b, level, weight))
            names.append(level)
    given_names = bool(names) and all(n in GIVEN_LEVELS for n in names)  # surnames differ, given names agree
    a, b = r.birth_date, p.birth_date
    if a and b:
        if a == b:
            out.append(("birth_date", a, b, "exact", _tf("birth_date", st.birth_date_freq.get(a, 1), n)))
        else:
            level = date_level(a, b)
            out.append(("birth_date", a, b, level, FIXED["birth_date", level]))
    if r.sex and p.sex:
        level = "exact" if r.sex == p.sex else "disagree"
        out.append(("sex", r.sex, p.sex, level, FIXED["sex", level]))
    a, b = r.address_key, p.address_key
    if a and b:
        if a == b:
            level = "exact"
        elif a.startswith(b) or b.startswith(a) or jellyfish.jaro_winkler_similarity(a, b) >= 0.93:
            level = "fuzzy"
        else:
            level = "disagree"
        new_surname = level == "disagree" and given_names
        out.append(("address", a, b, level, FIXED["address", "disagree_new_surname" if new_surname else level]))
    if r.school_code and p.school_code:
        level = "exact" if r.school_code == p.school_code else "disagree"
        out.append(("school_code", r.school_code, p.school_code, level, FIXED["school_code", level]))
    if given_names and p.household_no:
        household = _household_surname(r, p, st, n, record_given_kanji, given)
        if household is not None:
            out.append(household)
    return out


def _record_surnames(r: Identity, p: Person, record_given_kanji: str | None,
                     given: Given | None) -> tuple[str | None, str | None]:
    """The record's surname (folded kana, folded kanji) as read against candidate ``p``: the part the source
    separated, or what is left of an unseparated name once the candidate's given name is taken off its end."""
    kana: str | None = None
    given = given if given is not None else record_given_kana(r, p)
    if given.kana and not given.inferred:
        kana = r.surname_kana_key
    elif given.kana and r.kana_key and len(r.kana_key) > len(given.kana) and r.kana_key.endswith(given.kana):
        kana = r.kana_key[:-len(given.kana)]
    kanji = surname_kanji_key(r.name_kanji, r.kanji_key) if record_given_kanji is not None \
        else kanji_given_suffix(r.kanji_key, p)
    return kana, kanji


def _household_surname(r: Identity, p: Person, st: LinkageState, n: int,
                       record_given_kanji: str | None, given: Given | None) -> Level | None:
    """Given name and birth date agree but the surname does not: is the record's surname one the registry shows
    on another member of the candidate's 世帯 (the mother's 氏の変更, a step-parent's name)? That is what a true
    surname change leaves; a namesake's own surname is there only by chance."""
    kana, kanji = _record_surnames(r, p, record_given_kanji, given)
    if kana is None and kanji is None:
        return None
    holder: Person | None = None
    for pid in sorted(st.households.get(p.household_no or "", ())):
        m = st.persons[pid]
        if pid == p.person_id:
            continue
        if (kana and kana == m.surname_kana_key) or (kanji and kanji == surname_kanji_key(m.name_kanji, m.kanji_key)):
            holder = m
            break
    shown = kana or kanji
    if holder is None:
        return ("household_surname", shown, None, "disagree", HOUSEHOLD_SURNAME_DISAGREE)
    held = holder.surname_kana_key or kana  # the surname's frequency is counted by its kana
    u = max(st.surname_freq.get(held, 1), 1) / n if held else 1 / n
    return ("household_surname", shown, held or shown, "exact", _bits(M_HOUSEHOLD_SURNAME, u))


def _given_slip(given: Given | None, p: Person, record_given_kanji: str | None) -> bool:
    """The source separated both names, the kanji given names agree and the kana given names are one kana apart."""
    a, b = (seion(given.kana) if given is not None and not given.inferred else None), seion(p.given_kana_key)
    return bool(a and b and record_given_kanji) and record_given_kanji == given_kanji(p.name_kanji) \
        and jellyfish.levenshtein_distance(a, b) == 1  # type: ignore[arg-type]


def _given_guard(r: Identity, p: Person, record_given_kanji: str | None, given: Given | None) -> str | None:
    """Twins and siblings share birth date, address and surname; a different given name keeps them apart.

    A different kana reading of the same kanji name is a reading correction (2025 furigana reform), not a sibling;
    a voicing mark or a long vowel left out (ユタ for ユウタ) is a slip, not another child; nor is one kana off
    where the separated kanji given names agree (siblings are not given the same kanji name).
    """
    if r.kana_key == p.kana_key or given is None:
        return None
    if _given_slip(given, p, record_given_kanji):
        return None
    a, b = given.kana, p.given_kana_key
    if a and b and short_vowels(seion(a)) != short_vowels(seion(b)) and r.kanji_key != p.kanji_key \
            and jellyfish.jaro_winkler_similarity(a, b) < 0.85:
        return SIBLING
    return None


def score(record: Identity, person: Person, state: LinkageState, given_kanji: str | None = None) -> Scored:
    n = max(len(state.persons), 1000)
    record_given_kanji = given_kanji or _record_given_kanji(record)
    given = record_given_kana(record, person) if record.kana_key != person.kana_key else None
    levels = _levels(record, person, state, n, record_given_kanji, given)
    weight = _bits(1.0, n) + sum([lv[4] for lv in levels])  # prior: one true match among n persons
    probability = 1.0 / (1.0 + 2.0 ** (-weight)) if weight > -60 else 0.0
    guard = _given_guard(record, person, record_given_kanji, given) or birth_date_guard(levels) \
        or new_surname_guard(levels)
    scored = Scored(person.person_id, weight, probability, guard=guard)
    scored.levels = levels
    return scored


def _record_given_kanji(record: Identity) -> str | None:
    return given_kanji(record.name_kanji) if has_separator(record.name_kanji) else None


def evidence(scored: Scored) -> list[Comparison]:
    """Field-by-field comparison for a reviewer (all fields, missing ones with weight 0)."""
    present = {lv[0]: lv for lv in scored.levels}
    return [Comparison(f, *present[f][1:4], round(present[f][4], 3)) if f in present
            else Comparison(f, None, None, "missing", 0.0) for f in FIELDS]


def candidates(record: Identity, state: LinkageState, limit: int, second_chance: bool = False) -> list[str]:
    found: set[str] = set()
    raw = state.blocks.reader()
    for key in (slip_keys if second_chance else blocking_keys)(record):
        block = raw(key)
        if block is None:
            continue
        if block.__class__ is str:  # one member (most blocks)
            found.add(block)
        elif len(block) <= (NAME_BLOCK_LIMIT if key[0] in "nay" else MAX_BLOCK):
            found.update(block)
    return sorted(found)[:limit] if len(found) > limit else list(found)


def _date_level(s: Scored) -> str | None:
    return next((lv[3] for lv in s.levels if lv[0] == "birth_date"), None)


def _other_student(person: Person, own_key: str | None) -> bool:
    """A child has one student id in the city's school system: a candidate holding another is someone else."""
    return own_key is not None and any(k.startswith("student:") and k != own_key for k in person.keys)


def _iso(day: str) -> bool:
    return len(day) >= 10 and day[4] == "-" and day[7] == "-"


def _born_another_day(r: Identity, p: Person) -> bool:
    """Born on a day no typo explains, and neither the address nor the school agrees: ``birth_date_guard`` makes
    such a candidate a namesake (a hard guard) whatever the names say, so it can never be linked or reviewed.
    Most candidates are these (a given name shared with children born that year): matching defers their
    scoring, which only the choice of a new identity's nearest namesake needs."""
    a, b = r.birth_date, p.birth_date
    if not a or not b:
        return False
    if _iso(a) and _iso(b):
        if b[:10] in shaped_dates(a):  # the same answer as date_level(a, b) != "disagree", by one look-up
            return False
    elif date_level(a, b) != "disagree":
        return False
    ra, pa = r.address_key, p.address_key
    if ra and pa and (ra == pa or ra.startswith(pa) or pa.startswith(ra)
                      or jellyfish.jaro_winkler_similarity(ra, pa) >= 0.93):
        return False
    return not (r.school_code and p.school_code and r.school_code == p.school_code)


def _scored(record: Identity, state: LinkageState, pids: list[str], record_given_kanji: str | None,
            own_key: str | None, deferred: list[str] | None = None) -> list[Scored]:
    """Scores the candidates ``pids``; with ``deferred``, those born on another day (``_born_another_day``) are
    put there instead, to be scored only if needed."""
    scored: list[Scored] = []
    persons = state.persons
    a = record.birth_date
    if deferred is None or not a or not _iso(a):
        for pid in pids:
            person = persons[pid]
            if deferred is not None and _born_another_day(record, person):
                deferred.append(pid)
            else:
                scored.append(score(record, person, state, record_given_kanji))
    else:
        # ``_born_another_day`` with what depends on the record alone looked up once: most candidates are
        # namesakes born on another day, and this test is all they cost
        shaped, ra, rs = shaped_dates(a), record.address_key, record.school_code
        for pid in pids:
            person = persons[pid]
            b = person.birth_date
            if b and (b[:10] not in shaped if _iso(b) else date_level(a, b) == "disagree"):
                pa = person.address_key
                if not (ra and pa and (ra == pa or ra.startswith(pa) or pa.startswith(ra)
                                       or jellyfish.jaro_winkler_similarity(ra, pa) >= 0.93)) \
                        and not (rs and person.school_code and rs == person.school_code):
                    deferred.append(pid)
                    continue
            scored.append(score(record, person, state, record_given_kanji))
    for s in scored:
        if not _other_student(state.persons[s.person_id], own_key):
            continue
        if s.guard in (TYPO_UNCONFIRMED, DATE_DIFFERS) or _date_level(s) == "typo":
            s.guard = OTHER_DAY  # it has its own student record, and another birthday: a namesake
        elif s.guard is None:
            s.guard = OTHER_STUDENT
    return scored


def _nobody_likely(scored: list[Scored], settings: MatchSettings) -> bool:
    """No candidate could be linked or reviewed: the record would become a new identity."""
    return not any(s.guard not in HARD_GUARDS and s.probability >= settings.new_probability for s in scored) \
        and not any(surname_changed(s.levels) and s.guard not in HARD_GUARDS and s.guard != OTHER_STUDENT
                    for s in scored)


def match(record: Identity, state: LinkageState, settings: MatchSettings, excluded: Iterable[str] = (),
          own_key: str | None = None) -> MatchResult:
    skip = set(excluded)
    record_given_kanji = _record_given_kanji(record)
    pids = [pid for pid in candidates(record, state, settings.max_candidates) if pid not in skip]
    deferred: list[str] = []  # namesakes born on another day: never linked or reviewed (hard guard)
    scored = _scored(record, state, pids, record_given_kanji, own_key, deferred)
    if _nobody_likely(scored, settings):
        # about to be a new identity: look once more, by given name and the dates a common slip leads to
        skip.update(pids)
        more = [pid for pid in candidates(record, state, settings.max_candidates, second_chance=True)
                if pid not in skip]
        scored += _scored(record, state, more, record_given_kanji, own_key, deferred)
    siblings = [s for s in scored if s.guard in HARD_GUARDS]
    scored = [s for s in scored if s.guard not in HARD_GUARDS]
    if not scored and deferred:  # a new identity: its nearest namesake or sibling is what the case shows
        siblings += _scored(record, state, deferred, record_given_kanji, own_key)
    scored.sort(key=lambda s: (-s.weight, s.person_id))
    siblings.sort(key=lambda s: (-s.weight, s.person_id))
    best = scored[0] if scored else None
    runner = scored[1] if len(scored) > 1 else None
    if best is None or best.probability < settings.new_probability:
        # soft guards only remain here; a candidate with its own student record is not this child renamed
        changed = next((s for s in scored if surname_changed(s.levels) and s.guard != OTHER_STUDENT), None)
        if changed is not None:
            return MatchResult("review", changed, best if best is not changed else runner, SURNAME_CHANGED)
        reason = "only_namesakes_or_siblings" if siblings and best is None else "no_candidate_above_threshold"
        return MatchResult("new", best or (siblings[0] if siblings else None), runner, reason)
    if best.guard:
        return MatchResult("review", best, runner, best.guard)
    if best.probability >= settings.link_probability:
        if runner is not None and runner.probability >= settings.new_probability \
                and best.weight - runner.weight < settings.margin_bits and not runner.guard:
            return MatchResult("review", best, runner, "two_close_candidates")
        return MatchResult("link", best, runner, "match")
    return MatchResult("review", best, runner, "uncertain_match")
