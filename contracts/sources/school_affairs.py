"""校務支援 (校務系): attendance (absences, late arrivals) and the school health checkup."""

from __future__ import annotations

from pydantic import Field

from contracts.sources._common import JpDate, SchoolCode, SourceData, StudentId

SYSTEM = "school_affairs"
TOPIC = "source.school-affairs.v1"
LABEL_JA = "校務支援"


class AttendanceReported(SourceData):
    student_id: StudentId
    school_code: SchoolCode
    school_year: int = Field(ge=2000, le=2100, description="年度 (April–March), western year of April")
    month: int = Field(ge=1, le=12, description="月")
    absence_days: int = Field(ge=0, le=31, description="欠席日数 in the month")
    late_arrivals: int = Field(ge=0, le=31, description="遅刻回数 in the month")
    school_days: int | None = Field(None, ge=0, le=31, description="授業日数 in the month")


class HealthCheckupRecorded(SourceData):
    student_id: StudentId
    school_code: SchoolCode
    checkup_date: JpDate
    height_cm: float = Field(gt=50, lt=220, description="身長 (cm)")
    weight_kg: float = Field(gt=5, lt=200, description="体重 (kg)")


EVENT_TYPES: dict[str, type[SourceData]] = {
    "school_affairs.attendance.reported": AttendanceReported,
    "school_affairs.health_checkup.recorded": HealthCheckupRecorded,
}
