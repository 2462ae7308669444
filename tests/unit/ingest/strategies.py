"""Hypothesis strategies for source events: valid ones from each contract, and ways to break them."""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import strategies as st

from services.ingest.entrypoints.examples import PAYLOADS

DIGITS = "0123456789０１２３４５６７８９"
KANJI = "福岡博多天神髙橋﨑邊辺渡吉𠮷田中山川花子太郎斎藤齋國"
KANA = "あいうえおかきくけこさしすせそがぎぐゃゅょっーアイウエオカキクケコガギグャュョッヴｱｲｳｴｵｶﾞｷﾞｬｭｮｯｰ"
SPACES = " 　"
ERAS = [("令和", "R", date(2019, 5, 1), date(2100, 12, 31)), ("平成", "H", date(1989, 1, 8), date(2019, 4, 30)),
        ("昭和", "S", date(1926, 12, 25), date(1989, 1, 7))]
KANJI_DIGITS = "〇一二三四五六七八九"

atena_nos = st.text(alphabet=DIGITS, min_size=1, max_size=15)
names_kanji = st.builds(lambda a, s, b: a + s + b, st.text(KANJI, min_size=1, max_size=8), st.sampled_from(SPACES),
                        st.text(KANJI, min_size=1, max_size=8))
names_kana = st.builds(lambda a, s, b: a + s + b, st.text(KANA, min_size=1, max_size=12), st.sampled_from(SPACES),
                       st.text(KANA, min_size=1, max_size=12))


def _kanji_number(n: int) -> str:
    if n < 10:
        return KANJI_DIGITS[n]
    tens, units = divmod(n, 10)
    return ("" if tens == 1 else KANJI_DIGITS[tens]) + "十" + (KANJI_DIGITS[units] if units else "")


def render_date(day: date, style: int) -> str:
    """One of the ways source systems write a day."""
    era = next((e for e in ERAS if e[2] <= day <= e[3]), None)
    if era is None or style == 0:
        return day.isoformat()
    name, letter, first, _ = era
    year = day.year - first.year + 1
    if style == 1:
        return f"{name}{'元' if year == 1 else year}年{day.month}月{day.day}日"
    if style == 2:
        return f"{letter}{year}.{day.month}.{day.day}"
    if style == 3:
        return f"{letter}{year}/{day.month}/{day.day}"
    if style == 4:
        return f"{name}{_kanji_number(year)}年{_kanji_number(day.month)}月{_kanji_number(day.day)}日"
    return f"{day.year}/{day.month}/{day.day}"


dated = st.tuples(st.dates(min_value=date(1930, 1, 1), max_value=date(2025, 12, 31)), st.integers(0, 5))
jp_dates = dated.map(lambda d: render_date(*d))


def _is_date(name: str) -> bool:
    return name.endswith("_date") or name == "as_of"


@st.composite
def valid_payloads(draw: st.DrawFn, event_type: str) -> dict[str, Any]:
    """The example payload with every identity, name and date field drawn anew."""
    payload = dict(PAYLOADS[event_type])
    for name, value in PAYLOADS[event_type].items():
        if value is None:
            continue
        if name.endswith("atena_no"):
            payload[name] = draw(atena_nos)
        elif name.endswith("atena_nos"):
            payload[name] = draw(st.lists(atena_nos, max_size=5))
        elif name == "name_kanji":
            payload[name] = draw(names_kanji)
        elif name == "name_kana":
            payload[name] = draw(names_kana)
        elif name == "birth_date":
            # Before the example event's time, so never "in the future".
            payload[name] = render_date(draw(st.dates(date(1930, 1, 1), date(2025, 12, 31))), draw(st.integers(0, 5)))
        elif _is_date(name):
            payload[name] = draw(jp_dates)
    return payload


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=6,
)
