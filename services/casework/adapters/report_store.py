"""Stores and loads evaluation's reports (domain/reports.py) in the ``evaluation_reports`` table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from services.casework.adapters.orm import EvaluationReportRow
from services.casework.domain.reports import ReportDocument, ReportInfo


def _info(row: EvaluationReportRow) -> ReportInfo:
    return ReportInfo(report_id=row.report_id, kind=row.kind, period_label=row.period_label, scope=row.scope,
                      generated_at=row.generated_at, format=row.format, size=row.size, sha256=row.sha256)


class SqlReportStore:
    """Satisfies service_layer/ports.py's ReportStore."""

    def save(self, session: Session, document: ReportDocument, received_at: datetime) -> bool:
        """Stores a report once (a redelivered message is the same report id); False when it was already there."""
        info = document.info
        if session.get(EvaluationReportRow, info.report_id) is not None:
            return False
        session.add(EvaluationReportRow(
            report_id=info.report_id, kind=info.kind, period_label=info.period_label, scope=info.scope,
            generated_at=info.generated_at, format=info.format, size=info.size, sha256=info.sha256,
            content=document.content, received_at=received_at))
        return True

    def list(self, session: Session) -> list[ReportInfo]:
        rows = session.scalars(select(EvaluationReportRow).order_by(
            EvaluationReportRow.generated_at.desc(), EvaluationReportRow.kind, EvaluationReportRow.format))
        return [_info(row) for row in rows]

    def get(self, session: Session, report_id: str) -> ReportDocument | None:
        row = session.scalars(select(EvaluationReportRow).options(undefer(EvaluationReportRow.content))
                              .where(EvaluationReportRow.report_id == report_id)).first()
        return None if row is None else ReportDocument(_info(row), row.content)
