"""The extract register page (HQ and privacy officers): every masked extract, its purpose, counts, k-anonymity and
whether its key is destroyed. Read-only; extracts are produced with the CLI (docs/privacy.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from services.casework.domain.access import Permission
from services.casework.entrypoints.web_common import AppContainer, Auth, page_context, require, templates
from services.casework.service_layer import audit_log, privacy_extract
from services.casework.service_layer.audit_log import Actor

router = APIRouter(tags=["privacy"])


def _register(container: Any, auth: Any, detail: str) -> list[dict[str, Any]]:
    require(container, auth, Permission.MANAGE_EXTRACT_KEYS, "view_extracts")
    with container.sessions.begin() as session:
        rows = privacy_extract.register(session)
        audit_log.append(session, Actor.of(auth.principal, auth.client), "view_extracts", container.clock(),
                         detail=detail)
    return rows


@router.get("/api/privacy/extracts", summary="The masked-extract register (HQ, privacy officer)")
def api_extracts(auth: Auth, container: AppContainer) -> list[dict[str, Any]]:
    return _register(container, auth, "api")


@router.get("/privacy/extracts", response_class=HTMLResponse, summary="Masked-extract register page")
def extracts_page(request: Request, auth: Auth, container: AppContainer) -> Response:
    rows = _register(container, auth, "page")
    return templates.TemplateResponse(request, "privacy_extracts.html", page_context(request, auth, extracts=rows))
