"""Matching keys for Japanese names, addresses and codes. Originals are kept; only keys are folded.

Variant kanji come from ``ja-itaiji``; half-width kana, hiragana and small kana from ``jaconv``; kanji
numerals from ``jpdatetime``. What they lack (long-vowel folding, ward from address) is here.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import jaconv
from jpdatetime.kanji_to_num import replace_kanji_numerals

from contracts.vocabulary import WARDS
from services.ingest.domain.variants import VARIANT_FOLD

WARD_CODES: dict[str, str] = {name: code for code, name in WARDS.items()}  # 区名 → 区コード
# 城南区 before 南区: the alternation takes the first that matches at the same position.
_WARD_IN_ADDRESS = re.compile(r"^(?:福岡県)?(?:福岡市)?(城南区|早良区|博多区|中央区|東区|南区|西区)")

_SPACES = re.compile(r"[\s・･]+")
_PREFECTURE_CITY = re.compile(r"^(?:福岡県)?(?:福岡市)?")
_BLOCK_WORDS = re.compile(r"丁目|番地|番|号")
_HYPHENS = re.compile(r"-+")
_POSTAL_NOISE = re.compile(r"[\s〒\-ー−‐]")
_DASHES = "-‐‑‒–—―−ｰ〜~"  # NFKC leaves these apart; on forms they all stand for ー or a hyphen
_TO_LONG_VOWEL = str.maketrans(_DASHES, "ー" * len(_DASHES))
_TO_HYPHEN = str.maketrans(_DASHES + "ー", "-" * (len(_DASHES) + 1))
# Kana that sound alike and are spelled either way in registries (ヂ/ジ, ヲ/オ, ヴ/ブ …).
_KANA_SOUND_FOLD = str.maketrans({"ヂ": "ジ", "ヅ": "ズ", "ヲ": "オ", "ヰ": "イ", "ヱ": "エ", "ヴ": "ブ"})
_VOWEL_KANA = {"A": "ア", "I": "イ", "U": "ウ", "E": "エ", "O": "オ"}


def _vowel_of(kana: str) -> str | None:
    name = unicodedata.name(kana, "")
    if not name.startswith("KATAKANA LETTER") or name.endswith(" N"):
        return None
    return name[-1] if name[-1] in _VOWEL_KANA else None


_VOWELS: dict[str, str] = {chr(c): v for c in range(0x30A1, 0x30FB) if (v := _vowel_of(chr(c)) or "")}


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def digits(text: str) -> str:
    """Half-width digits (宛名番号, 世帯番号 arrive in full-width too)."""
    return nfkc(text).strip()


def _nfkc_without_spaces(text: str) -> str:
    normal = nfkc(text)
    joined = _SPACES.sub("", normal)
    # A removed space can bring a letter next to a combining mark (C + ¸): compose again.
    return joined if joined == normal else nfkc(joined)


# The keys are pure functions of one string, and a city's names recur (a surname in many families, a given name in
# many; each person in many events). Measured on a city at scale 0.05 (docs/scaling.md, "Ingest, eighth pass"): kana
# keys hit 59 % with 4 096 entries kept, 67 % with 16 384 and 71 % with 65 536 (mostly the surname and given-name
# parts); addresses 48 % / 51 % / 58 %; full kanji names 3 % / 7 % / 16 % (a name written in kanji is mostly one
# person's, and their events are far apart). Each entry holds ≈ 250 bytes (both strings, the cache's node): small
# caches keep nearly all the hits, 65 536 entries cost ≈ 15 MiB each for the last few per cent, and kanji keys
# are not cached at all (1.5 µs each).
_KANA_CACHED = 8192
_ADDRESSES_CACHED = 4096


def kanji_key(name: str) -> str:
    """NFKC, spaces removed, variant kanji (髙→高, 﨑→崎, 邊→辺, 𠮷→吉) folded."""
    return _nfkc_without_spaces(name).translate(VARIANT_FOLD)


@lru_cache(maxsize=_KANA_CACHED)
def kana_key(kana: str) -> str:
    """Full-width katakana with small kana enlarged and long vowels spelled out, no spaces.

    ー, オウ and オオ all become オオ (and エイ becomes エエ) so that キョウコ, キョーコ and ｷｮｳｺ share a key.
    """
    text = jaconv.hira2kata(_nfkc_without_spaces(kana))
    text = jaconv.enlarge_smallkana(text).translate(_TO_LONG_VOWEL).translate(_KANA_SOUND_FOLD)
    out: list[str] = []
    previous_vowel: str | None = None
    for char in text:
        if char == "ー" and previous_vowel:
            char = _VOWEL_KANA[previous_vowel]
        elif (char == "ウ" and previous_vowel == "O") or (char == "イ" and previous_vowel == "E"):
            char = _VOWEL_KANA[previous_vowel]
        out.append(char)
        previous_vowel = _VOWELS.get(char)
    return "".join(out).replace("ー", "")


def split_name(name: str) -> tuple[str, str] | None:
    """Surname and given name, when the source separated them with a space (full- or half-width)."""
    parts = nfkc(name).split()
    if len(parts) < 2:
        return None
    return parts[0], "".join(parts[1:])


@lru_cache(maxsize=_ADDRESSES_CACHED)
def address_key(address: str) -> str:
    """Prefecture and city dropped, numerals as digits, 丁目/番地/番/号 as hyphens, no spaces."""
    text = _SPACES.sub("", replace_kanji_numerals(nfkc(address)))
    text = _PREFECTURE_CITY.sub("", text)
    text = _BLOCK_WORDS.sub("-", text.translate(_TO_HYPHEN))
    text = _HYPHENS.sub("-", text).strip("-")
    return text.translate(VARIANT_FOLD)


def ward_from_address(address: str) -> str | None:
    match = _WARD_IN_ADDRESS.match(_SPACES.sub("", nfkc(address)))
    return WARD_CODES[match.group(1)] if match else None


def postal_code(text: str) -> str | None:
    """Seven digits, or None when the value is not a Japanese postal code."""
    value = _POSTAL_NOISE.sub("", nfkc(text))
    return value if len(value) == 7 and value.isascii() and value.isdigit() else None

