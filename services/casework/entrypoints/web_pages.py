"""Server-rendered Japanese pages for ward staff: login, inbox, child page with the case's forms."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from contracts.sources.cadence import SILENCE_ALLOWED_S
from services.casework.domain.access import AccessDenied, Permission
from services.casework.domain.freshness import FreshnessRow, freshness_rows
from services.casework.domain.items import SIGNAL_LABELS
from services.casework.domain.workflow import (
    APPROACH_METHODS,
    CLOSE_OUTCOMES,
    DIVISIONS,
    Action,
    CaseState,
    StepCommand,
    allowed_actions,
    results_for,
)
from services.casework.entrypoints import web_api
from services.casework.entrypoints.web_common import (
    SOURCE_LABELS,
    AppContainer,
    Auth,
    AuthCsrf,
    deny,
    page_context,
    templates,
)
from services.casework.entrypoints.web_security import PRE_LOGIN_COOKIE, clear_session_cookie, session_token
from services.casework.service_layer import audit_log, cases, survey, views
from services.casework.service_layer import auth as auth_service
from services.casework.service_layer.audit_log import Actor

router = APIRouter(tags=["pages"])
DETAIL_FIELDS = ("approach_method", "lead_division", "hearing_notes", "support_content", "support_notes")


@router.get("/login", response_class=HTMLResponse, summary="Login page")
def login_page(request: Request, container: AppContainer, error: str | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(request, "login.html", {"login_csrf": token, "error": error})
    response.set_cookie(PRE_LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/login",
                        secure=container.settings.secure_cookies)
    return response


@router.post("/login", summary="Log in from the form (double-submit token against login CSRF)")
def login_form(request: Request, container: AppContainer, username: Annotated[str, Form(max_length=64)],
               password: Annotated[str, Form(max_length=256)],
               login_csrf: Annotated[str, Form(max_length=64)],
               totp: Annotated[str, Form(max_length=16)] = "") -> Response:
    cookie = request.cookies.get(PRE_LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), login_csrf.encode()):
        return templates.TemplateResponse(request, "login.html", {"login_csrf": "", "error":
                                          "画面の有効期限が切れました。もう一度ログインしてください"}, status_code=400)
    response = RedirectResponse("/", status_code=303)
    try:
        web_api.login(container, request, response, username, password, totp or None)
    except HTTPException as exc:
        token = secrets.token_urlsafe(24)
        page = templates.TemplateResponse(request, "login.html", {"login_csrf": token, "error": exc.detail},
                                          status_code=401)
        page.set_cookie(PRE_LOGIN_COOKIE, token, httponly=True, samesite="strict", path="/login",
                        secure=container.settings.secure_cookies)
        return page
    response.delete_cookie(PRE_LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout", summary="Log out from the page header")
def logout_form(request: Request, auth: AuthCsrf, container: AppContainer) -> Response:
    with container.sessions.begin() as session:
        auth_service.end_session(session, session_token(request), container.settings.session_secret)
        audit_log.append(session, Actor.of(auth.principal, auth.client), "logout", container.clock())
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, container.settings)
    return response


@router.get("/", response_class=HTMLResponse, summary="The ward's alert inbox (live)")
def inbox_page(request: Request, auth: Auth, container: AppContainer, tier: str | None = None,
               item: str | None = None, status: str | None = None, division: str | None = None,
               age_min: str | None = None, age_max: str | None = None, signal: str | None = None) -> Response:
    if not auth.principal.can(Permission.VIEW_CASES):
        return RedirectResponse(_home_of(auth.principal.role.value), status_code=303)
    flt = _filter(tier, item, status, division, age_min, age_max, signal)
    with container.sessions.begin() as session:
        rows = views.inbox(session, auth.principal, container.clock().date(), flt)
        audit_log.append(session, Actor.of(auth.principal, auth.client), "list_alerts", container.clock(),
                         ward_code=auth.principal.ward_scope(), detail=f"page rows={len(rows)}")
        pending = survey.pending_for(session, auth.principal, container.settings.session_secret, container.clock())
        freshness = _freshness(container, session)
    query = str(request.url.query)
    return templates.TemplateResponse(request, "inbox.html", page_context(
        request, auth, rows=rows, flt=flt, query=query, divisions=DIVISIONS,
        live=flt == views.InboxFilter(), survey_pending=pending, freshness=freshness))


def _freshness(container: AppContainer, session: Any, systems: list[str] | None = None) -> list[FreshnessRow]:
    """データの鮮度 for every source system (or ``systems``), from ingest's reports (domain/freshness.py)."""
    return freshness_rows(container.source_status.load(session), container.clock(), SOURCE_LABELS,
                          SILENCE_ALLOWED_S, systems)


def _evidence_systems(flags: list[Any] | None, signals: list[Any] | None) -> list[str]:
    """The source systems behind a child's items and signals, in the catalogue's order."""
    used = {e.get("source_system") for f in [*(flags or []), *(signals or [])] if isinstance(f, dict)
            for e in f.get("evidence") or [] if isinstance(e, dict)}
    return [s for s in SOURCE_LABELS if s in used]


