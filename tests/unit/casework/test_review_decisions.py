"""Clerical review (linkage.review.v1 in, linkage.decisions.v1 out) through the unit-of-work port, on the fake."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from contracts.envelope import Envelope
from contracts.topics.linkage_review import ReviewCaseV1
from services.casework.service_layer.reviews import ReviewError, decide_review, handle_review_case, open_reviews
from tests.unit.casework.factories import review_event
from tests.unit.casework.fakes import FakeUnitOfWork

pytestmark = pytest.mark.unit
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def received(uow: FakeUnitOfWork, review_id: str, at: datetime = NOW, reason: str | None = None) -> str:
    event = review_event(review_id)
    if reason:
        event["data"]["reason"] = reason
    return handle_review_case(Envelope[ReviewCaseV1].model_validate(event), uow=uow, now=at).outcome


def test_a_review_case_is_stored_open_updated_while_open_and_listed_oldest_first() -> None:
    uow = FakeUnitOfWork()
    assert received(uow, "rv-2", NOW + timedelta(minutes=1)) == "review_received"
    assert received(uow, "rv-1") == "review_received"
    assert received(uow, "rv-1", reason="生年月日の一致") == "review_updated"
    assert [r.review_id for r in open_reviews(uow)] == ["rv-1", "rv-2"]
    rv1 = uow.reviews.get("rv-1")
    assert rv1 is not None and rv1.payload["reason"] == "生年月日の一致" and rv1.received_at == NOW


def test_a_decision_closes_the_case_and_queues_it_for_linkage() -> None:
    uow = FakeUnitOfWork()
    received(uow, "rv-1")
    case = decide_review("rv-1", "cannot_link", "  生年月日が異なる ", user_id="u-9", uow=uow, now=NOW,
                         decisions_topic="t.linkage.decisions.v1")
    assert (case.status, case.decision, case.decided_by, case.decided_at) == ("decided", "cannot_link", "u-9", NOW)
    [queued] = uow.cases.outbox
    assert (queued.topic, queued.key) == ("t.linkage.decisions.v1", "rv-1")
    data = json.loads(queued.payload)["data"]
    assert (data["decision"], data["record_id"], data["person_id"], data["reason"]) == (
        "cannot_link", "rec-1", "p-1", "生年月日が異なる")
    assert open_reviews(uow) == []
    assert received(uow, "rv-1") == "duplicate"  # a redelivery after the decision changes nothing
    assert uow.reviews.get("rv-1").status == "decided"  # type: ignore[union-attr]


@pytest.mark.parametrize(("review_id", "decision", "reason", "message"), [
    ("rv-1", "maybe", "理由", "選択肢"), ("rv-1", "must_link", "  ", "理由"), ("rv-1", "must_link", "x" * 501, "理由"),
    ("rv-404", "must_link", "理由", "見つかりません")])
def test_a_decision_that_is_not_allowed_is_refused_and_queues_nothing(review_id: str, decision: str, reason: str,
                                                                      message: str) -> None:
    uow = FakeUnitOfWork()
    received(uow, "rv-1")
    with pytest.raises(ReviewError, match=message):
        decide_review(review_id, decision, reason, user_id="u-9", uow=uow, now=NOW)
    assert uow.cases.outbox == [] and uow.reviews.get("rv-1").status == "open"  # type: ignore[union-attr]


def test_a_case_is_decided_once() -> None:
    uow = FakeUnitOfWork()
    received(uow, "rv-1")
    decide_review("rv-1", "must_link", "同一", user_id="u-9", uow=uow, now=NOW)
    with pytest.raises(ReviewError, match="判定済み"):
        decide_review("rv-1", "cannot_link", "別人", user_id="u-8", uow=uow, now=NOW)
    assert len(uow.cases.outbox) == 1


def test_a_case_linkage_settled_itself_leaves_the_clerks_list_as_linkages_decision() -> None:
    """docs/linkage.md, "Reviews that a later record settles": the update says ``status: decided``."""
    uow = FakeUnitOfWork()
    received(uow, "rv-1")
    received(uow, "rv-2")
    settled = review_event("rv-1")
    settled["data"]["status"] = "decided"
    later = NOW + timedelta(hours=2)
    result = handle_review_case(Envelope[ReviewCaseV1].model_validate(settled), uow=uow, now=later)
    assert result.outcome == "review_settled"
    assert [r.review_id for r in open_reviews(uow)] == ["rv-2"]
    case = uow.reviews.get("rv-1")
    assert case is not None
    assert (case.status, case.decision, case.decided_by, case.decided_at) == ("decided", "cannot_link", "linkage",
                                                                              later)
    assert uow.cases.outbox == []  # linkage decided it: nothing goes back
    with pytest.raises(ReviewError):  # a clerk cannot decide it again
        decide_review("rv-1", "must_link", "同一人物", user_id="u-9", uow=uow, now=later)
    assert handle_review_case(Envelope[ReviewCaseV1].model_validate(settled), uow=uow, now=later).outcome == \
        "duplicate"


def test_a_case_linkage_settled_as_the_same_child_is_stored_as_must_link() -> None:
    """docs/linkage.md, "Arrival order": the registry child the school record belongs to arrived after it."""
    uow = FakeUnitOfWork()
    received(uow, "rv-5")
    settled = review_event("rv-5")
    settled["data"] |= {"status": "decided", "decision": "must_link"}
    assert handle_review_case(Envelope[ReviewCaseV1].model_validate(settled), uow=uow, now=NOW).outcome == \
        "review_settled"
    case = uow.reviews.get("rv-5")
    assert case is not None and (case.status, case.decision, case.decided_by) == ("decided", "must_link", "linkage")
    assert open_reviews(uow) == [] and uow.cases.outbox == []


def test_a_case_first_seen_already_settled_is_stored_decided_and_a_clerks_decision_is_never_overwritten() -> None:
    uow = FakeUnitOfWork()
    settled = review_event("rv-3")
    settled["data"]["status"] = "decided"
    assert handle_review_case(Envelope[ReviewCaseV1].model_validate(settled), uow=uow, now=NOW).outcome == \
        "review_settled"
    assert open_reviews(uow) == []
    received(uow, "rv-4")
    decide_review("rv-4", "must_link", "同一人物と確認", user_id="u-9", uow=uow, now=NOW)
    settled4 = review_event("rv-4")
    settled4["data"]["status"] = "decided"
    assert handle_review_case(Envelope[ReviewCaseV1].model_validate(settled4), uow=uow, now=NOW).outcome == \
        "duplicate"
    case = uow.reviews.get("rv-4")
    assert case is not None and (case.decision, case.decided_by) == ("must_link", "u-9")


def test_a_settled_case_is_stored_decided_through_the_sql_unit_of_work() -> None:
    """The same on the real adapter (SQLite in memory): a case added and settled in one transaction."""
    from tests.unit.casework.sqlite_intake import Intake

    intake = Intake()
    try:
        settled = review_event("rv-5")
        settled["data"]["status"] = "decided"
        with intake.uow() as uow:
            result = handle_review_case(Envelope[ReviewCaseV1].model_validate(settled), uow=uow, now=NOW)
            uow.commit()
        with intake.uow() as uow:
            case = uow.reviews.get("rv-5")
            assert result.outcome == "review_settled" and case is not None
            assert (case.status, case.decision, case.decided_by) == ("decided", "cannot_link", "linkage")
            assert list(open_reviews(uow)) == []
    finally:
        intake.close()
