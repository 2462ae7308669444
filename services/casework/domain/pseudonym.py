"""Masking rules for analysis extracts (仮名加工情報): keyed pseudonyms, months instead of dates, age bands.

Pure: no database, clock or randomness except ``new_key`` (the caller stores the key in the key register).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, date, datetime, timedelta, timezone

JST = timezone(timedelta(hours=9))
PSEUDONYM_HEX = 32  # 128 bits of HMAC-SHA256: no collisions among a city's children
UNKNOWN = "不明"


def new_key() -> bytes:
    """A fresh random 256-bit key for one extract."""
    return secrets.token_bytes(32)


def pseudonym(key: bytes, kind: str, value: str) -> str:
    """HMAC-SHA256 of ``kind:value`` under the extract's key: stable within an extract, unlinkable across
    extracts (another key), and not reversible from the extract alone (no key, no dictionary attack on ids)."""
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:PSEUDONYM_HEX]


def forgotten_hash(child_id: str) -> str:
    """How a deleted child's id is remembered, only to drop late messages about it (not reversible by itself)."""
    return hashlib.sha256(f"tsunagu-deleted:{child_id}".encode()).hexdigest()


def month_of(value: str | date | datetime | None) -> str | None:
    """A date generalised to its month (YYYY-MM); datetimes in Japan time. None or unparseable → None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(JST).strftime("%Y-%m")
    if isinstance(value, date):
        return value.strftime("%Y-%m")
    text = value.strip()
    if len(text) >= 7 and text[4] == "-" and text[:4].isdigit() and text[5:7].isdigit():
        return text[:7]
    return None


def parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def age_in_months(birth: date | None, on: date) -> int | None:
    if birth is None or birth > on:
        return None
    months = (on.year - birth.year) * 12 + on.month - birth.month
    return months - 1 if on.day < birth.day else months


# Age labels by generalisation level (k-anonymity): 0 half-years under 3 then years, 1 years, 2 school stages,
# 3 two wide bands, 4 everything. Each level only merges labels of the level below.
AGE_LEVELS = 5


def age_label(months: int | None, level: int) -> str:
    if months is None:
        return UNKNOWN
    years = months // 12
    if level >= 4:
        return "*"
    if years >= 16:
        return "16歳以上"
    if level == 0 and months < 36:
        low = (months // 6) * 6
        return f"{low}-{low + 5}か月"
    if level <= 1:
        return f"{years}歳"
    if level == 2:
        for low, high in ((0, 2), (3, 5), (6, 11), (12, 15)):
            if low <= years <= high:
                return f"{low}-{high}歳"
    return "0-5歳" if years <= 5 else "6-15歳"


def sex_label(sex: str | None) -> str:
    return {"1": "男", "2": "女"}.get(sex or "", UNKNOWN)
