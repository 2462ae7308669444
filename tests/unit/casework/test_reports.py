"""報告書 in casework: who may download, the file name and type, and the store fed by the worker (SQLite, the
migrations including 0009): stored once per report id, listed without the document, invalid messages skipped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contracts.envelope import envelope_dict
from contracts.topics.evaluation_reports import EVENT_TYPE, EvaluationReportV1
from services.casework.bootstrap import Container, bootstrap
from services.casework.config import CaseworkSettings
from services.casework.domain.access import Permission, Principal, Role
from services.casework.domain.reports import (
    ReportInfo,
    content_type,
    download_filename,
    kind_text,
    may_list,
    may_read,
    period_text,
    size_text,
)
from services.casework.service_layer.worker import WorkerHandlers

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 9, 6, 0, tzinfo=UTC)


def report_message(data: bytes = b"%PDF-1.7 weekly", *, report_id: str = "rep-1", kind: str = "weekly",
                   period: str = "2026-11-02", fmt: str = "pdf") -> bytes:
    report = EvaluationReportV1.of(data, report_id=report_id, kind=kind, period_label=period,  # type: ignore[arg-type]
                                   fmt=fmt, generated_at=NOW)  # type: ignore[arg-type]
    return json.dumps(envelope_dict(data=report, type_=EVENT_TYPE, source="/tsunagu/evaluation",
                                    subject=report_id, event_id=report_id, time=NOW)).encode()


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    c = bootstrap(CaseworkSettings(database_url=f"sqlite:///{tmp_path}/cw.db", environment="test",
                                   session_secret="s" * 32), clock=lambda: NOW)
    yield c
    c.engine.dispose()


def test_hq_reads_every_report_and_ward_staff_only_their_wards_own() -> None:
    def info(scope: str, kind: str = "weekly") -> ReportInfo:
        return ReportInfo("r", kind, "2026-11-02", scope, NOW, "pdf", 10, "0" * 64)

    allowed = {role for role in Role
               if Principal("u", "u", role, "40131" if role == Role.WARD_STAFF else None).can(
                   Permission.DOWNLOAD_REPORTS)}
    assert allowed == {Role.HQ_ADMIN}
    hq = Principal("h", "h", Role.HQ_ADMIN, None)
    east = Principal("e", "e", Role.WARD_STAFF, "40131")
    assert all(may_read(hq, info(scope)) for scope in ("city", "40131", "40132"))
    assert may_list(east) and may_read(east, info("40131"))
    assert not may_read(east, info("40132")) and not may_read(east, info("city"))
    assert not may_read(east, info("city", "period"))
    for role in (Role.CHILD_GUIDANCE, Role.PRIVACY_OFFICER, Role.ANALYST, Role.OPERATOR):
        someone = Principal("x", "x", role, "40131")
        assert not may_list(someone) and not may_read(someone, info("40131")), role


def test_interim_and_final_reports_are_named_as_such() -> None:
    interim = ReportInfo("r", "period", "interim-2026-04-01..2026-09-30", "city", NOW, "pdf", 10, "0" * 64)
    assert (kind_text(interim), period_text(interim)) == ("評価・検証報告（中間報告）", "2026-04-01..2026-09-30")
    final = ReportInfo("r", "period", "final-FY2026", "city", NOW, "html", 10, "0" * 64)
    assert (kind_text(final), period_text(final)) == ("評価・検証報告（最終報告）", "FY2026")
    assert download_filename(final) == "evaluation-final-FY2026-city.html"
    plain = ReportInfo("r", "period", "2026-04-01..2026-11-08", "city", NOW, "html", 10, "0" * 64)
    assert (kind_text(plain), period_text(plain)) == ("評価・検証報告", "2026-04-01..2026-11-08")


def test_file_names_are_plain_ascii_and_types_match_the_format() -> None:
    info = ReportInfo("r", "weekly", "2026-11-02", "city", NOW, "pdf", 930_042, "0" * 64)
    assert download_filename(info) == "weekly-2026-11-02-city.pdf"
    odd = ReportInfo("r", "period", 'FY2026"; x=..', "40131", NOW, "html", 10, "0" * 64)
    assert download_filename(odd) == "evaluation-FY2026___x_-40131.html"  # no quote can end the header value
    assert content_type("pdf") == "application/pdf" and content_type("html").startswith("text/html")
    assert content_type("exe") == "application/octet-stream"
    assert (size_text(512), size_text(356_316), size_text(930_042 * 2)) == ("512 B", "348 KB", "1.8 MB")


def test_the_worker_stores_a_report_once_and_lists_it_without_its_document(container: Container) -> None:
    worker = WorkerHandlers(container)
    assert worker.process("report", report_message(), where="t").outcome == "stored"
    assert worker.process("report", report_message(), where="t").outcome == "duplicate"  # redelivery
    worker.process("report", report_message(b"<html>FY</html>", report_id="rep-2", kind="period", period="FY2026",
                                            fmt="html"), where="t")
    with container.sessions() as session:
        listed = container.reports.list(session)
        assert {r.report_id for r in listed} == {"rep-1", "rep-2"}
        document = container.reports.get(session, "rep-1")
        assert document is not None and document.content == b"%PDF-1.7 weekly"
        assert document.info.size == len(b"%PDF-1.7 weekly") and document.info.generated_at == NOW
        assert container.reports.get(session, "missing") is None


def test_a_tampered_or_broken_report_message_is_skipped(container: Container) -> None:
    worker = WorkerHandlers(container)
    good = json.loads(report_message())
    good["data"]["sha256"] = "f" * 64
    assert worker.process("report", json.dumps(good).encode(), where="t").outcome == "skipped:invalid_schema"
    assert worker.process("report", b"{not json", where="t").outcome == "skipped:invalid_schema"
    assert worker.process("report", None, where="t").outcome == "skipped:empty_or_oversized"
    with container.sessions() as session:
        assert container.reports.list(session) == []
