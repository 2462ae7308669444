"""The user's own account: password change (every role), by the API and by a page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from services.casework.adapters.orm import User
from services.casework.entrypoints.web_common import AppContainer, Auth, AuthCsrf, page_context, templates
from services.casework.entrypoints.web_security import set_session_cookie
from services.casework.service_layer import audit_log
from services.casework.service_layer import auth as auth_service
from services.casework.service_layer.audit_log import Actor
from services.casework.service_layer.passwords import MAX_LENGTH, MIN_LENGTH

router = APIRouter()
WRONG_CURRENT = "現在のパスワードが違います"
# passwords.check_password's reasons (English, for the API) as staff read them on the page
WEAK_JA = {"at least": f"{MIN_LENGTH}文字以上にしてください", "at most": f"{MAX_LENGTH}文字以内にしてください",
           "commonly used": "よく使われるパスワードは使えません",
           "too easy": "推測されやすいパスワードです。関係のない言葉を複数つなげた長めの文にしてください"}


class PasswordRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _change(container: AppContainer, auth: AuthCsrf, current: str, new: str) -> auth_service.NewSession:
    """Checks the current password, sets the new one and starts a new session (every other one ends); audited
    either way. PasswordRefused(403) for a wrong current password, (422) for a weak new one."""
    now = container.clock()
    with container.sessions.begin() as session:
        user = session.get(User, auth.principal.user_id)
        if user is None or not auth_service.verify_password(user, current):
            audit_log.append(session, Actor.of(auth.principal, auth.client), "change_password", now,
                             outcome="failed", detail="current password wrong")
            failed = True
        else:
            failed = False
            try:
                auth_service.set_password(user, new, now)
            except ValueError as exc:
                raise PasswordRefused(422, str(exc)) from None
            started = auth_service.start_session(session, user, now, container.settings.session_secret)
            audit_log.append(session, Actor.of(auth.principal, auth.client), "change_password", now)
    if failed:
        raise PasswordRefused(403, WRONG_CURRENT)
    return started


def _with_new_session(response: Response, started: auth_service.NewSession, container: AppContainer) -> Response:
    set_session_cookie(response, started.token, container.settings)
    return response


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


@router.post("/api/me/password", status_code=204, tags=["api"],
             summary="Change one's own password (ends every other session)")
def change_password(body: PasswordChange, request: Request, auth: AuthCsrf, container: AppContainer) -> Response:
    try:
        started = _change(container, auth, body.current_password, body.new_password)
    except PasswordRefused as exc:
        raise HTTPException(status_code=exc.status, detail=exc.message) from None
    response = _with_new_session(Response(status_code=204), started, container)
    response.headers["X-CSRF-Token"] = started.csrf_token
    return response


@router.get("/me/password", response_class=HTMLResponse, summary="The password change page")
def password_page(request: Request, auth: Auth, done: int = 0) -> Response:
    return templates.TemplateResponse(request, "me_password.html", page_context(
        request, auth, error=None, done=bool(done), min_length=MIN_LENGTH))


@router.post("/me/password", summary="Change one's own password from the page")
def password_form(request: Request, auth: AuthCsrf, container: AppContainer,
                  current_password: Annotated[str, Form(max_length=256)],
                  new_password: Annotated[str, Form(max_length=256)],
                  new_password_again: Annotated[str, Form(max_length=256)]) -> Response:
    error: str | None = None
    if new_password != new_password_again:
        error = "新しいパスワードが確認用と一致しません"
    else:
        try:
            started = _change(container, auth, current_password, new_password)
        except PasswordRefused as exc:
            error = exc.message if exc.status == 403 else next(
                (ja for key, ja in WEAK_JA.items() if key in exc.message), "このパスワードは使えません")
    if error is not None:
        return templates.TemplateResponse(request, "me_password.html", page_context(
            request, auth, error=error, done=False, min_length=MIN_LENGTH), status_code=400)
    return _with_new_session(RedirectResponse("/me/password?done=1", status_code=303), started, container)
