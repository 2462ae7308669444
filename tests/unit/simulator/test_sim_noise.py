"""Noise: each kind lands at its configured rate, shows in the emitted data, and leaves valid values."""

from __future__ import annotations

import math
import random
import re
from datetime import date

import jaconv
import pytest

from simulator.noise import DEFAULT_NOISE, Noise, NoiseRates, birth_typo, noise_profile, wareki
from simulator.sinks.school_csv import to_cp932

pytestmark = pytest.mark.unit

HALF_WIDTH_KANA = re.compile("[\uff66-\uff9f]")
HIRAGANA = re.compile("[\u3041-\u3096]")


def test_wareki_styles() -> None:
    assert wareki("2025-05-01", 0) == "令和7年5月1日"
    assert wareki("2019-05-01", 0) == "令和元年5月1日"
    assert wareki("2018-04-01", 2) == "H30/4/1"
    assert wareki("2025-05-01", 1) == "R7.5.1"
    assert wareki("1989-01-07", 1) == "S64.1.7"


def test_birth_typos_are_valid_other_dates() -> None:
    rng = random.Random(1)
    for iso in ("2015-03-04", "2012-02-29", "2020-12-31", "2019-11-11"):
        for _ in range(50):
            typo = birth_typo(iso, rng)
            date.fromisoformat(typo)
            assert typo != iso or iso in ("2012-02-29", "2019-11-11")


def test_shift_jis_keeps_what_it_can_and_folds_the_rest() -> None:
    assert to_cp932("𠮷田 太郎") == "吉田 太郎"
    assert to_cp932("髙橋 花子") == "髙橋 花子"  # 髙 is in cp932 (IBM extension)
    to_cp932("渡邉 一").encode("cp932")


def test_each_kind_applies_at_its_rate() -> None:
    rates = NoiseRates(kana_half_width=0.2, kana_hiragana=0.1, name_space=0.3, wareki=0.5, birth_typo=0.05,
                       kanji_variant=0.4, kana_long_vowel=0.5)
    noise = Noise({"school_students": rates}, random.Random(5))
    for _ in range(4000):
        noise.apply("school_students", {"name_kanji": "髙橋 翔", "name_kana": "タカハシ ショウ",
                                        "birth_date": "2014-06-01", "left_date": "2025-06-01"})
    for kind, rate in (("kana_hiragana", 0.1), ("name_space", 0.3), ("wareki", 0.5), ("birth_typo", 0.05),
                       ("kanji_variant", 0.4), ("kana_long_vowel", 0.5)):
        n = noise.log.chances[("school_students", kind)]
        assert n >= 4000
        assert abs(noise.log.rate("school_students", kind) - rate) < 4 * math.sqrt(rate * (1 - rate) / n), kind
    # half-width is tried only where hiragana did not apply
    assert abs(noise.log.rate("school_students", "kana_half_width") - 0.2) < 0.03


def test_noise_shows_in_the_school_records_and_not_in_the_registry(noisy_run) -> None:
    students = [e.data for e in noisy_run.events if e.system == "school_students"
                and isinstance(e.data.get("name_kana"), str)]
    log = noisy_run.city.sim.noise.log
    half = sum(bool(HALF_WIDTH_KANA.search(d["name_kana"])) for d in students)
    hira = sum(bool(HIRAGANA.search(d["name_kana"])) for d in students)
    assert half == log.applied[("school_students", "kana_half_width")]
    assert hira == log.applied[("school_students", "kana_hiragana")]
    n = len(students)
    expected = DEFAULT_NOISE["school_students"]
    assert abs(half / n - expected.kana_half_width * (1 - expected.kana_hiragana)) < 4 * math.sqrt(0.1 / n)
    missing = sum(d["atena_no"] is None for d in students)
    assert abs(missing / n - expected.missing_atena) < 4 * math.sqrt(0.25 / n)
    registry = [e.data for e in noisy_run.events if e.system == "resident_registry"
                and e.type != "resident_registry.person.left"]
    assert not any(HALF_WIDTH_KANA.search(d["name_kana"]) or HIRAGANA.search(d["name_kana"]) for d in registry)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", d["birth_date"]) for d in registry)


def fold(kana: str) -> str:
    kana = jaconv.hira2kata(jaconv.h2z(kana, kana=True)).replace("\u3000", "").replace(" ", "")
    return "".join(LARGE_OF.get(c, c) for c in kana).replace("ー", "ウ")


LARGE_OF = dict(zip("ャュョッァィゥェォ", "ヤユヨツアイウエオ", strict=True))


def test_the_kana_of_a_noisy_name_still_reads_the_same(noisy_run) -> None:
    registry = {e.data["atena_no"]: e.data["name_kana"] for e in noisy_run.events
                if e.type == "resident_registry.person.registered"}
    pairs = [(e.data["name_kana"], registry[e.data["atena_no"]]) for e in noisy_run.events
             if e.system == "school_students" and e.data.get("atena_no") and isinstance(e.data.get("name_kana"), str)]
    assert len(pairs) > 100
    same = sum(fold(noisy) == fold(true) for noisy, true in pairs)
    assert same >= 0.98 * len(pairs)  # the rest: a surname changed after a divorce, a kana corrected
    assert sum(noisy != true for noisy, true in pairs) > 0.1 * len(pairs)


def test_school_records_leave_sex_and_kana_blank_at_their_rates(noisy_run) -> None:
    students = [e.data for e in noisy_run.events if e.type == "school_students.student.registered"]
    log, expected = noisy_run.city.sim.noise.log, DEFAULT_NOISE["school_students"]
    n = len(students)
    assert n > 100
    no_sex = sum(d.get("sex") is None for d in students)
    no_kana = sum(d.get("name_kana") is None for d in students)
    assert abs(no_sex / n - expected.blank_sex) < 4 * math.sqrt(0.1 / n)
    assert no_kana <= log.applied[("school_students", "blank_kana")] and no_kana / n < 0.06
    assert all(d.get("name_kanji") for d in students if d.get("name_kana") is None)  # a name is always there


def test_level_zero_is_clean() -> None:
    assert all(r == NoiseRates() for r in noise_profile(0.0).values())
