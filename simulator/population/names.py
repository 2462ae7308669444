"""Names with consistent kanji and kana.

Surnames and their readings come with population estimates from ``japanese-personal-name-dataset`` (名字由来net),
so they are drawn by real frequency. Given names come from the same package's curated popular readings; it has
no frequency per spelling, so a spelling is drawn among the three most name-like ones for its reading, ranked
by how often their first and last characters open and close names of that sex in the full dataset.
Foreign residents' names are a small hand-made list written the way the registry holds them (alphabet or
hanzi/hanja with katakana readings).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import jaconv
from japanese_personal_name_dataset import load_dataset

Name = tuple[str, str]  # (kanji, katakana)

FOREIGN_SURNAMES: tuple[Name, ...] = (
    ("NGUYEN", "グエン"), ("TRAN", "チャン"), ("LE", "レ"), ("PHAM", "ファム"), ("HOANG", "ホアン"),
    ("王", "ワン"), ("李", "リ"), ("張", "チャン"), ("劉", "リュウ"), ("陳", "チン"),
    ("金", "キム"), ("朴", "パク"), ("崔", "チェ"),
    ("SANTOS", "サントス"), ("REYES", "レイエス"), ("GURUNG", "グルン"), ("SHRESTHA", "シュレスタ"),
    ("SMITH", "スミス"), ("SILVA", "シルバ"),
)
FOREIGN_GIVEN: dict[str, tuple[Name, ...]] = {
    "1": (("VAN AN", "ヴァン アン"), ("MINH", "ミン"), ("伟", "ウェイ"), ("浩然", "ハオラン"), ("民俊", "ミンジュン"),
          ("JOSE", "ホセ"), ("RAJ", "ラジ"), ("DAVID", "デイビッド"), ("DUC", "ドゥック")),
    "2": (("THI LAN", "ティ ラン"), ("HOA", "ホア"), ("芳", "ファン"), ("秀英", "シウイン"), ("智恩", "ジウン"),
          ("MARIA", "マリア"), ("SITA", "シタ"), ("EMMA", "エマ"), ("LINH", "リン")),
}


def _spelling_ranker(spellings_by_reading: Mapping[str, Any]) -> dict[str, list[str]]:
    first = Counter(k[0] for v in spellings_by_reading.values() for k in v["kanji"])
    last = Counter(k[-1] for v in spellings_by_reading.values() for k in v["kanji"])
    inner = Counter(c for v in spellings_by_reading.values() for k in v["kanji"] for c in k)

    def score(k: str) -> float:
        s = math.log(first[k[0]] + 1) + math.log(last[k[-1]] + 1) + sum(math.log(inner[c] + 1) for c in k[1:-1])
        return s / len(k) - 1.5 * max(0, len(k) - 2)

    return {r: sorted(v["kanji"], key=score, reverse=True)[:3] for r, v in spellings_by_reading.items()}


@dataclass(frozen=True)
class NameBank:
    surnames: tuple[Name, ...]
    surname_cum_weights: tuple[float, ...]
    given: dict[str, tuple[tuple[str, tuple[str, ...]], ...]]  # sex → (katakana, spellings best first)

    @classmethod
    def load(cls) -> NameBank:
        man_all, woman_all, last = load_dataset(kind="org", include_last_names=True)
        man, woman = load_dataset(kind="opti")
        surnames = tuple((k, jaconv.hira2kata(v["reading"])) for k, v in last.items())
        weights = tuple(accumulate(float(v["count"]) for v in last.values()))
        given: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {}
        for sex, popular, full in (("1", man, man_all), ("2", woman, woman_all)):
            ranked = _spelling_ranker(full)
            given[sex] = tuple((jaconv.hira2kata(r), tuple(ranked[r])) for r in sorted(popular) if ranked.get(r))
        return cls(surnames, weights, given)

    def surname(self, rng: random.Random) -> Name:
        return rng.choices(self.surnames, cum_weights=self.surname_cum_weights)[0]

    def given_name(self, rng: random.Random, sex: str) -> Name:
        kana, spellings = rng.choice(self.given[sex])
        pick = rng.random()
        index = 0 if pick < 0.6 or len(spellings) == 1 else 1 if pick < 0.9 or len(spellings) == 2 else 2
        return spellings[index], kana

    @staticmethod
    def foreign_surname(rng: random.Random) -> Name:
        return rng.choice(FOREIGN_SURNAMES)

    @staticmethod
    def foreign_given(rng: random.Random, sex: str) -> Name:
        return rng.choice(FOREIGN_GIVEN[sex])
