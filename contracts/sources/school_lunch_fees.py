"""給食費 (school-lunch fees): arrears, by 宛名番号 or student id."""

from __future__ import annotations

from pydantic import Field, model_validator

from contracts.sources._common import AtenaNo, JpDate, SchoolCode, SourceData, StudentId

SYSTEM = "school_lunch_fees"
TOPIC = "source.school-lunch-fees.v1"
LABEL_JA = "給食費"


class ArrearsReported(SourceData):
    atena_no: AtenaNo | None = Field(None, description="宛名番号 of the child (either this or student_id)")
    student_id: StudentId | None = None
    school_code: SchoolCode | None = None
    as_of: JpDate = Field(description="基準日")
    months_in_arrears: int = Field(ge=0, le=36, description="滞納月数 (0 = cleared)")
    amount_yen: int = Field(ge=0, le=10_000_000, description="滞納額 (円)")

    @model_validator(mode="after")
    def _has_a_key(self) -> ArrearsReported:
        if not self.atena_no and not self.student_id:
            raise ValueError("either atena_no or student_id is required")
        return self


EVENT_TYPES: dict[str, type[SourceData]] = {
    "school_lunch_fees.arrears.reported": ArrearsReported,
}
