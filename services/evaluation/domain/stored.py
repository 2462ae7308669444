"""How evaluation keeps item sets and times: pure conversions shared by the handlers and the store."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime


def items_text(items: Iterable[int]) -> str:
    """A set of item numbers as stored: "3,17,18"."""
    return ",".join(str(i) for i in sorted(set(items)))


def items_of(text: str | None) -> frozenset[int]:
    return frozenset(int(i) for i in text.split(",") if i) if text else frozenset()


def codes_text(codes: Iterable[str]) -> str:
    """A set of signal codes as stored: "moved_in,unenrolled"."""
    return ",".join(sorted(set(codes)))


def codes_of(text: str | None) -> frozenset[str]:
    return frozenset(c for c in text.split(",") if c) if text else frozenset()


def to_utc_naive(moment: datetime | str) -> datetime:
    """Times are stored as naive UTC; a time without an offset is taken as UTC."""
    value = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value
