"""提供台帳 and 仮名加工データの作成 (HQ): the extract register, and the page where an HQ user states purpose and
period, sees the k-anonymity report and downloads the files. Producing goes through ``privacy_extract.produce`` —
the same use case as the ``extract`` command — so checks, register and audit are the same (docs/privacy.md).

開示請求 (privacy officer): the disclosure requests with each service's answer (or 未回答 and the deadline), a form
for a new request, and the report — through ``privacy_disclosure``, the same use cases as the ``disclose`` command."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from services.casework.domain.access import Permission
from services.casework.entrypoints.web_common import (
    JST,
    AppContainer,
    Auth,
    AuthCsrf,
    page_context,
    require,
    templates,
)
from services.casework.entrypoints.web_security import Authenticated
from services.casework.service_layer import audit_log, privacy_disclosure, privacy_extract
from services.casework.service_layer.audit_log import Actor
from services.casework.service_layer.privacy_files import DICTIONARY, EXCLUDED, MANIFEST
from services.casework.service_layer.privacy_requests import Refused

router = APIRouter(tags=["privacy"])
FILE_TYPES = {".csv": "text/csv; charset=utf-8", ".parquet": "application/vnd.apache.parquet",
              ".json": "application/json"}
TABLE_LABELS = {"children": "児童", "items": "該当項目の推移", "alerts": "アラート", "steps": "ケースの手順"}
QI_LABELS = {"ward_code": "区", "age_band": "年齢区分", "sex": "性別", "household_type": "世帯類型"}
FILE_LABELS = {"children": "児童", "items": "該当項目の推移", "alerts": "アラート", "steps": "ケースの手順",
               "data_dictionary": "データ辞書", "k_anonymity": "k-匿名性の報告", "manifest": "目録（SHA-256付き）"}


class ExtractRequest(BaseModel):
    purpose: str = Field("", max_length=2000, description="利用目的 (required)")
    period_from: str = Field("", max_length=20, description="first day, YYYY-MM-DD")
    period_to: str = Field("", max_length=20, description="last day, YYYY-MM-DD")
    recipient: str = Field("", max_length=2000, description="the analysis body it is handed to")


def _register(container: Any, auth: Any, detail: str) -> list[dict[str, Any]]:
    require(container, auth, Permission.MANAGE_EXTRACT_KEYS, "view_extracts")
    with container.sessions.begin() as session:
        rows = privacy_extract.register(session)
        audit_log.append(session, Actor.of(auth.principal, auth.client), "view_extracts", container.clock(),
                         detail=detail)
    return rows


def _produce(container: Any, auth: Authenticated, body: ExtractRequest) -> privacy_extract.ExtractResult:
    """Checks the role first (403, audited by ``require``), then the request itself (refusals audited by produce)."""
    require(container, auth, Permission.MASKED_EXTRACT, "masked_extract")
    return privacy_extract.produce(
        container, username=auth.principal.username, purpose=body.purpose, period_from=body.period_from,
        period_to=body.period_to, out=container.settings.extract_dir, recipient=body.recipient, client=auth.client)


def _form_defaults(container: Any) -> dict[str, str]:
    """The last full fiscal year (April–March, Japan time) as the suggested period."""
    today = container.clock().astimezone(JST).date()
    year = today.year - 1 if today.month >= 4 else today.year - 2
    return {"purpose": "", "period_from": f"{year}-04-01", "period_to": f"{year + 1}-03-31", "recipient": ""}


def _page(request: Request, auth: Authenticated, container: Any, *, form: dict[str, str] | None = None,
          error: str | None = None, status: int = 200) -> Response:
    rows = _register(container, auth, "page")
    return templates.TemplateResponse(request, "privacy_extracts.html", page_context(
        request, auth, extracts=rows, form=form or _form_defaults(container), error=error, table_labels=TABLE_LABELS,
        max_days=privacy_extract.MAX_PERIOD.days, k=privacy_extract.K), status_code=status)


@router.get("/api/privacy/extracts", summary="The masked-extract register (HQ, privacy officer)")
def api_extracts(auth: Auth, container: AppContainer) -> list[dict[str, Any]]:
    return _register(container, auth, "api")


@router.post("/api/privacy/extracts", status_code=201,
             summary="Produce a masked extract for a stated purpose and period (HQ; same use case as the command)")
def api_produce(body: ExtractRequest, auth: AuthCsrf, container: AppContainer) -> dict[str, Any]:
    try:
        result = _produce(container, auth, body)
    except Refused as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    return {"extract_id": result.extract_id, "key_id": result.key_id, "row_counts": result.row_counts,
            "k_anonymity": result.k_report, "page": f"/privacy/extracts/{result.extract_id}"}


@router.get("/privacy/extracts", response_class=HTMLResponse, summary="Masked-extract register page")
def extracts_page(request: Request, auth: Auth, container: AppContainer) -> Response:
    return _page(request, auth, container)


@router.post("/privacy/extracts", summary="Produce a masked extract from the page (HQ)")
async def produce_from_page(request: Request, auth: AuthCsrf, container: AppContainer) -> Response:
    form = await request.form()
    values = {name: str(form.get(name) or "")[:2000] for name in ("purpose", "period_from", "period_to", "recipient")}
    try:
        # tens of seconds at city scale: in the thread pool, so the event loop (live inboxes, logins) keeps going
        result = await run_in_threadpool(_produce, container, auth, ExtractRequest(**values))
    except Refused as exc:
        return _page(request, auth, container, form=values, error=str(exc), status=400)
    return RedirectResponse(f"/privacy/extracts/{quote(result.extract_id)}?created=1", status_code=303)


@router.get("/privacy/extracts/{extract_id}", response_class=HTMLResponse,
            summary="One extract: purpose, period, row counts, k-anonymity report, files (HQ, privacy officer)")
def extract_page(extract_id: str, request: Request, auth: Auth, container: AppContainer,
                 created: int = 0) -> Response:
    require(container, auth, Permission.MANAGE_EXTRACT_KEYS, "view_extracts")
    with container.sessions.begin() as session:
        try:
            entry = privacy_extract.detail(session, extract_id[:64])
        except Refused:
            entry = None
        audit_log.append(session, Actor.of(auth.principal, auth.client), "view_extracts", container.clock(),
                         target=entry["extract_id"] if entry else None,
                         outcome="ok" if entry else "denied", detail="detail" if entry else "unknown_extract")
    if entry is None:
        raise HTTPException(status_code=404, detail="指定された抽出は登録されていません")
    files = [{"name": name, "label": FILE_LABELS.get(name.rsplit(".", 1)[0], name), "sha256": digest,
              "href": f"/privacy/extracts/{entry['extract_id']}/files/{quote(name)}"}
             for name, digest in sorted((entry["files"] or {}).items())]
    files.append({"name": MANIFEST, "label": FILE_LABELS["manifest"], "sha256": "",
                  "href": f"/privacy/extracts/{entry['extract_id']}/files/{MANIFEST}"})
    return templates.TemplateResponse(request, "privacy_extract.html", page_context(
        request, auth, e=entry, files=files, created=bool(created), dictionary=DICTIONARY, excluded=EXCLUDED,
        table_labels=TABLE_LABELS, qi_labels=QI_LABELS,
        downloads=auth.principal.can(Permission.MASKED_EXTRACT)))


@router.get("/privacy/extracts/{extract_id}/files/{name}", summary="Download one file of an extract (HQ; audited)")
def download(extract_id: str, name: str, auth: Auth, container: AppContainer) -> Response:
    require(container, auth, Permission.MASKED_EXTRACT, "download_extract")
    try:
        path = privacy_extract.extract_file(container, username=auth.principal.username, extract_id=extract_id[:64],
                                            name=name[:64], base=container.settings.extract_dir, client=auth.client)
    except Refused as exc:
        status = 404 if exc.code in {"unknown_extract", "unknown_file", "file_not_here"} else 409
        raise HTTPException(status_code=status, detail=str(exc)) from None
    return FileResponse(path, media_type=FILE_TYPES.get(path.suffix, "application/octet-stream"),
                        filename=f"{path.parent.name}-{path.name}")



# --- 開示請求 (privacy officer): requests, which services have answered, the report (docs/privacy.md) -------------
def _disclosures(request: Request, auth: Authenticated, container: Any, *, form: dict[str, str] | None = None,
                 error: str | None = None, created: str | None = None, status: int = 200) -> Response:
    require(container, auth, Permission.DISCLOSE, "view_disclosures")
    rows = privacy_disclosure.requests(container, username=auth.principal.username, client=auth.client)
    with container.sessions.begin() as session:
        audit_log.append(session, Actor.of(auth.principal, auth.client), "view_disclosures", container.clock(),
                         detail="page")
    return templates.TemplateResponse(request, "privacy_disclosures.html", page_context(
        request, auth, requests=rows, form=form or {"child_id": "", "request_ref": ""}, error=error,
        created=created, wait_minutes=container.settings.disclosure_reply_wait_minutes), status_code=status)


@router.get("/privacy/disclosures", response_class=HTMLResponse,
            summary="Disclosure requests and which services have answered (privacy officer)")
def disclosures_page(request: Request, auth: Auth, container: AppContainer, created: str = "") -> Response:
    return _disclosures(request, auth, container, created=created[:36] or None)


@router.post("/privacy/disclosures", summary="A new disclosure request: linkage and scoring are asked (audited)")
async def request_disclosure(request: Request, auth: AuthCsrf, container: AppContainer) -> Response:
    require(container, auth, Permission.DISCLOSE, "disclosure_request")
    form = await request.form()
    values = {name: str(form.get(name) or "")[:200] for name in ("child_id", "request_ref")}
    try:
        asked = await run_in_threadpool(
            lambda: privacy_disclosure.request(container, username=auth.principal.username, child_id=values["child_id"],
                                               request_ref=values["request_ref"], client=auth.client))
    except Refused as exc:
        return _disclosures(request, auth, container, form=values, error=str(exc), status=400)
    return RedirectResponse(f"/privacy/disclosures?created={quote(asked.request_id)}", status_code=303)


@router.get("/privacy/disclosures/{request_id}/report",
            summary="The disclosure report of a request, with the answers received so far (HTML download; audited)")
def disclosure_report(request_id: str, auth: Auth, container: AppContainer) -> Response:
    require(container, auth, Permission.DISCLOSE, "disclosure")
    try:
        result = privacy_disclosure.disclose(container, username=auth.principal.username, request_id=request_id[:36],
                                             out=container.settings.extract_dir / "disclosures", pdf=False,
                                             client=auth.client)
    except Refused as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    return FileResponse(result.html, media_type="text/html; charset=utf-8", filename=result.html.name)
