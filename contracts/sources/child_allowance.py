"""児童手当・児童扶養手当 (child allowance and child-rearing allowance for single parents)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.sources._common import SourceData
from contracts.sources._eligibility import EligibilityEnded, EligibilityStarted

SYSTEM = "child_allowance"
TOPIC = "source.child-allowance.v1"
LABEL_JA = "児童手当・児童扶養手当"


class AllowanceStarted(EligibilityStarted):
    allowance: Literal["jido_teate", "jido_fuyo_teate"] = Field(
        description="jido_teate=児童手当, jido_fuyo_teate=児童扶養手当")


class AllowanceEnded(EligibilityEnded):
    allowance: Literal["jido_teate", "jido_fuyo_teate"]


EVENT_TYPES: dict[str, type[SourceData]] = {
    "child_allowance.eligibility.started": AllowanceStarted,
    "child_allowance.eligibility.ended": AllowanceEnded,
}
