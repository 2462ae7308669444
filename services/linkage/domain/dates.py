"""How two birth dates differ: the shape of a keying error, or two different days.

A birth date typed wrong differs from the true one in a recognisable way: a day off by one or two, day and month
swapped, the two digits of one part swapped, one digit wrong, or a 和暦 year slip (a year off by one, or the
right year number in the wrong era: 平成2年 for 令和2年). Two children born "about a month apart" differ in none
of these ways unless by coincidence, so that distance alone is no evidence of one child.

Levels, strongest first:

- ``near``: ±1–2 days, day/month swapped, or the digits of the day or month swapped. A stranger of the same
  name rarely lands on one of these few dates.
- ``typo``: one digit wrong anywhere, or a 和暦 year slip. About twenty dates are one digit away (a month
  digit slip is a whole month), so strangers with a common name land on one more often: matching wants another
  field to agree before it links on this alone.
- ``disagree``: anything else, however close (27 days apart is not a typo).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from operator import ne
from typing import Literal

DateLevel = Literal["exact", "near", "typo", "disagree"]
# 和暦 era offsets between the same year number in two eras: 平成↔令和 (1988 vs 2018), 昭和↔平成 (1925 vs 1988).
ERA_SHIFTS = frozenset({30, 63})


@lru_cache(maxsize=131_072)
def _parse(iso: str) -> date | None:
    try:
        return date.fromisoformat(iso[:10])
    except ValueError:
        return None


def date_level(a: str, b: str) -> DateLevel:
    """The shape of the difference between two ISO dates."""
    if a[:10] == b[:10]:
        return "exact"
    da, db = _parse(a), _parse(b)
    if da is None or db is None:
        return "disagree"
    ya, ma, dd_a = a[:4], a[5:7], a[8:10]
    yb, mb, dd_b = b[:4], b[5:7], b[8:10]
    if abs((da - db).days) <= 2:
        return "near"
    if ya == yb and ma == dd_b and dd_a == mb:
        return "near"  # day and month swapped (03-12 ↔ 12-03)
    if (ya, ma) == (yb, mb) and dd_a == dd_b[::-1]:
        return "near"  # the day's digits swapped (12 ↔ 21)
    if (ya, dd_a) == (yb, dd_b) and ma == mb[::-1]:
        return "near"  # the month's digits swapped (01 ↔ 10)
    digits_a, digits_b = ya + ma + dd_a, yb + mb + dd_b
    if sum(map(ne, digits_a, digits_b)) == 1:  # (eight digits each: the ISO dates were parsed above)
        return "typo"
    if (ma, dd_a) == (mb, dd_b) and abs(int(ya) - int(yb)) in ({1} | ERA_SHIFTS):
        return "typo"  # a 和暦 year off by one (or 平成31年/令和元年), or the year number in the wrong era
    return "disagree"


_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


_DIGITS = "0123456789"
_TWO = [f"{i:02d}" for i in range(100)]


def _leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


@lru_cache(maxsize=65_536)
def shaped_dates(iso: str) -> frozenset[str]:
    """Every ISO date ``b`` for which ``date_level(iso, b)`` is not ``disagree`` (itself, ±1–2 days, the swaps,
    one digit off, a 和暦 year slip): one set look-up per candidate instead of a comparison, for a record's
    many candidates born on other days (``tests/unit/linkage/test_source_reality.py`` checks the two agree)."""
    a = iso[:10]
    d0 = _parse(a)
    if d0 is None:
        return frozenset({a})  # date_level(iso, b) is "disagree" for every other b
    y, m, d = d0.year, d0.month, d0.day
    out = {a}
    for k in (-2, -1, 1, 2):
        try:
            out.add((d0 + timedelta(days=k)).isoformat())
        except OverflowError:  # 0001-01-01, a placeholder some systems write
            continue
    # built as text, each shape checked by its own rule (2.4× faster than formatting and checking every shape)
    ys, ms, ds = f"{y:04d}", _TWO[m], _TWO[d]
    month_day = f"-{ms}-{ds}"
    leap_day = m == 2 and d == 29
    for sy in (y - 63, y - 30, y - 1, y + 1, y + 30, y + 63):  # a 和暦 year slip
        if 1 <= sy <= 9999 and (not leap_day or _leap(sy)):
            out.add(f"{sy:04d}{month_day}")
    for i in range(4):  # one digit of the year
        for c in _DIGITS:
            if c != ys[i]:
                year = ys[:i] + c + ys[i + 1:]
                if year != "0000" and (not leap_day or _leap(int(year))):
                    out.add(year + month_day)
    shapes = [(d, m), (m, int(ds[::-1])), (int(ms[::-1]), d)]  # swaps
    shapes += [(int(c + ms[1]), d) for c in _DIGITS] + [(int(ms[0] + c), d) for c in _DIGITS]  # a month digit
    shapes += [(m, int(c + ds[1])) for c in _DIGITS] + [(m, int(ds[0] + c)) for c in _DIGITS]  # a day digit
    prefix, leap = ys + "-", _leap(y)
    for sm, sd in shapes:
        if 1 <= sm <= 12 and 1 <= sd <= _DAYS[sm - 1] + (sm == 2 and leap):
            out.add(prefix + _TWO[sm] + "-" + _TWO[sd])
    return frozenset(out)


def slip_neighbours(iso: str) -> list[str]:
    """The dates a slip of the commonest shapes turns ``iso`` into, and back (each shape is its own inverse): ±1–2
    days, day and month swapped, the digits of the day or the month swapped, the year off by one. Not a one-digit
    month slip: that is also the shape of "born a month apart"."""
    d = _parse(iso)
    if d is None:
        return []
    y, m, dd = iso[:4], iso[5:7], iso[8:10]
    texts = [(d + timedelta(days=k)).isoformat() for k in (-2, -1, 1, 2)]
    texts += [f"{y}-{dd}-{m}", f"{y}-{m[::-1]}-{dd}", f"{y}-{m}-{dd[::-1]}"]
    texts += [f"{int(y) + k:04d}-{m}-{dd}" for k in (-1, 1)]
    out: list[str] = []
    for t in texts:
        if t != iso[:10] and t not in out and _parse(t) is not None:
            out.append(t)
    return out


def day_digit_slips(iso: str) -> list[str]:
    """The dates of the same month one digit of the day away (04-02 → 04-07, 04-22)."""
    y_m, dd = iso[:8], iso[8:10]
    out = []
    for i in (0, 1):
        for c in "0123456789":
            t = y_m + (c + dd[1] if i == 0 else dd[0] + c)
            if t != iso[:10] and _parse(t) is not None:
                out.append(t)
    return out


def years_apart(a: str, b: str) -> int:
    return abs(int(a[:4]) - int(b[:4]))
