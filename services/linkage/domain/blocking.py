"""Blocking: a record is compared only with persons sharing one of a few selective keys.

Each key pairs a name with part of the birth date, so a block holds a handful of persons even in a registry of
millions, and one error (a kana slip, a surname change, a wrong day or year) still leaves another key agreeing.
A name written without a space adds birth date × each possible given name (its endings), so a surname change
still finds the child when the school wrote スダミウ, or only 須田観宇 with no カナ. An 氏名 with no カナ carries its
surname's listed reading from ingest (surname_kana_key only), so birth date × surname finds 林 悠真 typed 林 優真.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from services.linkage.domain import names
from services.linkage.domain.dates import day_digit_slips, slip_neighbours
from services.linkage.domain.names import has_separator, seion, suffix_keys


class Blockable(Protocol):
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
    def address_key(self) -> str | None: ...


def blocking_keys(r: Blockable) -> Iterator[str]:
    dob, kana = r.birth_date, r.kana_key
    if kana and dob:
        yield f"k|{kana}|{dob[:4]}"
        yield f"m|{kana}|{dob[5:]}"
    if dob and r.surname_kana_key:
        yield f"s|{dob}|{r.surname_kana_key}"
    if dob and r.given_kana_key:
        yield from _given_keys(seion(r.given_kana_key) or "", dob)
    name_kana = getattr(r, "name_kana", None)
    if dob and kana and name_kana and not has_separator(name_kana):
        # カナ without a space: any ending may be the given name (surname change and no separator together)
        for given in suffix_keys(seion(kana), seion(r.given_kana_key)):
            yield from _given_keys(given, dob)
    name_kanji = getattr(r, "name_kanji", None)
    given_kanji = names.given_kanji(name_kanji)
    if dob and given_kanji:  # kanji only (no カナ) with a new surname
        yield f"l|{dob}|{given_kanji}"
    elif dob and name_kanji:  # 氏名 without a space: any ending of 1–3 characters may be the given name
        for given in names.kanji_suffixes(name_kanji):
            yield f"l|{dob}|{given}"
    if r.kanji_key and dob:
        yield f"j|{r.kanji_key}|{dob[:4]}"
        yield f"d|{r.kanji_key}|{dob[5:]}"
    if kana:
        yield f"n|{kana}"  # a wrong birth date: the full name alone (skipped when common, see NAME_BLOCK_LIMIT)
    if r.address_key:
        yield f"a|{r.address_key}"  # a household's address: surname change and a wrong birth date together


def slip_keys(r: Blockable) -> Iterator[str]:
    """Second-chance keys, probed only for a record that would otherwise become a new identity: each possible
    given name (kana, and kanji) with each date a common slip of the birth date leads to (``slip_neighbours``).
    A new surname *and* a swapped day/month, or a day slip across a month's end, or only the 氏名 with a year or
    day slip, meet none of the ordinary keys when the address is blank or new. The registry indexes nothing more."""
    dob, kana = r.birth_date, r.kana_key
    if not dob:
        return
    given_kana: list[str] = [seion(r.given_kana_key) or ""] if r.given_kana_key else []
    name_kana = getattr(r, "name_kana", None)
    if kana and name_kana and not has_separator(name_kana):
        given_kana += suffix_keys(seion(kana), seion(r.given_kana_key))
    name_kanji = getattr(r, "name_kanji", None)
    one = names.given_kanji(name_kanji)
    given_kanji = [one] if one else names.kanji_suffixes(name_kanji) if name_kanji else []
    for day in slip_neighbours(dob):
        for g in given_kana:
            yield f"g|{day}|{g}"
        for g in given_kanji:
            yield f"l|{day}|{g}"
    for day in day_digit_slips(dob) if given_kanji else ():  # the kana's given name × year-month finds these
        for g in given_kanji:
            yield f"l|{day}|{g}"


def _given_keys(given: str, dob: str) -> Iterator[str]:
    """The given name (voicing marks dropped: シゲ/ジゲ is a slip) with the birth date or the part of it a typo
    left alone: a new surname and a birth-date typo together still meet one of these."""
    yield f"g|{dob}|{given}"
    yield f"h|{given}|{dob[5:]}"
    yield f"i|{given}|{dob[:7]}"
    yield f"y|{given}|{dob[:4]}"  # a day/month swap or a slip across a month's end (used while ≤ 50 people)


# A block keyed on a name alone is used only while it is this small: common names are left to the other keys.
NAME_BLOCK_LIMIT = 50


# The in-memory indexes keep a key as its 60-bit hash, not its text (issue 19, twelfth pass: at scale 1.0 the blocks'
# ≈ 3 M keys of 30–60 characters and the name counts' ≈ 3 M full names were ≈ 0.6 GB of strings). A 60-bit int is
# 32 bytes; a key of 15 kana is 104. That two of a city's ≈ 3 M keys share a hash is a chance of ≈ 4 × 10⁻⁶ (SipHash),
# and it would only join two blocks or two names' counts: a block's members are scored as any candidate is, and the
# readers of the 世帯 index check each member's own 世帯 number. Hashes differ between processes (Python's
# per-process seed); nothing keyed by them is stored.
KEY_BITS = (1 << 60) - 1


def key_hash(key: str) -> int:
    return hash(key) & KEY_BITS


class MultiMap:
    """key → person ids, stored as a bare string while a block has one member (most do) to save memory; the keys
    as their hashes (``key_hash``)."""

    def __init__(self) -> None:
        self._d: dict[int, str | list[str]] = {}

    def add(self, key: str, pid: str) -> None:
        h = hash(key) & KEY_BITS
        cur = self._d.get(h)
        if cur is None:
            self._d[h] = pid
        elif isinstance(cur, str):
            if cur != pid:
                self._d[h] = [cur, pid]
        elif pid not in cur:
            cur.append(pid)

    def add_all(self, keys: Iterable[str], pid: str) -> None:
        d = self._d
        for key in keys:
            h = hash(key) & KEY_BITS
            cur = d.get(h)
            if cur is None:
                d[h] = pid
            elif cur.__class__ is str:
                if cur != pid:
                    d[h] = [cur, pid]
            elif pid not in cur:
                cur.append(pid)  # type: ignore[union-attr]

    def remove(self, key: str, pid: str) -> None:
        h = hash(key) & KEY_BITS
        cur = self._d.get(h)
        if cur is None:
            return
        if isinstance(cur, str):
            if cur == pid:
                del self._d[h]
            return
        if pid in cur:
            cur.remove(pid)
            if len(cur) == 1:
                self._d[h] = cur[0]

    def raw(self, key: str) -> str | list[str] | None:
        """The block as stored (a bare id for one member, else a list): for reading only, never to keep."""
        return self._d.get(hash(key) & KEY_BITS)

    def get(self, key: str) -> tuple[str, ...]:
        cur = self._d.get(hash(key) & KEY_BITS)
        if cur is None:
            return ()
        return (cur,) if isinstance(cur, str) else tuple(cur)

    def snapshot(self) -> dict[int, set[str]]:
        """Every key's members, by the key's hash (tests: two indexes of one process compared)."""
        return {h: {cur} if isinstance(cur, str) else set(cur) for h, cur in self._d.items()}

    def __len__(self) -> int:
        return len(self._d)
