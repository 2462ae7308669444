"""The user's own account: password change (every role)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, Field

from services.casework.adapters.orm import User
from services.casework.entrypoints.web_common import AppContainer, AuthCsrf
from services.casework.entrypoints.web_security import set_session_cookie
from services.casework.service_layer import audit_log
from services.casework.service_layer import auth as auth_service
from services.casework.service_layer.audit_log import Actor

router = APIRouter(prefix="/api", tags=["api"])


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=256)
    new_password: str = Field(max_length=256)


@router.post("/me/password", status_code=204, summary="Change one's own password (ends every other session)")
def change_password(body: PasswordChange, request: Request, auth: AuthCsrf, container: AppContainer) -> Response:
    now = container.clock()
    with container.sessions.begin() as session:
        user = session.get(User, auth.principal.user_id)
        if user is None or not auth_service.verify_password(user, body.current_password):
            audit_log.append(session, Actor.of(auth.principal, auth.client), "change_password", now,
                             outcome="failed", detail="current password wrong")
            failed = True
        else:
            failed = False
            try:
                auth_service.set_password(user, body.new_password, now)
            except ValueError as exc:
                raise HTTPException(status_code=422, detail=str(exc)) from None
            new = auth_service.start_session(session, user, now, container.settings.session_secret)
            audit_log.append(session, Actor.of(auth.principal, auth.client), "change_password", now)
    if failed:
        raise HTTPException(status_code=403, detail="現在のパスワードが違います")
    response = Response(status_code=204)
    set_session_cookie(response, new.token, container.settings)
    response.headers["X-CSRF-Token"] = new.csrf_token
    return response
