"""報告書 (issue 16): evaluation's weekly and period reports, as HQ (every one) and ward staff (their ward's own
weekly documents) download them. Read-only; the reports arrive from evaluation over evaluation.reports.v1 (the
worker stores them). Every list and download is audited, refusals too."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse

from services.casework.domain.access import WARDS, Permission
from services.casework.domain.reports import (
    FORMAT_LABELS,
    ReportInfo,
    content_type,
    download_filename,
    kind_text,
    may_list,
    may_read,
    period_text,
    scope_text,
    size_text,
)
from services.casework.entrypoints.web_common import AppContainer, Auth, deny, page_context, templates
from services.casework.service_layer import audit_log
from services.casework.service_layer.audit_log import Actor

router = APIRouter(tags=["reports"])


def _listed(container: Any, auth: Any, detail: str) -> list[ReportInfo]:
    """Every report for HQ; a ward user's own ward's documents only."""
    if not may_list(auth.principal):
        raise deny(container, auth, "view_reports", Permission.DOWNLOAD_REPORTS.value)
    with container.sessions.begin() as session:
        rows: list[ReportInfo] = [info for info in container.reports.list(session) if may_read(auth.principal, info)]
        audit_log.append(session, Actor.of(auth.principal, auth.client), "view_reports", container.clock(),
                         ward_code=auth.principal.ward_scope(), detail=f"{detail} rows={len(rows)}")
    return rows


def _view(info: ReportInfo) -> dict[str, Any]:
    return {"report_id": info.report_id, "kind": info.kind, "kind_label": kind_text(info),
            "period_label": info.period_label, "period": period_text(info), "scope": info.scope,
            "scope_label": scope_text(info.scope, WARDS), "generated_at": info.generated_at.isoformat(),
            "format": info.format, "format_label": FORMAT_LABELS.get(info.format, info.format), "size": info.size,
            "size_label": size_text(info.size), "sha256": info.sha256, "filename": download_filename(info),
            "download": f"/reports/{info.report_id}/download"}


@router.get("/api/reports", summary="Evaluation's reports, newest first (HQ)")
def api_reports(auth: Auth, container: AppContainer) -> list[dict[str, Any]]:
    return [_view(info) for info in _listed(container, auth, "api")]


@router.get("/reports", response_class=HTMLResponse, summary="報告書: weekly and evaluation reports page (HQ)")
def reports_page(request: Request, auth: Auth, container: AppContainer) -> Response:
    rows = [_view(info) for info in _listed(container, auth, "page")]
    return templates.TemplateResponse(request, "reports.html", page_context(request, auth, reports=rows))


@router.get("/reports/{report_id}/download",
            summary="Download one report, HTML or PDF (HQ: any; ward staff: their ward's own; audited)")
def download(report_id: str, auth: Auth, container: AppContainer) -> Response:
    if not may_list(auth.principal):
        raise deny(container, auth, "download_report", Permission.DOWNLOAD_REPORTS.value)
    with container.sessions.begin() as session:
        document = container.reports.get(session, report_id[:64])
    if document is None or not may_read(auth.principal, document.info):
        if auth.principal.can(Permission.DOWNLOAD_REPORTS):
            raise HTTPException(status_code=404, detail="指定された報告書はありません")
        # a ward user: the same refusal whether the report exists or belongs to another ward (or the city)
        raise deny(container, auth, "download_report", "other_ward", target=report_id[:64])
    with container.sessions.begin() as session:
        audit_log.append(session, Actor.of(auth.principal, auth.client), "download_report", container.clock(),
                         target=document.info.report_id, ward_code=auth.principal.ward_scope(),
                         detail=f"{document.info.kind} {document.info.period_label} {document.info.format}")
    info = document.info
    return Response(document.content, media_type=content_type(info.format), headers={
        "Content-Disposition": f'attachment; filename="{download_filename(info)}"',
        "Cache-Control": "no-store", "X-Report-SHA256": info.sha256})
