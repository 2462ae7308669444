"""Surname and given name of a record's name as seen against one candidate.

Sources separate 氏 and 名 with a space, but school exports often do not (``須田観宇``, ``スダミウ``). Ingest
splits a kana name where its surname list makes the split knowable; when it could not, or when the split may
be wrong, the candidate's own parts tell where this record's name would split *if* it were that person: a name
ending in the candidate's given name has that given name after some surname, one starting with the
candidate's surname has the rest as its given name. Such a split is only as sure as the coincidence it rests on,
so matching weighs it below a split the source wrote (``inferred``).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

MIN_GIVEN = 1  # kana given names are at least one character (ラン is two; 1 for 蓮/レン in kanji)


@lru_cache(maxsize=65_536)
def seion(kana: str | None) -> str | None:
    """Kana without voicing marks (ゴ→コ, パ→ハ): the commonest kana slip, never what tells twins apart."""
    if not kana:
        return kana
    return unicodedata.normalize("NFC", "".join(c for c in unicodedata.normalize("NFD", kana)
                                                if c not in "\u3099\u309a"))


@lru_cache(maxsize=65_536)
def short_vowels(kana: str | None) -> str | None:
    """Kana with long vowels dropped (ユウタ → ユタ, ソオタ → ソタ): a long vowel left out is a keying slip
    (romanised forms write YUTA for ユウタ), never what tells twins apart."""
    if not kana:
        return kana
    out: list[str] = []
    previous: str | None = None
    for char in kana:
        vowel = _vowel(char)
        if vowel is not None and char == _VOWEL_KANA[vowel] and vowel == previous:
            continue  # the vowel the kana before already ends in
        out.append(char)
        previous = vowel
    return "".join(out)


_VOWEL_KANA = {"A": "ア", "I": "イ", "U": "ウ", "E": "エ", "O": "オ"}


def _vowel(kana: str) -> str | None:
    """The vowel a katakana ends in (カ → A, ショ is two kana: シ → I, ョ → O), None for ン, ッ and others."""
    name = unicodedata.name(kana, "")
    if not name.startswith("KATAKANA LETTER ") or name.endswith(" N"):
        return None
    last = name.rsplit(" ", 1)[-1][-1]
    return last if last in _VOWEL_KANA else None


@lru_cache(maxsize=131_072)
def has_separator(name: str | None) -> bool:
    return bool(name) and len(unicodedata.normalize("NFKC", name).split()) >= 2  # type: ignore[arg-type]


@lru_cache(maxsize=131_072)
def given_kanji(name: str | None) -> str | None:
    """The given-name part of an original 氏名 when the source separated it (NFKC, last part)."""
    parts = unicodedata.normalize("NFKC", name).split() if name else []
    return parts[-1] if len(parts) >= 2 else None


@lru_cache(maxsize=131_072)  # asked of every member of a candidate's 世帯 in a surname change
def surname_kanji_key(name: str | None, kanji_key: str | None) -> str | None:
    """The surname's part of a folded kanji key, when the source separated 氏 and 名 (folding keeps lengths)."""
    parts = unicodedata.normalize("NFKC", name).split() if name else []
    if len(parts) < 2 or not kanji_key or len(kanji_key) <= len(parts[0]):
        return None
    return kanji_key[:len(parts[0])]


@dataclass(frozen=True)
class Given:
    """A record's given name as compared with one candidate; ``inferred`` when the source wrote no separator."""

    kana: str | None
    inferred: bool


def record_given_kana(r: Any, p: Any) -> Given:
    """The record's given-name kana against candidate ``p`` (which has its parts from the registry)."""
    name_kana = getattr(r, "name_kana", None)
    if r.given_kana_key and (name_kana is None or has_separator(name_kana)):
        return Given(r.given_kana_key, False)  # the source separated it
    whole, ps, pg = r.kana_key, p.surname_kana_key, p.given_kana_key
    if whole and pg and len(whole) > len(pg) and whole.endswith(pg):
        return Given(pg, True)  # ends in the candidate's given name: surname differs (or is the same)
    if whole and ps and len(whole) > len(ps) and whole.startswith(ps):
        return Given(whole[len(ps):], True)  # starts with the candidate's surname: the rest is the given name
    return Given(r.given_kana_key, r.given_kana_key is not None)  # ingest's split from its surname list, if any


def given_kanji_suffix(record_kanji_key: str | None, p: Any) -> bool:
    """An unseparated kanji name ending in the candidate's given name (folded as its kanji key folds it)."""
    g = given_kanji(p.name_kanji)
    if not (record_kanji_key and g and p.kanji_key) or len(p.kanji_key) < len(g):
        return False
    folded = p.kanji_key[-len(g):]
    return len(record_kanji_key) > len(folded) and record_kanji_key.endswith(folded)


def kanji_given_suffix(record_kanji_key: str | None, p: Any) -> str | None:
    """An unseparated kanji name's surname against candidate ``p``: what is left once ``p``'s given name (folded as
    its kanji key folds it) is taken off the end; None when the name does not end in it."""
    g = given_kanji(p.name_kanji)
    if not (record_kanji_key and g and p.kanji_key) or len(p.kanji_key) < len(g):
        return None
    folded = p.kanji_key[-len(g):]
    if len(record_kanji_key) > len(folded) and record_kanji_key.endswith(folded):
        return record_kanji_key[:-len(folded)]
    return None


def kanji_suffixes(name_kanji: str, longest: int = 3) -> list[str]:
    """Possible given names of an unseparated 氏名 (NFKC, as ``given_kanji`` leaves a separated one): its endings
    of 1..longest characters after a surname of at least one."""
    whole = unicodedata.normalize("NFKC", name_kanji).strip()
    return [whole[i:] for i in range(max(1, len(whole) - longest), len(whole))]


def suffix_keys(kana_key: str | None, given: str | None, longest: int = 6) -> list[str]:
    """Possible given names of an unseparated kana name (every ending of 2..longest characters after a surname
    of at least one), for blocking: one of them is the true given name whatever the surname."""
    if not kana_key:
        return []
    return [kana_key[i:] for i in range(max(1, len(kana_key) - longest), len(kana_key) - 1)
            if kana_key[i:] != given]
