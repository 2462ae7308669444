"""生活保護 (public assistance): household cases starting and ending."""

from __future__ import annotations

from pydantic import Field

from contracts.sources._common import AtenaNo, HouseholdNo, JpDate, SourceData

SYSTEM = "public_assistance"
TOPIC = "source.public-assistance.v1"
LABEL_JA = "生活保護"


class CaseStarted(SourceData):
    case_no: str = Field(min_length=1, max_length=20, description="ケース番号")
    household_no: HouseholdNo
    head_atena_no: AtenaNo = Field(description="宛名番号 of the head of the assisted household")
    start_date: JpDate = Field(description="保護開始日")


class CaseEnded(SourceData):
    case_no: str = Field(min_length=1, max_length=20, description="ケース番号")
    household_no: HouseholdNo
    head_atena_no: AtenaNo
    end_date: JpDate = Field(description="保護廃止日")


EVENT_TYPES: dict[str, type[SourceData]] = {
    "public_assistance.case.started": CaseStarted,
    "public_assistance.case.ended": CaseEnded,
}
