"""児童生徒管理 (校務系): student basic information. Often without 宛名番号; arrives as CSV media.

Required are only what a record cannot be linked without: the student id and school code (the record's key),
the birth date (a name alone cannot tell namesakes apart, and the date says the child's age) and a name in at
least one script (kanji or kana). Everything else — 性別, the other script of the name, 学年, 組, 住所, 宛名番号 —
is left blank by real 校務系 exports often enough that requiring it would lose children; a blank field is
"not known" to linkage, neither agreeing nor disagreeing.
"""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field, model_validator

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


# Optional fields a school export may leave blank: omitted, null, or an empty (or all-space) string all mean
# "not known". An empty string is what a spreadsheet's empty cell becomes when it is turned into JSON.
BLANKABLE = ("name_kanji", "name_kana", "sex", "grade", "class_name", "atena_no", "address")
BLANK = {"type": "string", "pattern": "^\\s*$", "description": "blank: not known"}
NOT_BLANK = {"type": "string", "pattern": "\\S"}


def _schema(schema: dict[str, Any]) -> None:
    schema["anyOf"] = [{"required": [n], "properties": {n: NOT_BLANK}} for n in ("name_kanji", "name_kana")]
    schema["description"] = ("Required: student_id, school_code (the key), birth_date (namesakes, age) and a name in "
                             "kanji or kana. Optional fields may be left out, null or an empty string: 'not known'.")
    for name in BLANKABLE:
        members = schema["properties"][name]["anyOf"]
        members.insert(len(members) - 1, dict(BLANK))  # before null: the value's own type stays first


class StudentRecord(SourceData):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, json_schema_extra=_schema)

    student_id: StudentId
    school_code: SchoolCode
    name_kanji: NameKanji | None = Field(None, description="氏名 (漢字); this or name_kana is required")
    name_kana: NameKana | None = Field(None, description="氏名 (カナ); this or name_kanji is required")
    birth_date: JpDate
    sex: Sex | None = Field(None, description="性別: 1=男, 2=女; blank = not known")
    grade: int | None = Field(None, ge=1, le=9, description="学年 (小1=1 … 中3=9 in 義務教育学校 numbering)")
    class_name: str | None = Field(None, max_length=10, description="組")
    atena_no: AtenaNo | None = Field(None, description="宛名番号 when the school system holds it")
    address: str | None = Field(None, max_length=200, description="住所")

    @model_validator(mode="before")
    @classmethod
    def _blanks_are_not_known(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {k: None if k in BLANKABLE and isinstance(v, str) and not v.strip() else v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _a_name(self) -> StudentRecord:
        if not self.name_kanji and not self.name_kana:
            raise ValueError("a name is required: 氏名 (name_kanji) or 氏名カナ (name_kana)")
        return self


class StudentLeft(SourceData):
    student_id: StudentId
    school_code: SchoolCode
    left_date: JpDate


EVENT_TYPES: dict[str, type[SourceData]] = {
    "school_students.student.registered": StudentRecord,
    "school_students.student.changed": StudentRecord,
    "school_students.student.left": StudentLeft,
}
