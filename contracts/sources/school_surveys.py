"""生活習慣調査・学習定着度調査 (校務系): survey answers and scores."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from contracts.sources._common import JpDate, SchoolCode, SourceData, StudentId

SYSTEM = "school_surveys"
TOPIC = "source.school-surveys.v1"
LABEL_JA = "生活習慣調査・学習定着度調査"


class SurveyAnswered(SourceData):
    student_id: StudentId
    school_code: SchoolCode
    survey: Literal["lifestyle", "learning"] = Field(description="lifestyle=生活習慣調査, learning=学習定着度調査")
    answered_date: JpDate
    score: float | None = Field(None, ge=0, le=100, description="学習定着度 score (0–100)")
    skips_breakfast: bool | None = Field(None, description="朝食を食べない")
    distress: bool | None = Field(None, description="本人の困り感・希死念慮の回答 (item 14)")


EVENT_TYPES: dict[str, type[SourceData]] = {
    "school_surveys.survey.answered": SurveyAnswered,
}
