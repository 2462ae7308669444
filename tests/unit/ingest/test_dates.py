from __future__ import annotations

from datetime import date

import pytest

from services.ingest.domain.dates import parse_jp_date
from services.ingest.domain.errors import InvalidDate

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("text", "expected"), [
    ("2025-05-01", date(2025, 5, 1)),
    ("2025/5/1", date(2025, 5, 1)),
    ("20250501", date(2025, 5, 1)),
    ("２０２５年５月１日", date(2025, 5, 1)),
    ("二〇二五年五月一日", date(2025, 5, 1)),
    ("令和7年5月1日", date(2025, 5, 1)),
    ("令和七年五月一日", date(2025, 5, 1)),
    ("令和元年5月1日", date(2019, 5, 1)),
    ("R7.5.1", date(2025, 5, 1)),
    ("r7.5.1", date(2025, 5, 1)),
    ("H30/4/1", date(2018, 4, 1)),
    ("H30-4-1", date(2018, 4, 1)),
    ("㍻30年4月1日", date(2018, 4, 1)),
    ("平成31年4月30日", date(2019, 4, 30)),
    ("昭和64年1月7日", date(1989, 1, 7)),
    ("平成元年1月8日", date(1989, 1, 8)),
    ("令和7年12月31日", date(2025, 12, 31)),
    ("令和7年十二月三十一日", date(2025, 12, 31)),
    ("  令和 7 年 5 月 1 日 ", date(2025, 5, 1)),
])
def test_source_dates_in_every_written_form_parse_to_the_same_day(text: str, expected: date) -> None:
    assert parse_jp_date(text) == expected


@pytest.mark.parametrize("text", [
    "平成32年1月1日",      # 平成 ended in its 31st year
    "平成31年5月1日",      # the first day of 令和
    "令和元年4月30日",     # before 令和 began
    "昭和64年1月8日",      # 平成 had begun
    "令和7年2月30日",
    "2025-02-30",
    "2023-02-29",          # not a leap year
    "R0.5.1",
    "1800-01-01",
    "2200-01-01",
    "5月1日",
    "garbage",
    "2025-13-01",
])
def test_impossible_or_unreadable_dates_are_refused(text: str) -> None:
    with pytest.raises(InvalidDate):
        parse_jp_date(text)


def test_a_refusal_never_repeats_the_value() -> None:
    with pytest.raises(InvalidDate) as refused:
        parse_jp_date("平成32年1月1日")
    assert "32" not in str(refused.value)
