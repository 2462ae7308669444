"""利用者アンケート use cases: open and close rounds, answer (replacing one's earlier answer), tallies, export.

Every change and every read of the tallies is audited; the audit entry names the round, never an answer.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.casework.adapters.orm import SurveyAnswer, SurveyRound
from services.casework.domain.access import Permission, Principal
from services.casework.domain.survey import (
    QUESTIONS,
    SCALE,
    SurveyError,
    Tally,
    check_answer,
    check_round,
    is_open,
    tally,
)
from services.casework.service_layer import audit_log
from services.casework.service_layer.audit_log import Actor
from services.casework.service_layer.csv_safe import safe_row

JST = ZoneInfo("Asia/Tokyo")
EXPORT_COLUMNS = ["section", "ward_code", "question", "answer", "count", "text"]


def today(now: datetime) -> date:
    return now.astimezone(JST).date()


@dataclass(frozen=True)
class RoundView:
    round_id: str
    title: str
    opens_on: date
    closes_on: date
    open: bool
    closed_early: bool


def _view(row: SurveyRound, on: date) -> RoundView:
    opens, closes = date.fromisoformat(row.opens_on), date.fromisoformat(row.closes_on)
    return RoundView(row.round_id, row.title, opens, closes, is_open(opens, closes, row.closed_at is not None, on),
                     row.closed_at is not None)


def respondent_key(secret: str, round_id: str, user_id: str) -> str:
    """Pseudonymous: the answers table holds no user id; the same user gets the same key within a round."""
    return hmac.new(secret.encode(), f"survey:{round_id}:{user_id}".encode(), hashlib.sha256).hexdigest()


def rounds(session: Session, now: datetime) -> list[RoundView]:
    on = today(now)
    return [_view(r, on) for r in session.scalars(select(SurveyRound).order_by(SurveyRound.opens_on.desc(),
                                                                                SurveyRound.created_at.desc()))]


def open_rounds(session: Session, now: datetime) -> list[RoundView]:
    return [r for r in rounds(session, now) if r.open]


def get_round(session: Session, round_id: str, now: datetime) -> RoundView:
    row = session.get(SurveyRound, round_id[:36])
    if row is None:
        raise SurveyError("アンケートが見つかりません")
    return _view(row, today(now))


def open_round(session: Session, actor: Actor, title: str, opens_on: date, closes_on: date,
               now: datetime) -> str:
    title = check_round(title, opens_on, closes_on)
    for other in rounds(session, now):
        if not other.closed_early and other.opens_on <= closes_on and opens_on <= other.closes_on:
            raise SurveyError(f"期間が「{other.title}」と重なっています（同時に実施できるのは1回のみです）")
    round_id = str(uuid.uuid4())
    session.add(SurveyRound(round_id=round_id, title=title, opens_on=opens_on.isoformat(),
                            closes_on=closes_on.isoformat(), created_by=actor.user_id, created_at=now))
    audit_log.append(session, actor, "open_survey", now, target=round_id,
                     detail=f"{opens_on.isoformat()}..{closes_on.isoformat()}")
    return round_id


def close_round(session: Session, actor: Actor, round_id: str, now: datetime) -> None:
    row = session.get(SurveyRound, round_id[:36])
    if row is None:
        raise SurveyError("アンケートが見つかりません")
    if row.closed_at is None:
        row.closed_at = now
    audit_log.append(session, actor, "close_survey", now, target=round_id)


def my_answer(session: Session, secret: str, round_id: str, user_id: str) -> SurveyAnswer | None:
    return session.get(SurveyAnswer, (round_id[:36], respondent_key(secret, round_id, user_id)))


def answer(session: Session, principal: Principal, client: str | None, secret: str, round_id: str,
           scores: dict[str, int], comment: str, now: datetime) -> bool:
    """Records the user's answer; returns True when it replaced an earlier one. Refused when the round is closed."""
    scores, comment = check_answer(scores, comment)
    if not get_round(session, round_id, now).open:
        raise SurveyError("このアンケートは回答を受け付けていません（期間外または終了済み）")
    existing = my_answer(session, secret, round_id, principal.user_id)
    if existing is None:
        session.add(SurveyAnswer(round_id=round_id, respondent=respondent_key(secret, round_id, principal.user_id),
                                 ward_code=principal.ward_code, scores=scores, comment=comment,
                                 answered_on=today(now).isoformat()))
    else:
        existing.scores, existing.comment, existing.answered_on = scores, comment, today(now).isoformat()
        existing.ward_code = principal.ward_code
    audit_log.append(session, Actor.of(principal, client), "survey_answer", now, target=round_id,
                     ward_code=principal.ward_code, detail="replaced" if existing else "new")
    return existing is not None


def _answers(session: Session, round_id: str) -> list[SurveyAnswer]:
    return list(session.scalars(select(SurveyAnswer).where(SurveyAnswer.round_id == round_id)
                                .order_by(SurveyAnswer.ward_code, SurveyAnswer.answered_on)))


def tallies(session: Session, round_id: str) -> tuple[Tally, dict[str, Tally]]:
    return tally((a.ward_code, {k: int(v) for k, v in a.scores.items()}) for a in _answers(session, round_id))


def comments(session: Session, round_id: str) -> list[tuple[str | None, str]]:
    """(ward, comment) for HQ: no respondent, no order by time."""
    return sorted(((a.ward_code, a.comment) for a in _answers(session, round_id) if a.comment),
                  key=lambda wc: (wc[0] or "", wc[1]))


def export_csv(session: Session, round_id: str, now: datetime, *, with_comments: bool) -> str:
    """Aggregates for the evaluation report (docs/evaluation.md): counts per ward, question and answer."""
    view = get_round(session, round_id, now)
    total, by_ward = tallies(session, round_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for field, text in (("title", view.title), ("opens_on", view.opens_on.isoformat()),
                        ("closes_on", view.closes_on.isoformat()), ("round_id", view.round_id)):
        writer.writerow(safe_row(["round", "", field, "", "", text]))
    for key, label in QUESTIONS.items():
        writer.writerow(safe_row(["question", "", key, "", "", label]))
    for score, label in SCALE.items():
        writer.writerow(safe_row(["scale", "", "", score, "", label]))
    for ward, t in [("", total), *by_ward.items()]:
        writer.writerow(["respondents", ward, "", "", t.respondents, ""])
        for key, q in t.questions.items():
            for score, count in sorted(q.counts.items()):
                writer.writerow(["count", ward, key, score, count, ""])
    if with_comments:
        for where, comment in comments(session, round_id):
            writer.writerow(safe_row(["comment", where or "", "", "", "", comment]))
    return out.getvalue()


def pending_for(session: Session, principal: Principal, secret: str, now: datetime) -> list[RoundView]:
    """Open rounds this user may answer and has not answered yet (the inbox shows a notice for each)."""
    if not principal.can(Permission.ANSWER_SURVEY):
        return []
    return [r for r in open_rounds(session, now) if my_answer(session, secret, r.round_id, principal.user_id) is None]
