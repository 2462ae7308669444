"""Linkage's uncertain pairs (linkage.review.v1) and the clerical decisions sent back (linkage.decisions.v1)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from contracts.envelope import Envelope, envelope_dict
from contracts.topics.linkage_review import DECISION_TOPIC, ReviewCaseV1, ReviewDecisionV1
from services.casework.service_layer.intake import SOURCE, IntakeResult
from services.casework.service_layer.unit_of_work import AbstractUnitOfWork, ReviewRecord

DECISIONS = ("must_link", "cannot_link", "split")
DECISION_LABELS = {"must_link": "同一人物", "cannot_link": "別人", "split": "分割"}


class ReviewError(Exception):
    """The review case is unknown, already decided, or the decision is not allowed."""


def handle_review_case(event: Envelope[ReviewCaseV1], *, uow: AbstractUnitOfWork, now: datetime) -> IntakeResult:
    case = event.data
    existing = uow.reviews.get(case.review_id)
    if existing is not None:
        if existing.status == "open":
            existing.payload = case.model_dump(mode="json")
        return IntakeResult("review_updated" if existing.status == "open" else "duplicate")
    uow.reviews.add(case.review_id, case.model_dump(mode="json"), now)
    return IntakeResult("review_received")


def open_reviews(uow: AbstractUnitOfWork, limit: int = 200) -> Sequence[ReviewRecord]:
    return uow.reviews.open(limit)


def decide_review(review_id: str, decision: str, reason: str, *, user_id: str, uow: AbstractUnitOfWork,
                  now: datetime, decisions_topic: str = DECISION_TOPIC.name) -> ReviewRecord:
    if decision not in DECISIONS:
        raise ReviewError("判定が選択肢にありません")
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise ReviewError("理由を500文字以内で入力してください")
    case = uow.reviews.get(review_id)
    if case is None:
        raise ReviewError("照合候補が見つかりません")
    if case.status != "open":
        raise ReviewError("この照合候補は判定済みです")
    payload = ReviewCaseV1.model_validate(case.payload)
    data = ReviewDecisionV1(review_id=review_id, decision=decision,
                            record_id=payload.record_id, person_id=payload.candidate_person_id,
                            decided_by=user_id, decided_at=now.isoformat(), reason=reason)
    event = envelope_dict(data=data, type_="linkage.review.decided", source=SOURCE, subject=review_id, time=now)
    uow.cases.add_outbox(decisions_topic, review_id, json.dumps(event, ensure_ascii=False), now)
    case.status, case.decision, case.decided_by, case.decided_at = "decided", decision, user_id, now
    return case
