"""判定ルールの版の採用 on HQ's page (issue 16): the adopted version, what the rule file scoring runs would change,
and the audited act itself (service_layer/rule_adoption.py; the CLI ``rules-adopt`` does the same)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from services.casework.adapters.rule_files import AdoptionRecordFile, ScoringRuleCheck
from services.casework.domain.access import Permission
from services.casework.entrypoints.web_common import AppContainer, Auth, AuthCsrf, page_context, require, templates
from services.casework.service_layer import rule_adoption
from services.casework.service_layer.privacy_requests import Refused

router = APIRouter(tags=["rules"])


def _current(records: AdoptionRecordFile, container: Any) -> dict[str, Any] | None:
    try:
        return records.read(container.settings.rule_file)
    except ValueError:
        return None


@router.get("/admin/rules", response_class=HTMLResponse, summary="Rule file versions: adopted, proposed (HQ)")
def rules_page(request: Request, auth: Auth, container: AppContainer, error: str | None = None,
               done: int | None = None) -> Response:
    require(container, auth, Permission.ADOPT_RULES, "view_rules")
    records = AdoptionRecordFile()
    proposal, refusal = None, None
    try:
        proposal = rule_adoption.propose(ScoringRuleCheck(), records, container.settings.rule_file)
    except Refused as exc:
        refusal = (exc.code, str(exc))
    return templates.TemplateResponse(request, "rules.html", page_context(
        request, auth, current=_current(records, container), proposal=proposal, refusal=refusal, error=error,
        done=done, rule_file=container.settings.rule_file.name))


@router.post("/admin/rules", summary="Adopt the rule file's versions (HQ; audited)")
async def rules_adopt(request: Request, auth: AuthCsrf, container: AppContainer) -> Response:
    # the act checks the permission itself, so a refusal is audited with its reason like every other refusal
    form = await request.form()
    try:
        adopted = rule_adoption.adopt(container.sessions, ScoringRuleCheck(), AdoptionRecordFile(),
                                      container.settings.rule_file, username=auth.principal.username,
                                      reason=str(form.get("reason", "")), now=container.clock(), client=auth.client)
    except Refused as exc:
        return RedirectResponse(f"/admin/rules?error={quote(str(exc))}", status_code=303)
    return RedirectResponse(f"/admin/rules?done={adopted.audit_seq}", status_code=303)
