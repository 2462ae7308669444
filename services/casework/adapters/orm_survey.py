"""利用者アンケート (issue 16, domain/survey.py): rounds opened by HQ and one answer per respondent and round.

Imported by ``orm.py`` so that the tables are on its ``Base`` (migration 0006_survey).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from services.casework.adapters.orm import Base, UTCDateTime


class SurveyRound(Base):
    __tablename__ = "survey_rounds"
    round_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    opens_on: Mapped[str] = mapped_column(String(10))  # ISO dates, JST, inclusive
    closes_on: Mapped[str] = mapped_column(String(10))
    created_by: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # closed early by HQ


class SurveyAnswer(Base):
    """One per respondent and round; ``respondent`` is an HMAC of the user id (no user id, no child data)."""

    __tablename__ = "survey_answers"
    round_id: Mapped[str] = mapped_column(ForeignKey("survey_rounds.round_id"), primary_key=True)
    respondent: Mapped[str] = mapped_column(String(64), primary_key=True)
    ward_code: Mapped[str | None] = mapped_column(String(8))
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_on: Mapped[str] = mapped_column(String(10))  # the day only: the audit trail has the time
