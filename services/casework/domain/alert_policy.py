"""Whether a child should have an alert in a ward (プッシュ型支援の対象リスト), from the child's current state.

Pure: the caller passes in what the database knows about the child after applying one message (flags or
profile) and the current time. The decision depends on that state, not on which message brought it, so a
ward learnt before, with or after the flags gives the same alert:

- a trigger (entering or rising to a tier, gaining an item in ``alert_items``; or, for a child never alerted,
  simply carrying a tier or such an item) opens a *listing*: reason, tier and items at listing;
- the listing becomes an alert in the child's best-known ward at once, or waits on the child (``HoldAlert``)
  until a ward is known, following the child's tier meanwhile as an open alert would;
- an open alert is updated with gained and cleared items and the tier; a new ward moves it (移管).

The alert id is derived from the listing (child, ward, tier and items at listing, reason) and the number of
alerts the child had before, never from a message's date or arrival, so the same situation always gives the
same id and a replay raises nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

TIER_RANK: dict[str | None, int] = {None: 0, "見守り": 1, "予防": 2, "重点": 3}
ALERT_NAMESPACE = uuid.UUID("5b0f3f9e-4c1e-4b7e-9a57-2f0a3c6d7e11")


@dataclass(frozen=True)
class Listing:
    """What an alert says when it is decided: it is raised with exactly this in the first known ward."""

    reason: str  # entered_tier / high_weight_flag / moved_ward
    tier: str | None  # the tier at listing (part of the alert id)
    items: tuple[int, ...]  # the items at listing
    tier_now: str | None  # the child's tier since, as an open alert shows it

    def following(self, tier: str | None) -> Listing:
        """An alert's tier follows its child (never to "no tier": it keeps the last one)."""
        return replace(self, tier_now=tier) if tier is not None else self

    def as_json(self) -> dict[str, Any]:
        return {"reason": self.reason, "tier": self.tier, "items": list(self.items), "tier_now": self.tier_now}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Listing | None:
        if not data:
            return None
        return cls(data["reason"], data.get("tier"), tuple(int(i) for i in data.get("items", [])),
                   data.get("tier_now"))


@dataclass(frozen=True)
class FlagsChange:
    """The child's state before and after one message (for a profile message, before == after)."""

    child_id: str
    ward_code: str | None  # the best-known ward after the message (see ward_order)
    tier_before: str | None
    tier_after: str | None
    items_before: frozenset[int]
    items_after: frozenset[int]
    supported_by_child_guidance: bool = False
    pending: Listing | None = None  # a listing waiting for a ward

    @property
    def gained_items(self) -> frozenset[int]:
        return self.items_after - self.items_before

    @property
    def entered_tier(self) -> bool:
        return TIER_RANK[self.tier_after] > TIER_RANK[self.tier_before]


@dataclass(frozen=True)
class OpenCase:
    alert_id: str
    ward_code: str
    items: frozenset[int]
    tier: str | None = None  # the alert's tier now (it follows the child's tier while the case is open)


@dataclass(frozen=True)
class ChildHistory:
    """What casework already knows about the child's alerts."""

    open_case: OpenCase | None = None
    last_alert_at: datetime | None = None
    last_alert_tier: str | None = None
    alerts_raised: int = 0


@dataclass(frozen=True)
class RaiseAlert:
    alert_id: str
    alert_key: str
    ward_code: str
    tier: str | None
    items: tuple[int, ...]
    reason: str  # entered_tier / high_weight_flag / moved_ward
    transfer_from: str | None = None  # the open case in the old ward, closed as 移管


@dataclass(frozen=True)
class UpdateOpenCase:
    alert_id: str
    gained_items: tuple[int, ...]
    cleared_items: tuple[int, ...]
    tier: str | None = None  # the child's tier now; the open alert shows it when ``tier_changed``
    tier_changed: bool = False


@dataclass(frozen=True)
class HoldAlert:
    """An alert is due but no ward is known yet: the listing waits on the child."""

    listing: Listing
    why: str = "no_ward"


@dataclass(frozen=True)
class NoAlert:
    why: str  # no_trigger / cooldown / child_guidance


