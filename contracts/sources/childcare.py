"""子ども・子育て支援 (nursery and kindergarten use)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.sources._common import AtenaNo, JpDate, SourceData

SYSTEM = "childcare"
TOPIC = "source.childcare.v1"
LABEL_JA = "子ども・子育て支援"


class EnrolmentStarted(SourceData):
    child_atena_no: AtenaNo
    facility_kind: Literal["licensed_nursery", "unlicensed_nursery", "kindergarten", "certified_center"] = Field(
        description="認可保育所 / 認可外保育施設 / 幼稚園 / 認定こども園")
    facility_code: str = Field(max_length=20, description="施設コード")
    start_date: JpDate


class EnrolmentEnded(SourceData):
    child_atena_no: AtenaNo
    facility_code: str = Field(max_length=20)
    end_date: JpDate


EVENT_TYPES: dict[str, type[SourceData]] = {
    "childcare.enrolment.started": EnrolmentStarted,
    "childcare.enrolment.ended": EnrolmentEnded,
}
