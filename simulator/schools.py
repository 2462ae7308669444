"""School codes, grades and the school calendar (年度 from April; 小1=1 … 中3=9)."""

from __future__ import annotations

from datetime import date

# 授業日数 per month of the school year (a typical Fukuoka public school calendar), keyed by month
SCHOOL_DAYS: dict[int, int] = {4: 16, 5: 19, 6: 21, 7: 14, 8: 3, 9: 19, 10: 20, 11: 18, 12: 15, 1: 16, 2: 18, 3: 15}
SCHOOL_YEAR_MONTHS: tuple[int, ...] = (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)


def school_year(day: date) -> int:
    """年度: the western year of the April that starts it."""
    return day.year if day.month >= 4 else day.year - 1


def fiscal_birth_year(birth: date) -> int:
    """Children born on 1 April belong to the earlier school cohort (学校教育法 and 年齢計算ニ関スル法律)."""
    return birth.year if (birth.month, birth.day) > (4, 1) else birth.year - 1


def grade(birth: date, on: date) -> int | None:
    """School grade 1–9 on a date, or None outside compulsory school age."""
    g = school_year(on) - fiscal_birth_year(birth) - 6
    return g if 1 <= g <= 9 else None


def school_code(ward_code: str, grade_: int, district: int) -> str:
    """A 13-character code shaped like the national 学校コード: kind, prefecture, ward, school, check digit."""
    kind = "B1" if grade_ <= 6 else "C1"
    body = f"{kind}40{ward_code[-2:]}{district % 1000:03d}01"
    check = sum(int(c) for c in body if c.isdigit()) % 10
    return f"{body}{check}0"


def month_year(school_year_: int, month: int) -> int:
    return school_year_ if month >= 4 else school_year_ + 1
