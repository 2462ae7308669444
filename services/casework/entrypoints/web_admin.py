"""HQ and privacy-officer pages: users, linkage's clerical review, the audit trail (each with its API)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from contracts.topics.linkage_review import DECISION_TOPIC
from services.casework.adapters.orm import User
from services.casework.domain.access import USER_GRANTS, Permission, Role, may_manage
from services.casework.domain.workflow import DIVISIONS
from services.casework.entrypoints.web_common import (
    AppContainer,
    Auth,
    AuthCsrf,
    deny,
    page_context,
    require,
    templates,
)
from services.casework.service_layer import audit_log, reviews
from services.casework.service_layer import auth as auth_service
from services.casework.service_layer.audit_log import Actor

router = APIRouter(tags=["admin"])


class NewUser(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(min_length=10, max_length=256)
    role: Role
    ward_code: str | None = Field(None, examples=["40131"])
    division: str | None = Field(None, examples=["子育て支援課"])


class Decision(BaseModel):
    decision: str = Field(description="must_link / cannot_link / split")
    reason: str = Field(max_length=500)


def _users(container: AppContainer) -> list[dict[str, Any]]:
    with container.sessions() as session:
        return [{"user_id": u.user_id, "username": u.username, "role": u.role, "ward_code": u.ward_code,
                 "division": u.division, "active": u.active, "created_at": u.created_at.isoformat()}
                for u in session.scalars(select(User).order_by(User.created_at))]


def _create_user(container: AppContainer, auth: Any, body: NewUser) -> str:
    if not may_manage(auth.principal.role, body.role):
        raise deny(container, auth, "create_user", "grant_role", target=f"role={body.role.value}")
    now = container.clock()
    try:
        with container.sessions.begin() as session:
            user = auth_service.create_user(session, username=body.username, password=body.password,
                                            role=body.role.value, ward_code=body.ward_code or None,
                                            division=body.division or None, now=now,
                                            training=container.settings.training)
            audit_log.append(session, Actor.of(auth.principal, auth.client), "create_user", now,
                             target=user.user_id, ward_code=user.ward_code, detail=f"role={user.role}")
            return user.user_id
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None


def _set_active(container: AppContainer, auth: Any, user_id: str, active: bool) -> None:
    now = container.clock()
    action = "activate_user" if active else "deactivate_user"
    with container.sessions.begin() as session:
        user = session.get(User, user_id)
        if user is None:
            raise HTTPException(status_code=404, detail="ユーザーが見つかりません")
        if user.user_id == auth.principal.user_id:
            raise HTTPException(status_code=409, detail="自分自身は停止できません")
        target_role = Role(user.role)
        if may_manage(auth.principal.role, target_role):
            user.active = active
            if not active:
                auth_service.end_sessions_of(session, user_id)
            audit_log.append(session, Actor.of(auth.principal, auth.client), action, now, target=user_id)
            return
    raise deny(container, auth, action, "grant_role", target=user_id)


@router.get("/api/users", summary="Users (HQ admin)")
def api_users(auth: Auth, container: AppContainer) -> list[dict[str, Any]]:
    require(container, auth, Permission.ADMIN_USERS, "list_users")
    return _users(container)


@router.post("/api/users", status_code=201, summary="Create a user (HQ admin)")
def api_create_user(body: NewUser, auth: AuthCsrf, container: AppContainer) -> dict[str, str]:
    require(container, auth, Permission.ADMIN_USERS, "create_user")
    return {"user_id": _create_user(container, auth, body)}


@router.post("/api/users/{user_id}/active", summary="Activate or deactivate a user (HQ admin)")
def api_user_active(user_id: str, active: bool, auth: AuthCsrf, container: AppContainer) -> dict[str, bool]:
    require(container, auth, Permission.ADMIN_USERS, "deactivate_user")
    _set_active(container, auth, user_id, active)
    return {"active": active}


@router.get("/admin/users", response_class=HTMLResponse, summary="User administration page")
def users_page(request: Request, auth: Auth, container: AppContainer, error: str | None = None) -> Response:
    require(container, auth, Permission.ADMIN_USERS, "list_users")
    return templates.TemplateResponse(request, "users.html", page_context(
        request, auth, users=_users(container), roles=sorted(USER_GRANTS.get(auth.principal.role, ())),
        divisions=DIVISIONS, error=error))


@router.post("/admin/users", summary="Create a user from the admin page")
def users_form(auth: AuthCsrf, container: AppContainer, username: Annotated[str, Form(max_length=64)],
               password: Annotated[str, Form(max_length=256)], role: Annotated[str, Form()],
               ward_code: Annotated[str, Form()] = "", division: Annotated[str, Form()] = "") -> Response:
    require(container, auth, Permission.ADMIN_USERS, "create_user")
    try:
        body = NewUser(username=username, password=password, role=Role(role), ward_code=ward_code or None,
                       division=division or None)
        _create_user(container, auth, body)
    except (ValueError, HTTPException) as exc:
        message = (exc.detail if isinstance(exc, HTTPException)
                   else "入力内容を確認してください（パスワードは10文字以上）")
        from urllib.parse import quote

        return RedirectResponse(f"/admin/users?error={quote(str(message))}", status_code=303)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/active", summary="Activate or deactivate a user from the admin page")
def users_active_form(user_id: str, auth: AuthCsrf, container: AppContainer,
                      active: Annotated[str, Form()]) -> Response:
    require(container, auth, Permission.ADMIN_USERS, "deactivate_user")
    _set_active(container, auth, user_id, active == "1")
    return RedirectResponse("/admin/users", status_code=303)


# --- clerical review (linkage.review.v1 → linkage.decisions.v1) ---------------------------------------------

@router.get("/api/reviews", summary="Open clerical-review cases from linkage")
def api_reviews(auth: Auth, container: AppContainer) -> list[dict[str, Any]]:
    require(container, auth, Permission.REVIEW_LINKAGE, "list_reviews")
    with container.uow() as uow:
        return [{"review_id": r.review_id, "received_at": r.received_at.isoformat(), **r.payload}
                for r in reviews.open_reviews(uow)]


def _decide(container: AppContainer, auth: Any, review_id: str, decision: str, reason: str) -> None:
    now = container.clock()
    try:
        with container.uow() as uow:
            reviews.decide_review(review_id, decision, reason, user_id=auth.principal.user_id, uow=uow,
                                  now=now, decisions_topic=container.settings.topic(DECISION_TOPIC.name))
            audit_log.append(uow.session, Actor.of(auth.principal, auth.client), "review_decision", now,
                             target=review_id, detail=decision)
            uow.commit()
    except reviews.ReviewError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None


@router.post("/api/reviews/{review_id}/decision", summary="Decide a clerical-review case (to linkage.decisions.v1)")
def api_decide(review_id: str, body: Decision, auth: AuthCsrf, container: AppContainer) -> dict[str, str]:
    require(container, auth, Permission.REVIEW_LINKAGE, "review_decision")
    _decide(container, auth, review_id, body.decision, body.reason)
    return {"review_id": review_id, "status": "decided"}


@router.get("/reviews", response_class=HTMLResponse, summary="Clerical-review page")
def reviews_page(request: Request, auth: Auth, container: AppContainer, error: str | None = None) -> Response:
    require(container, auth, Permission.REVIEW_LINKAGE, "list_reviews")
    with container.uow() as uow:
        items = [{"review_id": r.review_id, **r.payload} for r in reviews.open_reviews(uow)]
    return templates.TemplateResponse(request, "reviews.html", page_context(
        request, auth, reviews=items, labels=reviews.DECISION_LABELS, error=error))


@router.post("/reviews/{review_id}/decision", summary="Decide a clerical-review case from the page")
def reviews_form(review_id: str, auth: AuthCsrf, container: AppContainer, decision: Annotated[str, Form()],
                 reason: Annotated[str, Form(max_length=500)]) -> Response:
    require(container, auth, Permission.REVIEW_LINKAGE, "review_decision")
    try:
        _decide(container, auth, review_id, decision, reason)
    except HTTPException as exc:
        from urllib.parse import quote

        return RedirectResponse(f"/reviews?error={quote(str(exc.detail))}", status_code=303)
    return RedirectResponse("/reviews", status_code=303)


# --- audit trail (privacy officer) ---------------------------------------------------------------------------

@router.get("/api/audit", summary="Recent audit entries (privacy officer)")
def api_audit(auth: Auth, container: AppContainer, action: str | None = None, outcome: str | None = None,
              limit: int = 200) -> dict[str, Any]:
    require(container, auth, Permission.VIEW_AUDIT, "view_audit")
    with container.sessions() as session:
        check = audit_log.verify(session, container.audit_anchor)
        entries = [{c: getattr(r, c) for c in audit_log.CSV_COLUMNS}
                   for r in audit_log.recent(session, limit=max(1, min(limit, 1000)), action=action, outcome=outcome)]
    return {"verified": check.ok, "checked": check.checked, "problem": check.problem, "entries": entries}


@router.get("/audit", response_class=HTMLResponse, summary="Audit trail page (privacy officer)")
def audit_page(request: Request, auth: Auth, container: AppContainer, action: str | None = None,
               outcome: str | None = None) -> Response:
    require(container, auth, Permission.VIEW_AUDIT, "view_audit")
    with container.sessions.begin() as session:
        check = audit_log.verify(session, container.audit_anchor)
        entries = audit_log.recent(session, limit=300, action=action or None, outcome=outcome or None)
        users = {u.user_id: u.username for u in session.scalars(select(User))}
        audit_log.append(session, Actor.of(auth.principal, auth.client), "view_audit", container.clock())
    return templates.TemplateResponse(request, "audit.html", page_context(
        request, auth, check=check, entries=entries, action=action or "", outcome=outcome or "", users=users))


@router.get("/audit.csv", summary="The whole audit trail as CSV (privacy officer)")
def audit_csv(auth: Auth, container: AppContainer) -> Response:
    require(container, auth, Permission.VIEW_AUDIT, "export_audit")
    now = container.clock()
    with container.sessions.begin() as session:
        body = audit_log.to_csv(session)
        audit_log.append(session, Actor.of(auth.principal, auth.client), "export_audit", now)
    return Response(("\ufeff" + body).encode(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="audit-{now:%Y%m%d}.csv"'})
