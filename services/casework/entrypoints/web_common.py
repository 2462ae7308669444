"""What every route module shares: the container, templates, access checks that audit their refusals."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates

from contracts.sources import SOURCE_SYSTEMS
from services.casework.bootstrap import Container
from services.casework.domain.access import ROLE_LABELS, WARDS, Permission, Principal
from services.casework.domain.audit import ACTION_LABELS, OUTCOME_LABELS
from services.casework.domain.items import (
    ITEM_LABELS,
    REASON_LABELS,
    RELATION_LABELS,
    SIGNAL_LABELS,
    STEP_DETAIL_LABELS,
    TIERS,
    item_label,
    signal_label,
    step_detail_text,
)
from services.casework.domain.workflow import CaseState
from services.casework.entrypoints.web_security import Authenticated, authenticate_request, check_csrf
from services.casework.service_layer import audit_log
from services.casework.service_layer.audit_log import Actor

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
SOURCE_LABELS = {key: system.label_ja for key, system in SOURCE_SYSTEMS.items()}  # the catalogue's order
templates.env.globals.update(
    WARDS=WARDS, ITEM_LABELS=ITEM_LABELS, TIERS=TIERS, REASON_LABELS=REASON_LABELS, ROLE_LABELS=ROLE_LABELS,
    item_label=item_label, STATES=[s.value for s in CaseState], Permission=Permission,
    RELATION_LABELS=RELATION_LABELS, STEP_DETAIL_LABELS=STEP_DETAIL_LABELS, step_detail_text=step_detail_text,
    ACTION_LABELS=ACTION_LABELS, OUTCOME_LABELS=OUTCOME_LABELS,
    SIGNAL_LABELS=SIGNAL_LABELS, signal_label=signal_label,
    SOURCE_LABELS=SOURCE_LABELS,
)
templates.env.filters["jst"] = lambda dt: _jst(dt)


JST = ZoneInfo("Asia/Tokyo")


def _jst(value: datetime | str | None) -> str:
    if value is None:
        return ""
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    return dt.astimezone(JST).strftime("%Y-%m-%d %H:%M")


def container_of(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def csrf_checked(request: Request) -> Authenticated:
    auth = authenticate_request(request)
    await check_csrf(request, auth)
    return auth


Auth = Annotated[Authenticated, Depends(authenticate_request)]
AuthCsrf = Annotated[Authenticated, Depends(csrf_checked)]
AppContainer = Annotated[Container, Depends(container_of)]


def deny(container: Container, auth: Authenticated, action: str, reason: str, *, child_id: str | None = None,
         target: str | None = None, ward_code: str | None = None) -> HTTPException:
    """Audits a refused attempt and returns the 403 to raise (same answer whether the object exists or not)."""
    with container.sessions.begin() as session:
        audit_log.append(session, Actor.of(auth.principal, auth.client), action, container.clock(),
                         child_id=child_id, target=target, ward_code=ward_code, outcome="denied", detail=reason)
    container.metrics.access_denied.labels(reason=reason if reason in _DENY_REASONS else "other").inc()
    return HTTPException(status_code=403, detail="この情報を表示・操作する権限がありません。"
                                                 "担当の区・役割の範囲のみ利用できます。この操作は記録されました。")


_DENY_REASONS = {"other_ward", "unknown_child", "unknown_case", "view_cases", "record_step", "export",
                 "review_linkage", "admin_users", "view_audit", "grant_role", "answer_survey", "manage_survey",
                 "download_reports", "view_held"}


def require(container: Container, auth: Authenticated, permission: Permission, action: str) -> Principal:
    if not auth.principal.can(permission):
        raise deny(container, auth, action, permission.value)
    return auth.principal


def page_context(request: Request, auth: Authenticated, **values: Any) -> dict[str, Any]:
    return {"request": request, "me": auth.principal, "csrf_token": auth.csrf_token, **values}
