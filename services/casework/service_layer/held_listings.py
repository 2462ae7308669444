"""区が未確定の対象者: flagged children whose listing is held because no ward is known (docs/casework.md).

A listing waits on the child (``pending_alert``) until a ward arrives; a child whose ward never comes (a
newborn whose 出生届 is late, a 無戸籍 child) would otherwise be in no inbox. HQ sees them on a page of their
own, and the worker keeps two gauges (how many, how long the oldest has waited) for the alert rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from services.casework.domain.alert_policy import Listing
from services.casework.domain.pseudonym import JST, age_in_months, parse_date
from services.casework.metrics import CaseworkMetrics
from services.casework.service_layer.unit_of_work import AbstractUnitOfWork, ChildRecord


@dataclass(frozen=True)
class HeldListing:
    """One held listing as HQ sees it: no name or address, the child's id (linkage's pseudonymous id)."""

    child_id: str
    age_months: int | None  # from the birth date linkage's profile gave, if any
    tier: str | None  # the child's tier now (the listing follows it)
    items: tuple[int, ...]
    reason: str
    held_since: datetime | None  # None: held before casework recorded the time (then flags_updated_at is shown)
    sources: tuple[str, ...]  # source systems whose facts back the child's flags and signals
    has_profile: bool  # linkage sent a profile (still without a ward)
    flags_as_of: str | None

    def age_label(self) -> str:
        if self.age_months is None:
            return "不明"
        years, months = divmod(self.age_months, 12)
        return f"{years}歳{months}か月"


@dataclass(frozen=True)
class HeldSummary:
    count: int
    oldest_age_s: float  # 0 when nothing is held


def held_listing(child: ChildRecord, today: date) -> HeldListing | None:
    listing = Listing.from_json(child.pending_alert)
    if listing is None:
        return None
    return HeldListing(
        child_id=child.child_id, age_months=age_in_months(parse_date(child.birth_date), today),
        tier=listing.tier_now or listing.tier, items=listing.items, reason=listing.reason,
        held_since=_held_since(child), sources=_sources(child), has_profile=child.profile_updated_at is not None,
        flags_as_of=child.flags_as_of)


def held_listings(uow: AbstractUnitOfWork, now: datetime) -> list[HeldListing]:
    """Every held listing, longest held first (unknown start first: it predates the recorded ones)."""
    today = now.astimezone(JST).date()
    found = [h for h in (held_listing(c, today) for c in uow.cases.held_children()) if h is not None]
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(found, key=lambda h: (h.held_since or oldest, h.child_id))


def summarize(listings: list[HeldListing], now: datetime) -> HeldSummary:
    starts = [h.held_since for h in listings if h.held_since is not None]
    oldest = max(((now - s).total_seconds() for s in starts), default=0.0)
    return HeldSummary(count=len(listings), oldest_age_s=max(0.0, oldest))


def refresh_gauges(uow: AbstractUnitOfWork, metrics: CaseworkMetrics, now: datetime) -> HeldSummary:
    """Sets ``tsunagu_casework_listings_held`` and the oldest listing's age from the case database."""
    with uow:
        summary = summarize(held_listings(uow, now), now)
    metrics.listings_held.set(summary.count)
    metrics.listing_held_oldest_seconds.set(summary.oldest_age_s)
    return summary


def _held_since(child: ChildRecord) -> datetime | None:
    """When the listing was first held; for listings held before that was recorded, the last flags update (the
    listing is at least that old only if it was held then: a lower bound is all there is)."""
    value: Any = (child.pending_alert or {}).get("held_since")
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    updated = child.flags_updated_at
    if updated is None:
        return None
    return updated if updated.tzinfo else updated.replace(tzinfo=UTC)


def _sources(child: ChildRecord) -> tuple[str, ...]:
    systems: set[str] = set()
    for entry in [*(child.flags or []), *(child.signals or [])]:
        for evidence in entry.get("evidence", []) if isinstance(entry, dict) else []:
            if isinstance(evidence, dict) and evidence.get("source_system"):
                systems.add(str(evidence["source_system"]))
    return tuple(sorted(systems))
