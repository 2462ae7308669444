"""The started/ended shape shared by allowance, subsidy and certificate systems."""

from __future__ import annotations

from pydantic import Field

from contracts.sources._common import AtenaNo, JpDate, SourceData


class EligibilityStarted(SourceData):
    entitlement_id: str = Field(min_length=1, max_length=30, description="受給者番号 / 証番号")
    recipient_atena_no: AtenaNo = Field(description="宛名番号 of the recipient (person or guardian)")
    covered_atena_nos: list[AtenaNo] = Field(
        default_factory=list, max_length=20, description="宛名番号 of the children covered, if any")
    start_date: JpDate


class EligibilityEnded(SourceData):
    entitlement_id: str = Field(min_length=1, max_length=30)
    recipient_atena_no: AtenaNo
    end_date: JpDate
