"""Publishing a generated report to evaluation.reports.v1, so that HQ can download it from casework's ward UI.

The CLI writes the file, then hands its bytes here; the message is built by the contract (size and sha256 checked,
a document too large for a message refused with ``ReportTooLarge``) and sent by the publisher bootstrap built
(adapters/report_publisher.py). Reports aggregate and carry no personal data (docs/evaluation.md).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from contracts.topics.evaluation_reports import CITY, EvaluationReportV1, ReportFormat, ReportKind


class ReportPublisher(Protocol):
    def publish(self, report: EvaluationReportV1) -> None:
        """Sends the report and returns once the broker acknowledged it (raises otherwise)."""
        ...

    def close(self) -> None: ...


def publish_report(publisher: ReportPublisher, data: bytes, *, kind: ReportKind, period_label: str,
                   fmt: ReportFormat, generated_at: datetime, scope: str = CITY,
                   report_id: str | None = None) -> EvaluationReportV1:
    """``report_id``: a scheduled report's deterministic id (domain/schedule.py); an on-demand one gets a new uuid."""
    report = EvaluationReportV1.of(data, report_id=report_id or str(uuid.uuid4()), kind=kind,
                                   period_label=period_label, fmt=fmt, generated_at=generated_at, scope=scope)
    publisher.publish(report)
    return report
