from __future__ import annotations

import pytest

from services.ingest.domain import normalise

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("variant", "usual"), [
    ("髙橋", "高橋"), ("山﨑", "山崎"), ("渡邊", "渡辺"), ("渡邉", "渡辺"), ("𠮷田", "吉田"),
    ("齋藤", "斎藤"), ("濱田", "浜田"), ("國分", "国分"), ("澤田", "沢田"), ("嶋田", "島田"),
])
def test_variant_kanji_fold_to_the_usual_form(variant: str, usual: str) -> None:
    assert normalise.kanji_key(variant) == normalise.kanji_key(usual) == usual


def test_distinct_common_kanji_stay_distinct() -> None:
    # 埼 and 崎, 斉 and 斎 are variants in ja-itaiji's table but different surnames in practice.
    assert normalise.kanji_key("埼田") != normalise.kanji_key("崎田")
    assert normalise.kanji_key("斉藤") != normalise.kanji_key("斎藤")


def test_folding_twice_changes_nothing() -> None:
    for name in ("髙橋 﨑子", "渡邊 𠮷", "齋藤 國男"):
        once = normalise.kanji_key(name)
        assert normalise.kanji_key(once) == once


def test_kanji_key_drops_full_and_half_width_spaces() -> None:
    assert normalise.kanji_key("福岡　花子") == normalise.kanji_key("福岡 花子") == "福岡花子"


@pytest.mark.parametrize("spelling", ["キョウコ", "キョーコ", "きょうこ", "ｷｮｳｺ", "ｷｮｰｺ", "キヨウコ"])
def test_kana_spellings_of_one_name_share_a_key(spelling: str) -> None:
    assert normalise.kana_key(spelling) == normalise.kana_key("キョウコ")


def test_kana_key_is_full_width_katakana_without_spaces() -> None:
    assert normalise.kana_key("ﾌｸｵｶ　はなこ") == "フクオカハナコ"


def test_sound_alike_kana_fold() -> None:
    assert normalise.kana_key("ヂュン") == normalise.kana_key("ジュン")
    assert normalise.kana_key("ヴァイオリン") == normalise.kana_key("ブアイオリン")


def test_names_split_on_either_space() -> None:
    assert normalise.split_name("フクオカ　ハナコ") == ("フクオカ", "ハナコ")
    assert normalise.split_name("フクオカ ハナコ") == ("フクオカ", "ハナコ")
    assert normalise.split_name("フクオカハナコ") is None


@pytest.mark.parametrize(("address", "ward"), [
    ("福岡市東区箱崎1丁目2-3", "40131"), ("福岡県福岡市博多区博多駅前2-1", "40132"),
    ("中央区天神1-1-1", "40133"), ("福岡市南区大橋1丁目", "40134"), ("福岡市西区姪浜", "40135"),
    ("福岡市城南区七隈8丁目", "40136"), ("福岡市 早良区 西新", "40137"), ("北九州市小倉北区", None),
])
def test_ward_comes_from_the_address(address: str, ward: str | None) -> None:
    assert normalise.ward_from_address(address) == ward


def test_address_key_agrees_across_ways_of_writing_one_address() -> None:
    forms = ["福岡県福岡市東区箱崎一丁目2番3号", "福岡市東区箱崎1-2-3", "東区箱崎１－２－３", "東区 箱崎 1丁目2-3"]
    assert {normalise.address_key(f) for f in forms} == {"東区箱崎1-2-3"}


@pytest.mark.parametrize(("text", "expected"), [
    ("812-0053", "8120053"), ("〒８１２－００５３", "8120053"), ("8120053", "8120053"),
    ("812-005", None), ("abcdefg", None), ("812-00533", None),
])
def test_postal_codes_are_seven_digits_or_nothing(text: str, expected: str | None) -> None:
    assert normalise.postal_code(text) == expected