Decision = RaiseAlert | UpdateOpenCase | HoldAlert | NoAlert


@dataclass(frozen=True)
class AlertPolicy:
    alert_items: frozenset[int] = field(default_factory=lambda: frozenset(range(1, 20)))
    cooldown: timedelta = timedelta(days=90)

    def decide(self, change: FlagsChange, history: ChildHistory, now: datetime) -> Decision:
        case = history.open_case
        if case is not None:
            if change.ward_code and case.ward_code != change.ward_code:
                # The family moved: the new ward takes the case over — the same listing (its items, the tier
                # the alert shows), whenever casework learns of the move; the child's flags now are on the
                # child page. Keyed without the tier, so the moved alert is the same in every arrival order.
                moved = Listing("moved_ward", None, tuple(sorted(case.items)), case.tier).following(change.tier_after)
                return self._raise(change.child_id, change.ward_code, moved, history, transfer_from=case.alert_id)
            return self._update(case, change)
        listing = change.pending.following(change.tier_after) if change.pending else None
        if listing is None:
            reason = self._trigger(change, history)
            if reason is None:
                return NoAlert("no_trigger")
            if change.supported_by_child_guidance:
                return NoAlert("child_guidance")
            if self._cooling_down(change, history, now):
                return NoAlert("cooldown")
            listing = Listing(reason, change.tier_after, tuple(sorted(change.items_after)), change.tier_after)
        if not change.ward_code:
            return HoldAlert(listing)
        return self._raise(change.child_id, change.ward_code, listing, history)

    @staticmethod
    def _update(case: OpenCase, change: FlagsChange) -> UpdateOpenCase | NoAlert:
        cleared = change.items_before - change.items_after
        tier_changed = change.tier_after != change.tier_before and change.tier_after is not None
        if not change.gained_items and not cleared and not tier_changed:
            return NoAlert("no_trigger")
        # The open alert follows the child: new and cleared items, and its tier when it rises or falls (an
        # alert raised at 見守り whose child is now 重点 must say 重点 in the inbox).
        return UpdateOpenCase(case.alert_id, tuple(sorted(change.gained_items)), tuple(sorted(cleared)),
                              change.tier_after, tier_changed)

    def _trigger(self, change: FlagsChange, history: ChildHistory) -> str | None:
        if change.entered_tier:
            return "entered_tier"
        if change.gained_items & self.alert_items:
            return "high_weight_flag"
        if history.last_alert_at is None and history.alerts_raised == 0:
            # Never alerted: what the child carries now is news, whichever message showed it.
            if change.tier_after is not None:
                return "entered_tier"
            if change.items_after & self.alert_items:
                return "high_weight_flag"
        return None

    def _cooling_down(self, change: FlagsChange, history: ChildHistory, now: datetime) -> bool:
        if history.last_alert_at is None or now - history.last_alert_at >= self.cooldown:
            return False
        # Within the cool-down only an escalation above the last alert's tier is news.
        return TIER_RANK[change.tier_after] <= TIER_RANK[history.last_alert_tier]

    @staticmethod
    def _raise(child_id: str, ward_code: str, listing: Listing, history: ChildHistory,
               transfer_from: str | None = None) -> RaiseAlert:
        key = alert_key(child_id, ward_code, listing.tier, listing.items, listing.reason, history.alerts_raised)
        return RaiseAlert(
            alert_id=str(uuid.uuid5(ALERT_NAMESPACE, key)), alert_key=key, ward_code=ward_code,
            tier=listing.tier_now, items=listing.items, reason=listing.reason, transfer_from=transfer_from,
        )


def alert_key(child_id: str, ward_code: str, tier: str | None, items: tuple[int, ...], reason: str,
              episode: int) -> str:
    """The same situation always gives the same key, so a replayed or re-emitted change raises nothing.

    ``episode`` is how many alerts the child had before this one: the same listing after a closed case and
    the cool-down is a new alert, a replay of the same listing is not.
    """
    text = "|".join([child_id, ward_code, tier or "-", ",".join(map(str, items)), reason, str(episode)])
    return hashlib.sha256(text.encode()).hexdigest()
