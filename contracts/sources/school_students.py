"""児童生徒管理 (校務系): student basic information. Often without 宛名番号; arrives as CSV media."""

from __future__ import annotations

from pydantic import Field

from contracts.sources._common import (
    AtenaNo,
    JpDate,
    NameKana,
    NameKanji,
    SchoolCode,
    Sex,
    SourceData,
    StudentId,
)

SYSTEM = "school_students"
TOPIC = "source.school-students.v1"
LABEL_JA = "児童生徒管理"


class StudentRecord(SourceData):
    student_id: StudentId
    school_code: SchoolCode
    name_kanji: NameKanji
    name_kana: NameKana
    birth_date: JpDate
    sex: Sex
    grade: int = Field(ge=1, le=9, description="学年 (小1=1 … 中3=9 in 義務教育学校 numbering)")
    class_name: str | None = Field(None, max_length=10, description="組")
    atena_no: AtenaNo | None = Field(None, description="宛名番号 when the school system holds it")
    address: str | None = Field(None, max_length=200, description="住所")


class StudentLeft(SourceData):
    student_id: StudentId
    school_code: SchoolCode
    left_date: JpDate


EVENT_TYPES: dict[str, type[SourceData]] = {
    "school_students.student.registered": StudentRecord,
    "school_students.student.changed": StudentRecord,
    "school_students.student.left": StudentLeft,
}
