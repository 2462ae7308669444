"""特別児童扶養手当 (special child-rearing allowance, for children with disabilities)."""

from __future__ import annotations

from contracts.sources._common import SourceData
from contracts.sources._eligibility import EligibilityEnded, EligibilityStarted

SYSTEM = "special_child_allowance"
TOPIC = "source.special-child-allowance.v1"
LABEL_JA = "特別児童扶養手当"

EVENT_TYPES: dict[str, type[SourceData]] = {
    "special_child_allowance.eligibility.started": EligibilityStarted,
    "special_child_allowance.eligibility.ended": EligibilityEnded,
}
