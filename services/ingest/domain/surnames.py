"""Splitting a name written without a space (``須田観宇``, ``スダミウ``) where the split is knowable.

The surname list is the one the simulator draws from: ``japanese-personal-name-dataset`` (名字由来net, the 2,000
commonest surnames with their reading and population, ≈ 80 % of residents). A split is *knowable* when

- the other script of the same name has a space: the kanji surname whose reading starts the kana (or the kana
  reading of the separated kanji surname) fixes it (kana/kanji alignment), or
- the kanji name starts with a listed surname whose reading starts the kana, or
- only the kana is given and one listed reading explains it far better than any other (by population).

Otherwise nothing is split, and linkage compares the whole name against each candidate's own parts instead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cache

from services.ingest.domain import normalise

DOMINANT = 8.0  # a kana-only split is taken when its surname is this many times as common as any other fit


@dataclass(frozen=True)
class Surnames:
    kanji: dict[str, tuple[str, int]]  # kanji surname → (katakana reading, population)
    by_reading: dict[str, int]  # katakana reading → population of all its spellings
    longest_kanji: int
    longest_kana: int


@cache
def surnames() -> Surnames:
    """Loaded once per process (≈ 0.3 s), on the first name without a space."""
    from japanese_personal_name_dataset import load_dataset

    _, _, last = load_dataset(kind="org", include_last_names=True)
    kanji: dict[str, tuple[str, int]] = {}
    for k, v in last.items():  # kanji and readings folded as the matching keys are (髙→高, サトウ→サトオ)
        reading, count = normalise.kana_key(v["reading"]), int(v["count"])
        key = normalise.kanji_key(k)
        if count > kanji.get(key, ("", 0))[1]:
            kanji[key] = (reading, count)
    by_reading: dict[str, int] = defaultdict(int)
    for reading, count in kanji.values():
        by_reading[reading] += count
    return Surnames(kanji, dict(by_reading), max(map(len, kanji)), max(map(len, by_reading)))


def split_kana(kana: str, name_kanji: str | None) -> tuple[str, str] | None:
    """Surname and given name of a kana key (``normalise.kana_key``: no spaces, folded), using the original 氏名
    in kanji when there is one."""
    table = surnames()
    parts = normalise.nfkc(name_kanji).split() if name_kanji else []
    if len(parts) >= 2:  # the kanji is separated: its surname's reading fixes the kana split, if listed
        reading = table.kanji.get(normalise.kanji_key(parts[0]), ("", 0))[0]
        return (kana[:len(reading)], kana[len(reading):]) if reading and _fits(kana, reading) else None
    kanji = normalise.kanji_key(name_kanji) if name_kanji else None
    if kanji:
        fits = [(len(s), reading) for i in range(min(len(kanji) - 1, table.longest_kanji), 0, -1)
                if (s := kanji[:i]) in table.kanji and _fits(kana, reading := table.kanji[s][0])]
        if fits:
            reading = max(fits)[1]  # the longest listed kanji surname that starts the name (中村, not 中)
            return kana[:len(reading)], kana[len(reading):]
        return None
    by_count = sorted(((table.by_reading[kana[:i]], kana[:i])
                       for i in range(1, min(len(kana) - 1, table.longest_kana) + 1) if kana[:i] in table.by_reading),
                      reverse=True)
    if by_count and (len(by_count) == 1 or by_count[0][0] >= DOMINANT * by_count[1][0]):
        reading = by_count[0][1]
        return reading, kana[len(reading):]
    return None


def surname_reading(name_kanji: str) -> str | None:
    """The reading (kana key) of the surname of a 氏名 given without カナ, where the list knows it: the separated
    surname, or else the longest listed surname the name starts with. Only for blocking: a kanji slip in the given
    name (林 優真 for 林 悠真) then still meets the child by birth date × surname reading."""
    table = surnames()
    parts = normalise.nfkc(name_kanji).split()
    if len(parts) >= 2:
        return table.kanji.get(normalise.kanji_key(parts[0]), (None, 0))[0]
    kanji = normalise.kanji_key(name_kanji)
    for i in range(min(len(kanji) - 1, table.longest_kanji), 0, -1):
        if kanji[:i] in table.kanji:
            return table.kanji[kanji[:i]][0]
    return None


def _fits(kana: str, reading: str) -> bool:
    return len(kana) > len(reading) and kana.startswith(reading)
