"""When a change in a child's flags becomes an alert for a ward (プッシュ型支援の対象リスト).

Pure: the caller passes in what the database knows about the child and the current time.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

TIER_RANK: dict[str | None, int] = {None: 0, "見守り": 1, "予防": 2, "重点": 3}
ALERT_NAMESPACE = uuid.UUID("5b0f3f9e-4c1e-4b7e-9a57-2f0a3c6d7e11")


@dataclass(frozen=True)
class FlagsChange:
    """One scoring.flags.v1 message, reduced to what the policy needs."""

    child_id: str
    ward_code: str | None
    as_of: str
    tier_before: str | None
    tier_after: str | None
    items_before: frozenset[int]
    items_after: frozenset[int]
    supported_by_child_guidance: bool = False

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


@dataclass(frozen=True)
class ChildHistory:
    """What casework already knows about the child."""

    open_case: OpenCase | None = None
    last_alert_at: datetime | None = None
    last_alert_tier: str | None = None


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
class NoAlert:
    why: str  # no_trigger / cooldown / child_guidance / no_ward


Decision = RaiseAlert | UpdateOpenCase | NoAlert


@dataclass(frozen=True)
class AlertPolicy:
    alert_items: frozenset[int] = field(default_factory=lambda: frozenset(range(1, 20)))
    cooldown: timedelta = timedelta(days=90)

    def decide(self, change: FlagsChange, history: ChildHistory, now: datetime) -> Decision:
        if not change.ward_code:
            return NoAlert("no_ward")
        case = history.open_case
        if case is not None and case.ward_code != change.ward_code:
            # The family moved: the new ward takes the case over with everything the child has now.
            return self._raise(change, "moved_ward", transfer_from=case.alert_id)
        if case is not None:
            cleared = change.items_before - change.items_after
            tier_changed = change.tier_after != change.tier_before and change.tier_after is not None
            if not change.gained_items and not cleared and not tier_changed:
                return NoAlert("no_trigger")
            # The open alert follows the child: new and cleared items, and its tier when it rises or falls (an
            # alert raised at 見守り whose child is now 重点 must say 重点 in the inbox).
            return UpdateOpenCase(case.alert_id, tuple(sorted(change.gained_items)), tuple(sorted(cleared)),
                                  change.tier_after, tier_changed)
        reason = self._trigger(change)
        if reason is None:
            return NoAlert("no_trigger")
        if change.supported_by_child_guidance:
            return NoAlert("child_guidance")
        if self._cooling_down(change, history, now):
            return NoAlert("cooldown")
        return self._raise(change, reason)

    def _trigger(self, change: FlagsChange) -> str | None:
        if change.entered_tier:
            return "entered_tier"
        if change.gained_items & self.alert_items:
            return "high_weight_flag"
        return None

    def _cooling_down(self, change: FlagsChange, history: ChildHistory, now: datetime) -> bool:
        if history.last_alert_at is None or now - history.last_alert_at >= self.cooldown:
            return False
        # Within the cool-down only an escalation above the last alert's tier is news.
        return TIER_RANK[change.tier_after] <= TIER_RANK[history.last_alert_tier]

    @staticmethod
    def _raise(change: FlagsChange, reason: str, transfer_from: str | None = None) -> RaiseAlert:
        items = tuple(sorted(change.items_after))
        key = alert_key(change.child_id, change.ward_code or "", change.as_of, change.tier_after, items, reason)
        return RaiseAlert(
            alert_id=str(uuid.uuid5(ALERT_NAMESPACE, key)), alert_key=key, ward_code=change.ward_code or "",
            tier=change.tier_after, items=items, reason=reason, transfer_from=transfer_from,
        )


def alert_key(child_id: str, ward_code: str, as_of: str, tier: str | None, items: tuple[int, ...],
              reason: str) -> str:
    """The same situation always gives the same key, so a replayed or re-emitted change raises nothing."""
    text = "|".join([child_id, ward_code, as_of, tier or "-", ",".join(map(str, items)), reason])
    return hashlib.sha256(text.encode()).hexdigest()
