"""Workflow steps (cases.case_for_step / record_step) through the unit-of-work port, on the fake (issue 12)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from services.casework.domain.access import AccessDenied, Principal, Role
from services.casework.domain.workflow import Action, InvalidTransition, StepCommand
from services.casework.service_layer import cases
from tests.unit.casework.fakes import FakeAlert, FakeUnitOfWork

pytestmark = pytest.mark.unit
NOW = datetime(2026, 6, 2, 1, 0, tzinfo=UTC)
EAST = Principal(user_id="u-1", username="higashi", role=Role.WARD_STAFF, ward_code="40131")
HAKATA = Principal(user_id="u-2", username="hakata", role=Role.WARD_STAFF, ward_code="40132")
ANALYST = Principal(user_id="u-3", username="analyst", role=Role.ANALYST, ward_code=None)


def with_case(state: str = "一次スクリーニング") -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.cases.alerts.append(FakeAlert(
        seq=1, alert_id="a-1", alert_key="k-1", child_id="c-1", ward_code="40131", tier="予防", items=[3, 17],
        reason="entered_tier", raised_at=datetime(2026, 6, 1, tzinfo=UTC), state=state,
        state_changed_at=datetime(2026, 6, 1, tzinfo=UTC)))
    return uow


def test_a_step_moves_the_case_keeps_who_and_why_and_queues_the_outcome() -> None:
    uow = with_case("関係三課協議")
    alert = cases.case_for_step(uow, EAST, "a-1")
    command = StepCommand(Action.CONFER, "決定", "三課で協議", {"approach_method": "訪問", "lead_division": "健康課"})

    step = cases.record_step(uow, EAST, alert, command, NOW, "t.casework.outcomes.v1")

    assert (step.from_state.value, step.to_state.value) == ("関係三課協議", "個別アプローチ")
    [stored] = uow.cases.alerts
    assert (stored.state, stored.state_changed_at, stored.lead_division) == ("個別アプローチ", NOW, "健康課")
    [entry] = uow.cases.steps(["a-1"])
    assert (entry.action, entry.result, entry.reason, entry.actor_id, entry.actor_role, entry.at) == (
        "関係三課協議", "決定", "三課で協議", "u-1", "ward_staff", NOW)
    assert entry.details == {"approach_method": "訪問", "lead_division": "健康課"}
    [queued] = uow.cases.outbox
    assert (queued.topic, queued.key) == ("t.casework.outcomes.v1", "a-1")
    data = json.loads(queued.payload)["data"]
    assert (data["case_id"], data["step"], data["result"], data["items_at_listing"], data["actor_role"]) == (
        "a-1", "関係三課協議", "決定", [3, 17], "ward_staff")
    assert uow.committed == 0  # the web commits the step together with its audit record


def test_a_step_that_does_not_fit_the_state_changes_nothing() -> None:
    uow = with_case()
    alert = cases.case_for_step(uow, EAST, "a-1")
    with pytest.raises(InvalidTransition):
        cases.record_step(uow, EAST, alert, StepCommand(Action.CLOSE, "非該当", "理由"), NOW)
    assert uow.cases.alerts[0].state == "一次スクリーニング"
    assert uow.cases.steps(["a-1"]) == [] and uow.cases.outbox == []


@pytest.mark.parametrize(("principal", "alert_id", "why"), [
    (HAKATA, "a-1", "other_ward"), (EAST, "a-404", "unknown_case"), (ANALYST, "a-1", "record_step")])
def test_only_the_cases_ward_may_record_a_step(principal: Principal, alert_id: str, why: str) -> None:
    with pytest.raises(AccessDenied, match=why):
        cases.case_for_step(with_case(), principal, alert_id)


def test_the_child_page_shows_only_the_alerts_of_the_users_ward_with_their_timelines() -> None:
    uow = with_case()
    uow.cases.child_or_new("c-1").ward_code = "40131"
    alert = cases.case_for_step(uow, EAST, "a-1")
    cases.record_step(uow, EAST, alert, StepCommand(Action.SCREEN, "要アプローチ", "確認"), NOW)
    view = cases.visible_child(uow, EAST, "c-1")
    assert [a.alert_id for a in view.alerts] == ["a-1"] and view.open_alert is alert
    assert [s.action for s in view.steps["a-1"]] == ["二次スクリーニング"]
    with pytest.raises(AccessDenied, match="other_ward"):
        cases.visible_child(uow, HAKATA, "c-1")
