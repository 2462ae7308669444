"""Linkage's uncertain pairs (linkage.review.v1) and the clerical decisions sent back (linkage.decisions.v1)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from contracts.envelope import Envelope, envelope_dict
from contracts.topics.linkage_review import DECISION_TOPIC, ReviewCaseV1, ReviewDecisionV1
from services.casework.adapters.orm import ReviewCase
from services.casework.adapters.repository import CaseRepository
from services.casework.service_layer.intake import SOURCE, IntakeResult

DECISIONS = ("must_link", "cannot_link", "split")
DECISION_LABELS = {"must_link": "同一人物", "cannot_link": "別人", "split": "分割"}


class ReviewError(Exception):
    """The review case is unknown, already decided, or the decision is not allowed."""


def handle_review_case(event: Envelope[ReviewCaseV1], *, session: Session, now: datetime) -> IntakeResult:
    case = event.data
    existing = session.get(ReviewCase, case.review_id)
    if existing is not None:
        if existing.status == "open":
            existing.payload = case.model_dump(mode="json")
        return IntakeResult("review_updated" if existing.status == "open" else "duplicate")
    session.add(ReviewCase(review_id=case.review_id, payload=case.model_dump(mode="json"), received_at=now,
                           status="open"))
    return IntakeResult("review_received")


def open_reviews(session: Session, limit: int = 200) -> list[ReviewCase]:
    return list(session.scalars(select(ReviewCase).where(ReviewCase.status == "open")
                                .order_by(ReviewCase.received_at).limit(limit)))


def decide_review(review_id: str, decision: str, reason: str, *, user_id: str, session: Session, now: datetime,
                  decisions_topic: str = DECISION_TOPIC.name) -> ReviewCase:
    if decision not in DECISIONS:
        raise ReviewError("判定が選択肢にありません")
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise ReviewError("理由を500文字以内で入力してください")
    case = session.get(ReviewCase, review_id)
    if case is None:
        raise ReviewError("照合候補が見つかりません")
    if case.status != "open":
        raise ReviewError("この照合候補は判定済みです")
    payload = ReviewCaseV1.model_validate(case.payload)
    data = ReviewDecisionV1(review_id=review_id, decision=decision,
                            record_id=payload.record_id, person_id=payload.candidate_person_id,
                            decided_by=user_id, decided_at=now.isoformat(), reason=reason)
    event = envelope_dict(data=data, type_="linkage.review.decided", source=SOURCE, subject=review_id, time=now)
    CaseRepository(session).add_outbox(decisions_topic, review_id, json.dumps(event, ensure_ascii=False), now)
    case.status, case.decision, case.decided_by, case.decided_at = "decided", decision, user_id, now
    return case
