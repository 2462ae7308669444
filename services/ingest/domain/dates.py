"""Dates as the source systems write them: ISO 8601 or 和暦, into ``datetime.date``.

Era names, era start dates and kanji numerals come from ``jpdatetime``; this module adds what it lacks:
era bounds (平成32年 and 令和元年4月1日 do not exist), the R7.5.1 / H30/4/1 shapes and a parse cache,
because the same few thousand dates repeat across millions of events.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import lru_cache

from jpdatetime.jpdatetime import eras as _JPDATETIME_ERAS
from jpdatetime.kanji_to_num import replace_kanji_numerals

from services.ingest.domain.errors import InvalidDate

EARLIEST = date(1868, 1, 25)  # 明治: no resident alive today was born earlier
LATEST = date(2100, 12, 31)

# (name, abbreviation, first day, first day of the next era) newest first, from jpdatetime's table
_ERAS: list[tuple[str, str, date, date | None]] = []
for _i, _era in enumerate(_JPDATETIME_ERAS):
    _ERAS.append((
        _era["name_ja"], _era["name_en"][0], _era["start_date"].date(),
        _JPDATETIME_ERAS[_i - 1]["start_date"].date() if _i > 0 else None,
    ))
_ERA_BY_NAME = {name: era for era in _ERAS for name in (era[0],)}
# Only the five modern eras have unambiguous one-letter forms (R, H, S, T, M) on forms and in systems.
_ERA_BY_LETTER = {era[1]: era for era in _ERAS[:5]}

_ISO = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})\s*$", re.ASCII)
_KANJI_NUMERALS = frozenset("〇零一二三四五六七八九十")
_WESTERN = re.compile(r"^(\d{4})(?:[-/.年](\d{1,2})[-/.月](\d{1,2})日?|(\d{2})(\d{2}))$")
_WAREKI = re.compile(
    r"^(?P<era>" + "|".join(re.escape(e[0]) for e in _ERAS[:5]) + r"|[RHSTMrhstm])\s*"
    r"(?P<year>元|\d{1,2})\s*[年./\-]\s*(?P<month>\d{1,2})\s*[月./\-]\s*(?P<day>\d{1,2})\s*日?$"
)


def parse_jp_date(text: str) -> date:
    """Parses one date; raises InvalidDate with a reason that never repeats the input."""
    return _parse_cached(text)


@lru_cache(maxsize=65_536)
def _parse_cached(text: str) -> date:
    iso = _ISO.match(text)
    if iso:  # the common case, without NFKC and the numeral regex
        result = _calendar_date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        if not EARLIEST <= result <= LATEST:
            raise InvalidDate("date out of range (1868-01-25 .. 2100-12-31)")
        return result
    if _KANJI_NUMERALS.intersection(text):
        text = replace_kanji_numerals(text)
    cleaned = unicodedata.normalize("NFKC", text).strip()
    # NFKC turns ㋿/㍻ into 令和/平成 and full-width digits into ASCII; the result is one of two shapes.
    western = _WESTERN.match(cleaned)
    if western:
        year, month, day = western.group(1), western.group(2) or western.group(4), western.group(3) or western.group(5)
        result = _calendar_date(int(year), int(month), int(day))
    else:
        wareki = _WAREKI.match(cleaned)
        if not wareki:
            raise InvalidDate("not a recognised date format (ISO 8601 or 和暦)")
        result = _wareki_date(wareki)
    if not EARLIEST <= result <= LATEST:
        raise InvalidDate("date out of range (1868-01-25 .. 2100-12-31)")
    return result


def _calendar_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidDate("impossible calendar date") from None


def _wareki_date(match: re.Match[str]) -> date:
    era_text = match.group("era")
    era = _ERA_BY_NAME.get(era_text) or _ERA_BY_LETTER[era_text.upper()]
    _name, _letter, first_day, next_era = era
    era_year = 1 if match.group("year") == "元" else int(match.group("year"))
    if era_year < 1:
        raise InvalidDate("era year 0 does not exist")
    # Era year → western year from jpdatetime's era table (its strptime does the same sum, 40× slower).
    result = _calendar_date(first_day.year + era_year - 1, int(match.group("month")), int(match.group("day")))
    if result < first_day or (next_era is not None and result >= next_era):
        raise InvalidDate("date outside its era (era year past the era's end, or before its first day)")
    return result
