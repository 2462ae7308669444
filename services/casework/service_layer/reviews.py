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


SETTLED_BY_LINKAGE = "linkage"  # decided_by of a case linkage settled itself (docs/linkage.md)


def handle_review_case(event: Envelope[ReviewCaseV1], *, uow: AbstractUnitOfWork, now: datetime) -> IntakeResult:
    """Stores a new case open, updates an open one; a case linkage says it settled itself (``status: decided``: a
    later record showed the record to be a new person, not the candidate, or the child it belongs to arrived in the
    registry) leaves the clerks' list as decided by linkage (``cannot_link``, or the case's ``must_link``). A case a
    clerk already decided is not changed."""
    case = event.data
    existing = uow.reviews.get(case.review_id)
    if existing is not None and existing.status != "open":
        return IntakeResult("duplicate")
    if existing is None:
        uow.reviews.add(case.review_id, case.model_dump(mode="json"), now)
        existing = uow.reviews.get(case.review_id)
        outcome = "review_received"
    else:
        existing.payload = case.model_dump(mode="json")
        outcome = "review_updated"
    if case.status == "decided" and existing is not None:
        existing.status, existing.decision = "decided", case.decision or "cannot_link"
        existing.decided_by, existing.decided_at = SETTLED_BY_LINKAGE, now
        outcome = "review_settled"
    return IntakeResult(outcome)


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
