"""利用者アンケート pages and API: staff answer while a round is open; HQ opens rounds and reads the tallies."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

from services.casework.domain.access import Permission
from services.casework.domain.survey import COMMENT_MAX, QUESTIONS, SCALE, TITLE_MAX, SurveyError
from services.casework.entrypoints.web_common import AppContainer, Auth, AuthCsrf, page_context, require, templates
from services.casework.service_layer import audit_log
from services.casework.service_layer import survey as service
from services.casework.service_layer.audit_log import Actor

router = APIRouter(tags=["survey"])


class NewRound(BaseModel):
    title: str = Field(max_length=TITLE_MAX)
    opens_on: date
    closes_on: date


class Answer(BaseModel):
    scores: dict[str, int] = Field(examples=[{"list": 4, "evidence": 5, "workflow": 3}])
    comment: str = Field("", max_length=COMMENT_MAX)


def _open(container: Any, auth: Any, body: NewRound) -> str:
    try:
        with container.sessions.begin() as session:
            return service.open_round(session, Actor.of(auth.principal, auth.client), body.title, body.opens_on,
                                      body.closes_on, container.clock())
    except SurveyError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None


def _answer(container: Any, auth: Any, round_id: str, body: Answer) -> bool:
    try:
        with container.sessions.begin() as session:
            return service.answer(session, auth.principal, auth.client, container.settings.session_secret,
                                  round_id, body.scores, body.comment, container.clock())
    except SurveyError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None


def _round_report(container: Any, auth: Any, round_id: str) -> dict[str, Any]:
    now = container.clock()
    try:
        with container.sessions.begin() as session:
            view = service.get_round(session, round_id, now)
            total, by_ward = service.tallies(session, round_id)
            comments = service.comments(session, round_id)
            audit_log.append(session, Actor.of(auth.principal, auth.client), "view_survey", now, target=round_id)
    except SurveyError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    return {"round": view, "total": total, "by_ward": by_ward, "comments": comments}


def _tally_json(t: Any) -> dict[str, Any]:
    return {"respondents": t.respondents, "questions": {
        k: {"counts": {str(v): c for v, c in q.counts.items()}, "n": q.n, "mean": q.mean}
        for k, q in t.questions.items()}}


# --- staff: the questionnaire ---------------------------------------------------------------------------------

@router.get("/api/survey/current", summary="Open survey rounds and whether I have answered (staff)")
def api_current(auth: Auth, container: AppContainer) -> list[dict[str, Any]]:
    require(container, auth, Permission.ANSWER_SURVEY, "survey_answer")
    secret = container.settings.session_secret
    with container.sessions() as session:
        return [{"round_id": r.round_id, "title": r.title, "opens_on": r.opens_on.isoformat(),
                 "closes_on": r.closes_on.isoformat(),
                 "answered": service.my_answer(session, secret, r.round_id, auth.principal.user_id) is not None}
                for r in service.open_rounds(session, container.clock())]


@router.post("/api/survey/{round_id}/answer", summary="Answer a round (a second answer replaces the first)")
def api_answer(round_id: str, body: Answer, auth: AuthCsrf, container: AppContainer) -> dict[str, Any]:
    require(container, auth, Permission.ANSWER_SURVEY, "survey_answer")
    return {"round_id": round_id, "replaced": _answer(container, auth, round_id, body)}


@router.get("/survey", response_class=HTMLResponse, summary="The questionnaire page (staff)")
def survey_page(request: Request, auth: Auth, container: AppContainer, done: str | None = None,
                error: str | None = None) -> Response:
    if auth.principal.can(Permission.MANAGE_SURVEY):
        return RedirectResponse("/admin/survey", status_code=303)
    require(container, auth, Permission.ANSWER_SURVEY, "survey_answer")
    secret = container.settings.session_secret
    with container.sessions() as session:
        items = [(r, service.my_answer(session, secret, r.round_id, auth.principal.user_id))
                 for r in service.open_rounds(session, container.clock())]
    return templates.TemplateResponse(request, "survey.html", page_context(
        request, auth, items=items, questions=QUESTIONS, scale=SCALE, done=done, error=error,
        comment_max=COMMENT_MAX))


@router.post("/survey/{round_id}", summary="Answer from the questionnaire page")
async def survey_form(round_id: str, request: Request, auth: AuthCsrf, container: AppContainer) -> Response:
    require(container, auth, Permission.ANSWER_SURVEY, "survey_answer")
    form = await request.form()
    try:
        scores = {q: int(str(form.get(f"q_{q}", ""))) for q in QUESTIONS}
        body = Answer(scores=scores, comment=str(form.get("comment", "")))
        replaced = _answer(container, auth, round_id, body)
    except (ValueError, HTTPException) as exc:
        message = exc.detail if isinstance(exc, HTTPException) else "すべての設問に回答してください"
        return RedirectResponse(f"/survey?error={quote(str(message))}", status_code=303)
    return RedirectResponse(f"/survey?done={'replaced' if replaced else 'new'}", status_code=303)


# --- HQ: rounds and tallies -----------------------------------------------------------------------------------

@router.get("/api/survey/rounds", summary="Survey rounds (HQ)")
def api_rounds(auth: Auth, container: AppContainer) -> list[dict[str, Any]]:
    require(container, auth, Permission.MANAGE_SURVEY, "view_survey")
    with container.sessions() as session:
        return [{"round_id": r.round_id, "title": r.title, "opens_on": r.opens_on.isoformat(),
                 "closes_on": r.closes_on.isoformat(), "open": r.open, "closed_early": r.closed_early}
                for r in service.rounds(session, container.clock())]


@router.post("/api/survey/rounds", status_code=201, summary="Open a survey round (HQ)")
def api_open(body: NewRound, auth: AuthCsrf, container: AppContainer) -> dict[str, str]:
    require(container, auth, Permission.MANAGE_SURVEY, "open_survey")
    return {"round_id": _open(container, auth, body)}


@router.post("/api/survey/rounds/{round_id}/close", summary="Close a survey round early (HQ)")
def api_close(round_id: str, auth: AuthCsrf, container: AppContainer) -> dict[str, str]:
    require(container, auth, Permission.MANAGE_SURVEY, "close_survey")
    try:
        with container.sessions.begin() as session:
            service.close_round(session, Actor.of(auth.principal, auth.client), round_id, container.clock())
    except SurveyError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    return {"round_id": round_id, "status": "closed"}


@router.get("/api/survey/rounds/{round_id}/tallies", summary="Tallies per round and per ward, with comments (HQ)")
def api_tallies(round_id: str, auth: Auth, container: AppContainer) -> dict[str, Any]:
    require(container, auth, Permission.MANAGE_SURVEY, "view_survey")
    report = _round_report(container, auth, round_id)
    return {"round_id": round_id, "title": report["round"].title, "total": _tally_json(report["total"]),
            "by_ward": {w: _tally_json(t) for w, t in report["by_ward"].items()},
            "comments": [{"ward_code": w, "comment": c} for w, c in report["comments"]]}


@router.get("/admin/survey", response_class=HTMLResponse, summary="Survey administration page (HQ)")
def admin_page(request: Request, auth: Auth, container: AppContainer, round_id: str | None = None,
               error: str | None = None) -> Response:
    require(container, auth, Permission.MANAGE_SURVEY, "view_survey")
    with container.sessions() as session:
        all_rounds = service.rounds(session, container.clock())
    chosen = round_id or (all_rounds[0].round_id if all_rounds else None)
    report = _round_report(container, auth, chosen) if chosen else None
    return templates.TemplateResponse(request, "survey_admin.html", page_context(
        request, auth, rounds=all_rounds, report=report, questions=QUESTIONS, scale=SCALE, error=error,
        title_max=TITLE_MAX, today=service.today(container.clock())))


@router.post("/admin/survey", summary="Open a survey round from the page (HQ)")
async def admin_open(request: Request, auth: AuthCsrf, container: AppContainer) -> Response:
    require(container, auth, Permission.MANAGE_SURVEY, "open_survey")
    form = await request.form()
    try:
        body = NewRound(title=str(form.get("title", "")), opens_on=date.fromisoformat(str(form.get("opens_on"))),
                        closes_on=date.fromisoformat(str(form.get("closes_on"))))
        round_id = _open(container, auth, body)
    except (ValueError, HTTPException) as exc:
        message = exc.detail if isinstance(exc, HTTPException) else "名称と期間（開始日・終了日）を入力してください"
        return RedirectResponse(f"/admin/survey?error={quote(str(message))}", status_code=303)
    return RedirectResponse(f"/admin/survey?round_id={round_id}", status_code=303)


@router.post("/admin/survey/{round_id}/close", summary="Close a survey round from the page (HQ)")
def admin_close(round_id: str, auth: AuthCsrf, container: AppContainer) -> Response:
    api_close(round_id, auth, container)
    return RedirectResponse(f"/admin/survey?round_id={quote(round_id)}", status_code=303)
