"""就学援助 (school-attendance aid)."""

from __future__ import annotations

from contracts.sources._common import SourceData
from contracts.sources._eligibility import EligibilityEnded, EligibilityStarted

SYSTEM = "school_aid"
TOPIC = "source.school-aid.v1"
LABEL_JA = "就学援助"

EVENT_TYPES: dict[str, type[SourceData]] = {
    "school_aid.aid.started": EligibilityStarted,
    "school_aid.aid.ended": EligibilityEnded,
}