def _home_of(role: str) -> str:
    return {"privacy_officer": "/audit", "hq_admin": "/admin/users"}.get(role, "/me")


@router.get("/me", response_class=HTMLResponse, summary="Who am I (for roles without case access)")
def me_page(request: Request, auth: Auth) -> Response:
    return templates.TemplateResponse(request, "me.html", page_context(request, auth))


@router.get("/export.csv", summary="CSV export of the filtered target list")
def export_page(auth: Auth, container: AppContainer, tier: str | None = None, item: str | None = None,
                status: str | None = None, division: str | None = None, age_min: str | None = None,
                age_max: str | None = None, signal: str | None = None) -> Response:
    return web_api.export(container, auth, _filter(tier, item, status, division, age_min, age_max, signal))


def _int(value: str | None, low: int, high: int) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    number = int(value)
    return number if low <= number <= high else None


def _filter(tier: str | None, item: str | None, status: str | None, division: str | None, age_min: str | None,
            age_max: str | None, signal: str | None = None) -> views.InboxFilter:
    return views.InboxFilter(tier=tier or None, item=_int(item, 1, 19), status=status or None,
                             division=division or None, age_min=_int(age_min, 0, 25), age_max=_int(age_max, 0, 25),
                             signal=signal if signal in SIGNAL_LABELS else None)


@router.get("/children/{child_id}", response_class=HTMLResponse, summary="Child page: flags, evidence, case")
def child_page(child_id: str, request: Request, auth: Auth, container: AppContainer,
               error: str | None = None) -> Response:
    try:
        with container.uow() as uow:
            view = cases.visible_child(uow, auth.principal, child_id)
            audit_log.append(uow.session, Actor.of(auth.principal, auth.client), "view_child", container.clock(),
                             child_id=child_id, ward_code=view.child.ward_code, detail="page")
            every_source = _freshness(container, uow.session)
            uow.commit()
    except AccessDenied as exc:
        raise deny(container, auth, "view_child", str(exc), child_id=child_id) from None
    case = view.open_alert
    forms = _forms(CaseState(case.state)) if case and auth.principal.can(Permission.RECORD_STEP) else []
    age = views.age_on(view.child.birth_date, container.clock().date())
    actors = _usernames(container, {s.actor_id for steps in view.steps.values() for s in steps})
    behind = _evidence_systems(view.child.flags, view.child.signals)
    return templates.TemplateResponse(request, "child.html", page_context(
        request, auth, view=view, case=case, forms=forms, age=age, error=error, actors=actors,
        freshness_behind=[r for r in every_source if r.system in behind],
        freshness_silent=[r for r in every_source if r.silent and r.system not in behind]))


def _usernames(container: AppContainer, user_ids: set[str]) -> dict[str, str]:
    from sqlalchemy import select

    from services.casework.adapters.orm import User

    with container.sessions() as session:
        rows = session.execute(select(User.user_id, User.username).where(User.user_id.in_(user_ids))).tuples()
        return {user_id: username for user_id, username in rows}


def _forms(state: CaseState) -> list[dict[str, Any]]:
    forms = []
    for action in allowed_actions(state):
        fields: list[tuple[str, str, tuple[str, ...] | None]] = []
        if action is Action.CONFER:
            fields = [("approach_method", "アプローチ方法", APPROACH_METHODS), ("lead_division", "主担当課", DIVISIONS)]
        elif action is Action.APPROACH:
            fields = [("hearing_notes", "聞き取り内容（生活状況・困りごと）", None)]
        elif action is Action.PLAN:
            fields = [("support_content", "支援内容", None)]
        elif action is Action.SUPPORT:
            fields = [("support_notes", "実施内容", None)]
        results = CLOSE_OUTCOMES if action is Action.CLOSE else results_for(state, action)
        forms.append({"action": action.value, "results": results, "fields": fields})
    return forms


@router.post("/cases/{alert_id}/steps", summary="Record a workflow step from the child page's form")
async def step_form(alert_id: str, request: Request, auth: AuthCsrf, container: AppContainer) -> Response:
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        action = Action(values.get("action", ""))
    except ValueError:
        raise HTTPException(status_code=400, detail="記録する段階が不明です") from None
    command = StepCommand(action=action, result=values.get("result", ""), reason=values.get("reason", ""),
                          details={k: values[k] for k in DETAIL_FIELDS if k in values})
    try:
        done = web_api.record_step(container, auth, alert_id, command)
    except HTTPException as exc:
        if exc.status_code != 409:
            raise
        child_id = _child_of(container, alert_id)
        return RedirectResponse(f"/children/{child_id}?error={_q(str(exc.detail))}#case", status_code=303)
    return RedirectResponse(f"/children/{done['child_id']}#case", status_code=303)


def _child_of(container: AppContainer, alert_id: str) -> str:
    with container.uow() as uow:
        alert = uow.cases.alert(alert_id)
        return alert.child_id if alert else ""


def _q(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
