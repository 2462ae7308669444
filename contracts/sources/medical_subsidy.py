"""公費医療 (public medical subsidies, including 障がい者医療費助成)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.sources._common import SourceData
from contracts.sources._eligibility import EligibilityEnded, EligibilityStarted

SYSTEM = "medical_subsidy"
TOPIC = "source.medical-subsidy.v1"
LABEL_JA = "公費医療"

SubsidyKind = Literal["child_medical", "single_parent_medical", "disability_medical"]


class SubsidyStarted(EligibilityStarted):
    subsidy: SubsidyKind = Field(description="子ども医療費助成 / ひとり親家庭等医療費助成 / 障がい者医療費助成")


class SubsidyEnded(EligibilityEnded):
    subsidy: SubsidyKind


EVENT_TYPES: dict[str, type[SourceData]] = {
    "medical_subsidy.eligibility.started": SubsidyStarted,
    "medical_subsidy.eligibility.ended": SubsidyEnded,
}
