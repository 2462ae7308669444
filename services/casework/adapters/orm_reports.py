"""報告書 (issue 16): evaluation's reports from evaluation.reports.v1, stored whole for HQ to download.

Imported by ``orm.py`` so that the table is on its ``Base`` (migration 0009_evaluation_reports). No personal data:
the reports aggregate (docs/evaluation.md). The document is deferred: listing the reports never loads it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, deferred, mapped_column

from services.casework.adapters.orm import Base, UTCDateTime


class EvaluationReportRow(Base):
    __tablename__ = "evaluation_reports"
    report_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    period_label: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(8))
    generated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    format: Mapped[str] = mapped_column(String(8))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = deferred(mapped_column(LargeBinary))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
