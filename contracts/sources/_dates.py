"""The JSON Schema ``pattern`` of a source date (和暦 or western), generated from the era table.

Ingest parses dates with its own code (services/ingest/domain/dates.py) and refuses impossible ones; this
pattern lets a vendor's JSON Schema validator refuse the same ones: era years past their era (平成32年),
dates before an era's first day or after its last (令和元年4月1日, 平成31年5月1日), months and days that do
not exist (13月, 4月31日, 2月30日), years outside 1868-01-25 .. 2100-12-31. It accepts what ingest accepts:
ASCII, full-width and kanji numerals (令和七年五月一日, 二〇二五年五月一日), era letters (R7.5.1, h30/4/1),
the one-character era signs (㍻, ㋿), spaces around the parts.

The one rule a pattern cannot say: 29 February exists only in leap years. Ingest refuses 2月29日 of other
years (and a birth date after the event's ``time``), which the schema lets through.
"""

from __future__ import annotations

from datetime import date, timedelta

_KANJI = "〇一二三四五六七八九"
_FULL = "０１２３４５６７８９"
# (name, letter, sign, first day, first day of the next era); the dates are those of jpdatetime's era table.
ERAS = (
    ("令和", "R", "㋿", date(2019, 5, 1), None),
    ("平成", "H", "㍻", date(1989, 1, 8), date(2019, 5, 1)),
    ("昭和", "S", "㍼", date(1926, 12, 25), date(1989, 1, 8)),
    ("大正", "T", "㍽", date(1912, 7, 30), date(1926, 12, 25)),
    ("明治", "M", "㍾", date(1868, 1, 25), date(1912, 7, 30)),
)
EARLIEST, LATEST = date(1868, 1, 25), date(2100, 12, 31)
_DAYS = {1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}


def _digit(lo: int, hi: int) -> str:
    """One digit lo..hi in any width, or as a kanji numeral (〇 and 零 for 0)."""
    ascii_part = str(lo) if lo == hi else f"{lo}-{hi}"
    full = _FULL[lo] if lo == hi else f"{_FULL[lo]}-{_FULL[hi]}"
    kanji = _KANJI[lo:hi + 1] + ("零" if lo == 0 else "")
    return f"[{ascii_part}{full}{kanji}]"


def _number(lo: int, hi: int, two_digits: bool = False) -> str:
    """lo..hi (1..99) written with digits (a leading zero allowed, or required if ``two_digits``) or kanji (三十一)."""
    alternatives = []
    if lo <= 9:
        zero = _digit(0, 0) + ("" if two_digits else "?")
        alternatives.append(zero + _digit(lo, min(hi, 9)))
    for tens in range(max(lo // 10, 1), hi // 10 + 1):
        first, last = max(lo, tens * 10) - tens * 10, min(hi, tens * 10 + 9) - tens * 10
        alternatives.append(_digit(tens, tens) + _digit(first, last))
    if not two_digits:
        for tens in range(max(lo // 10, 1), hi // 10 + 1):
            first, last = max(lo, tens * 10) - tens * 10, min(hi, tens * 10 + 9) - tens * 10
            ones = "" if first > 0 else "?"
            ones_class = f"[{_KANJI[max(first, 1):last + 1]}]{ones}" if last >= 1 else ""
            alternatives.append(("" if tens == 1 else _KANJI[tens]) + "十" + ones_class)
    return "(?:" + "|".join(alternatives) + ")"


def _month_days(first: tuple[int, int], last: tuple[int, int], sep: str, two_digits: bool = False) -> str:
    """Month, separator, day, for every calendar (month, day) from ``first`` to ``last`` in one year."""
    groups: dict[tuple[int, int], list[int]] = {}
    for month in range(first[0], last[0] + 1):
        lo = first[1] if month == first[0] else 1
        hi = min(_DAYS[month], last[1] if month == last[0] else 31)
        groups.setdefault((lo, hi), []).append(month)
    parts = []
    for (lo, hi), months in groups.items():
        month_part = "|".join(_number(m, m, two_digits) for m in months)
        parts.append(f"(?:{month_part}){sep}{_number(lo, hi, two_digits)}")
    return "(?:" + "|".join(parts) + ")"


_YEAR_SEP, _MONTH_SEP = r"\s*[年./\-．／－]\s*", r"\s*[月./\-．／－]\s*"


def _year_range(first: date, last: date, years: list[tuple[int, str]], sep: tuple[str, str]) -> str:
    """``years``: (western year, its spelling) from first.year to last.year; the first and last are partial."""
    whole = _month_days((1, 1), (12, 31), sep[1])
    parts = []
    for year, spelling in years:
        start = (first.month, first.day) if year == first.year else (1, 1)
        end = (last.month, last.day) if year == last.year else (12, 31)
        body = whole if (start, end) == ((1, 1), (12, 31)) else _month_days(start, end, sep[1])
        parts.append((spelling, body))
    merged: dict[str, list[str]] = {}  # years with the same months and days share one alternative
    for spelling, body in parts:
        merged.setdefault(body, []).append(spelling)
    return "|".join(f"(?:{'|'.join(spellings)}){sep[0]}{body}" for body, spellings in merged.items())


def _era_pattern() -> str:
    alternatives = []
    for name, letter, sign, first, following in ERAS:
        last = (following - timedelta(days=1)) if following else LATEST
        count = last.year - first.year + 1
        spellings = [(first.year, f"(?:元|{_number(1, 1)})")]
        if count > 2:
            spellings.append((first.year + 1, _number(2, count - 1)))  # stands for every middle year
        spellings.append((last.year, _number(count, count)))
        years = _year_range(first, last, spellings, (_YEAR_SEP, _MONTH_SEP)) if count > 2 else ""
        letters = "".join(f"{c}{chr(ord(c) + 0xFEE0)}" for c in (letter, letter.lower()))  # and full-width
        era = f"(?:{name}|{sign}|[{letters}])"
        alternatives.append(f"{era}\\s*(?:{years})")
    return "|".join(alternatives)


def _western_pattern() -> str:
    def year(lo: int, hi: int) -> str:
        # four digits lo..hi, by century and decade: enough for 1868..2100
        parts = []
        for y in range(lo, hi + 1, 10):
            top = min(y - y % 10 + 9, hi)
            bottom = max(y - y % 10, lo)
            digits = f"{bottom:04d}"
            parts.append("".join(_digit(int(d), int(d)) for d in digits[:3]) + _digit(bottom % 10, top % 10))
        return "(?:" + "|".join(dict.fromkeys(parts)) + ")"

    first_year, middle, last_year = year(1868, 1868), year(1869, 2099), year(2100, 2100)
    sep = (r"[年./\-．／－]", r"[月./\-．／－]")
    shapes = []
    for two_digits, separators in ((False, sep), (True, ("", ""))):  # 2025-5-1, 2025年5月1日; 20250501
        def md(first: tuple[int, int], last: tuple[int, int], two: bool = two_digits, s: str = separators[1]) -> str:
            return _month_days(first, last, s, two)
        shapes.append(f"{first_year}{separators[0]}{md((1, 25), (12, 31))}"
                      f"|{middle}{separators[0]}{md((1, 1), (12, 31))}"
                      f"|{last_year}{separators[0]}{md((1, 1), (12, 31))}")
    return "|".join(shapes)


JP_DATE_PATTERN = rf"^\s*(?:{_western_pattern()}|{_era_pattern()})\s*日?\s*$"
