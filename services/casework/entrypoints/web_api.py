"""The JSON API (every UI action has one; see /docs for the OpenAPI description)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.casework.domain.access import AccessDenied, Permission
from services.casework.domain.items import SIGNAL_CODE_PATTERN
from services.casework.domain.workflow import Action, InvalidTransition, StepCommand
from services.casework.entrypoints.web_common import AppContainer, Auth, AuthCsrf, deny, require
from services.casework.entrypoints.web_security import (
    clear_session_cookie,
    client_of,
    session_token,
    set_session_cookie,
)
from services.casework.service_layer import audit_log, cases, views
from services.casework.service_layer import auth as auth_service
from services.casework.service_layer.audit_log import Actor

router = APIRouter(prefix="/api", tags=["api"])


class Credentials(BaseModel):
    username: str = Field(max_length=64, examples=["higashi"])
    password: str = Field(max_length=256)
    totp: str | None = Field(None, max_length=16, description="The 6-digit code of the authenticator app: required "
                             "for accounts with an enrolled second factor (HQ, privacy officer)")


class SessionStarted(BaseModel):
    csrf_token: str = Field(description="Send it as the X-CSRF-Token header on every POST/PUT/DELETE")
    username: str
    role: str
    ward_code: str | None


class StepRequest(BaseModel):
    action: Action = Field(description="Workflow step, e.g. 二次スクリーニング")
    result: str = Field(max_length=64, examples=["要アプローチ"])
    reason: str = Field(max_length=2000, description="Why (required)")
    details: dict[str, str] = Field(default_factory=dict, examples=[{"approach_method": "訪問"}])


def login(container: AppContainer, request: Request, response: Response, username: str,
          password: str, totp: str | None = None) -> auth_service.NewSession:
    now = container.clock()
    client = client_of(request)
    settings = container.settings
    policy = auth_service.SecondFactorPolicy(roles=frozenset(settings.totp_roles),
                                             enrolment_required=settings.production)
    failure: auth_service.AuthError | None = None
    with container.sessions.begin() as session:  # commits the failed-login counter too
        try:
            ok = auth_service.authenticate(session, username, password, now, client=client,
                                           secret=settings.session_secret, totp=totp, policy=policy,
                                           box=container.totp_box, training=settings.training)
        except auth_service.AuthError as exc:
            failure = exc
            actor = Actor("anonymous", "anonymous", client) if exc.user is None else \
                Actor(exc.user.user_id, exc.user.role, client)
            audit_log.append(session, actor, "login", now, outcome="failed",
                             target=f"username={auth_service.attempted_name(username)}", detail=exc.reason)
        else:
            new = auth_service.start_session(session, ok.user, now, settings.session_secret)
            audit_log.append(session, Actor.of(new.principal, client), "login", now, ward_code=ok.user.ward_code,
                             detail=ok.factors)
    if failure is not None:
        container.metrics.logins.labels(outcome="failed").inc()
        raise HTTPException(status_code=401, detail=str(failure))
    container.metrics.logins.labels(outcome="ok").inc()
    set_session_cookie(response, new.token, settings)
    return new


@router.post("/session", response_model=SessionStarted, summary="Log in (sets the session cookie)")
def api_login(body: Credentials, request: Request, response: Response, container: AppContainer) -> SessionStarted:
    new = login(container, request, response, body.username, body.password, body.totp)
    p = new.principal
    return SessionStarted(csrf_token=new.csrf_token, username=p.username, role=p.role.value, ward_code=p.ward_code)


@router.delete("/session", status_code=204, summary="Log out")
def api_logout(request: Request, auth: AuthCsrf, container: AppContainer) -> Response:
    with container.sessions.begin() as session:
        auth_service.end_session(session, session_token(request), container.settings.session_secret)
        audit_log.append(session, Actor.of(auth.principal, auth.client), "logout", container.clock())
    response = Response(status_code=204)
    clear_session_cookie(response, container.settings)
    return response


SIGNAL_QUERY = Query(None, pattern=SIGNAL_CODE_PATTERN,
                     description="行政とのつながり: a connection signal's code (unenrolled, known_to_guidance, …)")


def inbox_filter(tier: str | None = None, item: int | None = Query(None, ge=1, le=19), status: str | None = None,
                 division: str | None = None, age_min: int | None = Query(None, ge=0, le=25),
                 age_max: int | None = Query(None, ge=0, le=25), signal: str | None = None) -> views.InboxFilter:
    return views.InboxFilter(tier=tier or None, item=item, status=status or None, division=division or None,
                             age_min=age_min, age_max=age_max, signal=signal or None)


@router.get("/alerts", summary="The user's ward's alerts (filters: tier, item, status, division, age, signal)")
def api_alerts(auth: Auth, container: AppContainer, tier: str | None = None,
               item: int | None = Query(None, ge=1, le=19), status: str | None = None,
               division: str | None = None, age_min: int | None = Query(None, ge=0, le=25),
               age_max: int | None = Query(None, ge=0, le=25),
               signal: str | None = SIGNAL_QUERY) -> list[dict[str, Any]]:
    require(container, auth, Permission.VIEW_CASES, "list_alerts")
    flt = inbox_filter(tier, item, status, division, age_min, age_max, signal)
    with container.sessions.begin() as session:
        rows = views.inbox(session, auth.principal, container.clock().date(), flt)
        audit_log.append(session, Actor.of(auth.principal, auth.client), "list_alerts", container.clock(),
                         ward_code=auth.principal.ward_scope(), detail=f"api rows={len(rows)}")
    return [r.api() for r in rows]


@router.get("/children/{child_id}", summary="A child: profile, current flags and connection signals with evidence, "
                                            "alerts and timeline")
def api_child(child_id: str, auth: Auth, container: AppContainer) -> dict[str, Any]:
    try:
        with container.uow() as uow:
            view = cases.visible_child(uow, auth.principal, child_id)
            audit_log.append(uow.session, Actor.of(auth.principal, auth.client), "view_child", container.clock(),
                             child_id=child_id, ward_code=view.child.ward_code, detail="api")
            uow.commit()
            return cases.child_api(view)
    except AccessDenied as exc:
        raise deny(container, auth, "view_child", str(exc), child_id=child_id) from None


@router.post("/cases/{alert_id}/steps", summary="Record a workflow step (who/when from the session)")
def api_step(alert_id: str, body: StepRequest, auth: AuthCsrf, container: AppContainer) -> dict[str, Any]:
    command = StepCommand(action=body.action, result=body.result, reason=body.reason, details=body.details)
    return record_step(container, auth, alert_id, command)


def record_step(container: AppContainer, auth: Any, alert_id: str, command: StepCommand) -> dict[str, Any]:
    now = container.clock()
    try:
        with container.uow() as uow:
            alert = cases.case_for_step(uow, auth.principal, alert_id)
            step = cases.record_step(uow, auth.principal, alert, command, now,
                                     container.settings.topic("casework.outcomes.v1"))
            audit_log.append(uow.session, Actor.of(auth.principal, auth.client), "record_step", now,
                             child_id=alert.child_id, target=alert_id, ward_code=alert.ward_code,
                             detail=f"{step.action.value}:{step.result}")
            uow.commit()
            return {"alert_id": alert_id, "child_id": alert.child_id, "status": step.to_state.value,
                    "from_state": step.from_state.value}
    except AccessDenied as exc:
        raise deny(container, auth, "record_step", str(exc), target=alert_id) from None
    except InvalidTransition as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None


@router.get("/export.csv", summary="CSV of the ward's target list (same filters as /api/alerts)",
            response_class=Response)
def api_export(auth: Auth, container: AppContainer, tier: str | None = None,
               item: int | None = Query(None, ge=1, le=19), status: str | None = None,
               division: str | None = None, age_min: int | None = Query(None, ge=0, le=25),
               age_max: int | None = Query(None, ge=0, le=25), signal: str | None = SIGNAL_QUERY) -> Response:
    return export(container, auth, inbox_filter(tier, item, status, division, age_min, age_max, signal))


def export(container: AppContainer, auth: Any, flt: views.InboxFilter) -> Response:
    require(container, auth, Permission.EXPORT, "export_csv")
    now = container.clock()
    with container.sessions.begin() as session:
        rows = views.inbox(session, auth.principal, now.date(), flt)
        audit_log.append(session, Actor.of(auth.principal, auth.client), "export_csv", now,
                         ward_code=auth.principal.ward_scope(), detail=f"rows={len(rows)} filter={flt}")
    body = "\ufeff" + views.export_csv(rows)  # BOM: spreadsheet software then reads UTF-8 correctly
    filename = f"target-list-{auth.principal.ward_scope() or 'all'}-{now:%Y%m%d}.csv"
    return Response(body.encode(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def json_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)
