"""報告書 (issue 16) as HQ sees it: the page lists evaluation's reports stored by the worker, downloads return the
exact bytes with the right type and file name, every list and download is audited, and everyone else is refused
(403, audited) — over SQLite and PostgreSQL (the document is a bytea there)."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from contracts.envelope import envelope_dict
from contracts.topics.evaluation_reports import EVENT_TYPE, EvaluationReportV1
from services.casework.adapters.orm import AuditRecord
from services.casework.bootstrap import Container
from services.casework.service_layer.worker import WorkerHandlers
from tests.integration.casework.web import add_user, client_for

pytestmark = pytest.mark.integration
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40  # binary: survives the base64 and the database unchanged
HTML = "<!doctype html><title>週次報告書</title>".encode()


def publish(container: Container, data: bytes, report_id: str, kind: str, period: str, fmt: str,
            scope: str = "city") -> None:
    at = datetime(2026, 11, 9, 6, 0, tzinfo=UTC)
    report = EvaluationReportV1.of(data, report_id=report_id, kind=kind, period_label=period,  # type: ignore[arg-type]
                                   fmt=fmt, generated_at=at, scope=scope)  # type: ignore[arg-type]
    raw = json.dumps(envelope_dict(data=report, type_=EVENT_TYPE, source="/tsunagu/evaluation",
                                   subject=report_id, event_id=report_id, time=at)).encode()
    assert WorkerHandlers(container).process("report", raw, where="test").outcome == "stored"


def audit(container: Container, action: str) -> list[AuditRecord]:
    with container.sessions() as s:
        return list(s.scalars(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.seq)))


def test_hq_lists_and_downloads_the_reports_and_each_download_is_audited(container: Container) -> None:
    publish(container, PDF, "rep-weekly-pdf", "weekly", "2026-11-02", "pdf")
    publish(container, HTML, "rep-fy-html", "period", "FY2026", "html")
    add_user(container, "hq", "hq_admin")
    hq = client_for(container, "hq")

    page = hq.get("/reports")
    assert page.status_code == 200
    assert '<a href="/reports">報告書</a>' in page.text  # the header menu
    rows = {m.group(1): re.sub(r"<[^>]+>", " ", m.group(0))
            for m in re.finditer(r'<tr data-report="([^"]+)">.*?</tr>', page.text, re.S)}
    assert set(rows) == {"rep-weekly-pdf", "rep-fy-html"}
    weekly = rows["rep-weekly-pdf"]
    for text in ("週次報告書", "2026-11-02 の週", "全市", "2026-11-09 15:00", "PDF", "10 KB"):
        assert text in weekly, text
    assert "評価・検証報告" in rows["rep-fy-html"] and "FY2026" in rows["rep-fy-html"]

    got = hq.get("/reports/rep-weekly-pdf/download")
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"] == 'attachment; filename="weekly-2026-11-02-city.pdf"'
    assert got.headers["x-report-sha256"] == hashlib.sha256(PDF).hexdigest()
    html = hq.get("/reports/rep-fy-html/download")
    assert html.content == HTML and html.headers["content-type"].startswith("text/html")
    assert 'filename="evaluation-FY2026-city.html"' in html.headers["content-disposition"]
    assert hq.get("/api/reports").json()[0]["download"].startswith("/reports/")
    assert hq.get("/reports/nope/download").status_code == 404

    downloads = audit(container, "download_report")
    assert [(d.target, d.outcome) for d in downloads] == [("rep-weekly-pdf", "ok"), ("rep-fy-html", "ok")]
    assert len(audit(container, "view_reports")) == 2  # the page and the API


def test_ward_staff_list_and_download_their_wards_weekly_documents_only(container: Container) -> None:
    publish(container, PDF, "weekly-city", "weekly", "2026-11-02", "pdf")
    publish(container, HTML, "weekly-east", "weekly", "2026-11-02", "html", scope="40131")
    publish(container, HTML, "weekly-hakata", "weekly", "2026-11-02", "html", scope="40132")
    publish(container, HTML, "interim", "period", "interim-2026-04-01..2026-09-30", "html")
    add_user(container, "hq", "hq_admin")
    add_user(container, "east", "ward_staff", "40131")
    east = client_for(container, "east")

    page = east.get("/reports")
    assert page.status_code == 200 and '<a href="/reports">報告書</a>' in page.text
    assert re.findall(r'<tr data-report="([^"]+)">', page.text) == ["weekly-east"]
    assert "東区" in page.text
    assert [r["report_id"] for r in east.get("/api/reports").json()] == ["weekly-east"]
    got = east.get("/reports/weekly-east/download")
    assert got.status_code == 200 and got.content == HTML
    assert 'filename="weekly-2026-11-02-40131.html"' in got.headers["content-disposition"]
    # Another ward's, the city's, the interim report, and one that does not exist: the same audited refusal.
    for other in ("weekly-hakata", "weekly-city", "interim", "nope"):
        assert east.get(f"/reports/{other}/download").status_code == 403, other
    assert [(d.target, d.outcome) for d in audit(container, "download_report")] == [
        ("weekly-east", "ok"), ("weekly-hakata", "denied"), ("weekly-city", "denied"), ("interim", "denied"),
        ("nope", "denied")]
    # HQ still sees every one, the interim report named as such.
    hq_page = client_for(container, "hq").get("/reports").text
    assert len(re.findall(r'<tr data-report="', hq_page)) == 4
    assert "評価・検証報告（中間報告）" in hq_page and "2026-04-01..2026-09-30" in hq_page


@pytest.mark.parametrize(("role", "ward"), [("privacy_officer", None), ("child_guidance", None), ("analyst", None)])
def test_everyone_but_hq_and_ward_staff_is_refused_and_the_refusal_is_audited(container: Container, role: str,
                                                               ward: str | None) -> None:
    publish(container, PDF, "rep-1", "weekly", "2026-11-02", "pdf")
    add_user(container, "someone", role, ward)
    client = client_for(container, "someone")
    assert client.get("/reports/rep-1/download").status_code == 403
    assert client.get("/reports").status_code == 403
    assert client.get("/api/reports").status_code == 403
    assert 'href="/reports"' not in client.get("/me").text  # no menu link either
    denied = [(d.outcome, d.detail) for d in audit(container, "download_report")]
    assert denied == [("denied", "download_reports")]
    assert not any(d.outcome == "ok" for d in audit(container, "view_reports"))
