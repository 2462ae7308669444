"""Noise the way municipal data goes wrong, per source at configurable rates.

Each kind is applied independently at its rate wherever it can apply (a variant-kanji swap needs a kanji that
has a variant); ``NoiseLog`` counts chances and applications so tests and evaluators can check the rates.
The true values stay in the population; only the emitted payload is changed.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date

import jaconv

DATE_FIELDS = ("birth_date", "effective_date", "start_date", "end_date", "notification_date",
               "expected_delivery_date", "visit_date", "checkup_date", "issue_date", "left_date", "answered_date",
               "as_of")
DATE_SET = frozenset(DATE_FIELDS)
VARIANTS: dict[str, str] = {
    "高": "髙", "髙": "高", "崎": "﨑", "﨑": "崎", "辺": "邊", "邊": "邉", "邉": "辺", "吉": "𠮷", "𠮷": "吉",
    "沢": "澤", "澤": "沢", "斉": "齊", "齊": "斉", "浜": "濱", "濱": "浜",
}
SMALL = dict(zip("ャュョッァィゥェォ", "ヤユヨツアイウエオ", strict=True))
LARGE = {v: k for k, v in SMALL.items()}
O_ROW = set("オコソトノホモヨロゴゾドボポョ")


@dataclass(frozen=True)
class NoiseRates:
    kana_half_width: float = 0.0
    kana_hiragana: float = 0.0
    kana_small: float = 0.0       # small ↔ large kana (ショウ → シヨウ)
    kana_long_vowel: float = 0.0  # ウ ↔ ー after an o-row kana (サトウ → サトー)
    name_space: float = 0.0       # missing or full-width space between surname and given name
    kanji_variant: float = 0.0    # 髙/高, 﨑/崎, 邊/邉/辺, 𠮷/吉 …
    wareki: float = 0.0           # dates written in 和暦 (令和7年5月1日, R7.5.1, H30/4/1, 令和元年…)
    birth_typo: float = 0.0       # a wrong day, month or year digit in a birth date
    missing_atena: float = 0.0    # school records without 宛名番号
    stale_address: float = 0.0    # school records with the address before the last move
    blank_sex: float = 0.0        # 性別 left blank (校務系 exports often have no sex; linkage treats it as unknown)
    blank_kana: float = 0.0       # 氏名カナ left blank where 氏名 (kanji) is present (a name is still required)


NAME_SYSTEM = NoiseRates(kana_half_width=0.10, kana_hiragana=0.05, kana_small=0.02, kana_long_vowel=0.02,
                         name_space=0.10, kanji_variant=0.05, wareki=0.30, birth_typo=0.01, missing_atena=0.70,
                         stale_address=0.10, blank_sex=0.10, blank_kana=0.02)
DEFAULT_NOISE: dict[str, NoiseRates] = {
    # 住民記録 is the reference: clean, but for the kana corrections simulator.life.registry models
    "school_students": NAME_SYSTEM,
    "disability": NoiseRates(wareki=0.5),
    "public_assistance": NoiseRates(wareki=0.3),
    "child_allowance": NoiseRates(wareki=0.2),
    "special_child_allowance": NoiseRates(wareki=0.3),
    "single_parent_loans": NoiseRates(wareki=0.3),
    "long_term_care": NoiseRates(wareki=0.4),
    "maternal_child_health": NoiseRates(wareki=0.1),
    "school_lunch_fees": NoiseRates(wareki=0.2, missing_atena=0.5),
    "school_aid": NoiseRates(wareki=0.2),
    "child_guidance": NoiseRates(wareki=0.2),
}
CLEAN = NoiseRates()


def noise_profile(level: float = 1.0, overrides: dict[str, NoiseRates] | None = None) -> dict[str, NoiseRates]:
    """The default rates times ``level`` (0 = clean data), with per-system overrides."""
    def scaled(r: NoiseRates) -> NoiseRates:
        return replace(r, **{k: min(1.0, v * level) for k, v in r.__dict__.items()})
    profile = {system: scaled(r) for system, r in DEFAULT_NOISE.items()}
    profile.update(overrides or {})
    return profile


_ERAS = (("令和", "R", date(2019, 5, 1)), ("平成", "H", date(1989, 1, 8)), ("昭和", "S", date(1926, 12, 25)))


def wareki(iso: str, style: int) -> str:
    d = date.fromisoformat(iso)
    for name, letter, start in _ERAS:
        if d >= start:
            year = d.year - start.year + 1
            if style == 0:
                return f"{name}{'元' if year == 1 else year}年{d.month}月{d.day}日"
            if style == 1:
                return f"{letter}{year}.{d.month}.{d.day}"
            return f"{letter}{year}/{d.month}/{d.day}"
    return iso


def birth_typo(iso: str, rng: random.Random) -> str:
    """A plausible keying error that still makes a valid date: day ± 1, day/month swapped, or year ± 1."""
    d = date.fromisoformat(iso)
    kind = rng.randrange(3)
    if kind == 0 and d.day <= 12 and d.day != d.month:
        return d.replace(month=d.day, day=d.month).isoformat()
    if kind == 1:
        return d.replace(year=d.year + rng.choice((-1, 1))).isoformat() if (d.month, d.day) != (2, 29) else iso
    return date.fromordinal(d.toordinal() + rng.choice((-1, 1))).isoformat()


def _small_slip(kana: str, rng: random.Random) -> str | None:
    spots = [i for i, c in enumerate(kana) if c in SMALL or (c in LARGE and i > 0)]
    if not spots:
        return None
    i = rng.choice(spots)
    c = kana[i]
    return kana[:i] + (SMALL.get(c) or LARGE[c]) + kana[i + 1:]


def _long_vowel_slip(kana: str) -> str | None:
    for i in range(1, len(kana)):
        if kana[i] == "ウ" and kana[i - 1] in O_ROW:
            return kana[:i] + "ー" + kana[i + 1:]
        if kana[i] == "ー":
            return kana[:i] + "ウ" + kana[i + 1:]
    return None


def _space_slip(name: str, rng: random.Random) -> str:
    return name.replace(" ", "", 1) if rng.random() < 0.5 else name.replace(" ", "\u3000", 1)


@dataclass
class NoiseLog:
    chances: Counter[tuple[str, str]] = field(default_factory=Counter)
    applied: Counter[tuple[str, str]] = field(default_factory=Counter)

    def rate(self, system: str, kind: str) -> float:
        n = self.chances[(system, kind)]
        return self.applied[(system, kind)] / n if n else 0.0


class Noise:
    def __init__(self, profile: dict[str, NoiseRates], rng: random.Random) -> None:
        self.profile = profile
        self._active = {system: r for system, r in profile.items() if r != CLEAN}
        self.rng = rng
        self.log = NoiseLog()

    def rates(self, system: str) -> NoiseRates:
        return self.profile.get(system, CLEAN)

    def roll(self, system: str, kind: str, rate: float) -> bool:
        key = (system, kind)
        self.log.chances[key] += 1
        if rate > 0 and self.rng.random() < rate:
            self.log.applied[key] += 1
            return True
        return False

    def apply(self, system: str, data: dict[str, object]) -> list[str]:
        """Changes ``data`` in place; returns the kinds applied."""
        r = self._active.get(system)
        if r is None:
            return []
        applied: list[str] = []
        if r.wareki or r.birth_typo:
            self._dates(system, r, data, applied)
        if r.blank_sex or r.blank_kana:  # before the name slips: a blanked カナ takes none
            self._blanks(system, r, data, applied)
        kana = data.get("name_kana")
        if isinstance(kana, str):
            data["name_kana"] = self._kana(system, r, kana, applied)
        kanji = data.get("name_kanji")
        if isinstance(kanji, str):
            data["name_kanji"] = self._kanji(system, r, kanji, applied)
        return applied

    def _blanks(self, system: str, r: NoiseRates, data: dict[str, object], applied: list[str]) -> None:
        """Optional fields left blank, as real exports do: 性別, and カナ when the kanji name is there."""
        if isinstance(data.get("sex"), str) and self.roll(system, "blank_sex", r.blank_sex):
            data["sex"] = None
            applied.append("blank_sex")
        if isinstance(data.get("name_kana"), str) and isinstance(data.get("name_kanji"), str) \
                and self.roll(system, "blank_kana", r.blank_kana):
            data["name_kana"] = None
            applied.append("blank_kana")

    def _dates(self, system: str, r: NoiseRates, data: dict[str, object], applied: list[str]) -> None:
        birth = data.get("birth_date")
        if isinstance(birth, str) and self.roll(system, "birth_typo", r.birth_typo):
            data["birth_date"] = birth_typo(birth, self.rng)
            applied.append("birth_typo")
        for name in DATE_SET.intersection(data):
            value = data[name]
            if isinstance(value, str) and self.roll(system, "wareki", r.wareki):
                data[name] = wareki(value, self.rng.randrange(3))
                applied.append("wareki")

    def _kana(self, system: str, r: NoiseRates, kana: str, applied: list[str]) -> str:
        if r.kana_small and any(c in SMALL or c in LARGE for c in kana[1:]) and self.roll(
                system, "kana_small", r.kana_small):
            kana = _small_slip(kana, self.rng) or kana
            applied.append("kana_small")
        slipped = _long_vowel_slip(kana) if r.kana_long_vowel else None
        if slipped and self.roll(system, "kana_long_vowel", r.kana_long_vowel):
            kana = slipped
            applied.append("kana_long_vowel")
        if self.roll(system, "name_space", r.name_space):
            kana = _space_slip(kana, self.rng)
            applied.append("name_space")
        if self.roll(system, "kana_hiragana", r.kana_hiragana):
            kana = jaconv.kata2hira(kana)
            applied.append("kana_hiragana")
        elif self.roll(system, "kana_half_width", r.kana_half_width):
            kana = jaconv.z2h(kana, kana=True, ascii=False, digit=False)
            applied.append("kana_half_width")
        return kana

    def _kanji(self, system: str, r: NoiseRates, kanji: str, applied: list[str]) -> str:
        spots = [i for i, c in enumerate(kanji) if c in VARIANTS] if r.kanji_variant else None
        if spots and self.roll(system, "kanji_variant", r.kanji_variant):
            i = self.rng.choice(spots)
            kanji = kanji[:i] + VARIANTS[kanji[i]] + kanji[i + 1:]
            applied.append("kanji_variant")
        if " " in kanji and self.roll(system, "name_space", r.name_space):
            kanji = _space_slip(kanji, self.rng)
            applied.append("name_space")
        return kanji
