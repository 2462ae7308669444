"""区が未確定の対象者 (HQ): flagged children whose listing is held because no ward is known (docs/casework.md).

Read-only: HQ resolves the ward at the source (住民記録 via linkage); when the ward arrives casework raises the
held listing itself. Every view is audited; other roles get 403, audited by ``require``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from services.casework.domain.access import Permission
from services.casework.entrypoints.web_common import AppContainer, Auth, page_context, require, templates
from services.casework.service_layer import audit_log, held_listings
from services.casework.service_layer.audit_log import Actor
from services.casework.service_layer.held_listings import HeldListing

router = APIRouter(tags=["held"])


def _held(container: AppContainer, auth: Any) -> list[HeldListing]:
    require(container, auth, Permission.VIEW_HELD, "view_held")
    now = container.clock()
    with container.uow() as uow:
        found = held_listings.held_listings(uow, now)
    with container.sessions.begin() as session:
        audit_log.append(session, Actor.of(auth.principal, auth.client), "view_held", now,
                         detail=f"count={len(found)}")
    return found


@router.get("/api/held", summary="Children whose listing is held for want of a ward (HQ)")
def api_held(auth: Auth, container: AppContainer) -> list[dict[str, Any]]:
    return [{"child_id": h.child_id, "age_months": h.age_months, "tier": h.tier, "items": list(h.items),
             "reason": h.reason, "held_since": h.held_since.isoformat() if h.held_since else None,
             "sources": list(h.sources), "has_profile": h.has_profile, "flags_as_of": h.flags_as_of}
            for h in _held(container, auth)]


@router.get("/held", response_class=HTMLResponse, summary="区が未確定の対象者 page (HQ)")
def held_page(request: Request, auth: Auth, container: AppContainer) -> Response:
    found = _held(container, auth)
    now = container.clock()
    return templates.TemplateResponse(request, "held.html", page_context(
        request, auth, held=found, days={h.child_id: (now - h.held_since).days if h.held_since else None
                                         for h in found}))
