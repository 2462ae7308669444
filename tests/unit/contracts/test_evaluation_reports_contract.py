"""evaluation.reports.v1: the message checks its document (size, sha256, base64), the catalogue raises the topic's
message size for it, and the ACLs let evaluation write and casework read it."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from contracts.topics import CATALOGUE
from contracts.topics.evaluation_reports import (
    MAX_DOCUMENT_BYTES,
    MAX_MESSAGE_BYTES,
    TOPIC,
    EvaluationReportV1,
    ReportTooLarge,
)
from deploy.kafka.acls import ACCESS, rules

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 9, 6, 0, tzinfo=UTC)


def test_a_report_round_trips_and_checks_its_document() -> None:
    report = EvaluationReportV1.of("<html>週次</html>".encode(), report_id="r1", kind="weekly",
                                   period_label="2026-11-02", fmt="html", generated_at=NOW)
    again = EvaluationReportV1.model_validate_json(report.model_dump_json())
    assert again.document() == "<html>週次</html>".encode() and again.scope == "city"
    bad = report.model_dump()
    for change in ({"sha256": "0" * 64}, {"size": report.size + 1},
                   {"document_b64": base64.b64encode(b"other").decode()}, {"document_b64": "not base64!"},
                   {"scope": "Hakata"}, {"kind": "what-if"}, {"format": "docx"}, {"period_label": "../x"}):
        with pytest.raises(ValidationError):
            EvaluationReportV1.model_validate({**bad, **change})


def test_a_document_over_the_limit_is_refused() -> None:
    with pytest.raises(ReportTooLarge):
        EvaluationReportV1.of(b"x" * (MAX_DOCUMENT_BYTES + 1), report_id="r2", kind="period", period_label="FY2026",
                              fmt="pdf", generated_at=NOW)
    assert MAX_DOCUMENT_BYTES * 4 / 3 + 4096 < MAX_MESSAGE_BYTES  # base64 and the envelope fit


def test_the_catalogue_creates_the_topic_with_its_larger_message_size() -> None:
    assert TOPIC in CATALOGUE
    assert TOPIC.config()["max.message.bytes"] == str(MAX_MESSAGE_BYTES)
    assert TOPIC.config()["cleanup.policy"] == "delete"


def test_evaluation_writes_the_reports_and_casework_reads_them() -> None:
    by_name = {a.principal: rules(a) for a in ACCESS}
    assert ("TOPIC", TOPIC.name, "LITERAL", "WRITE") in by_name["evaluation"]
    assert ("TOPIC", TOPIC.name, "LITERAL", "READ") in by_name["casework"]
    others = {name for name, granted in by_name.items() if any(r[1] == TOPIC.name for r in granted)}
    assert others == {"evaluation", "casework"}
