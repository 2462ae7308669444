"""The screening workflow: every (state, action, result) is either the documented transition or refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.casework.domain.workflow import (
    CLOSE_OUTCOMES,
    TERMINAL,
    Action,
    CaseState,
    InvalidTransition,
    StepCommand,
    allowed_actions,
    apply_step,
)

pytestmark = pytest.mark.unit
AT = datetime(2026, 6, 1, tzinfo=UTC)
S, A = CaseState, Action
SCREEN = {"要アプローチ": S.CONFERENCE, "既に支援につながっている": S.CLOSED, "非該当": S.CLOSED, "保留": S.ON_HOLD}
CLOSE = dict.fromkeys(CLOSE_OUTCOMES, S.CLOSED)
# The expected machine, written out independently of the implementation's table.
EXPECTED: dict[tuple[CaseState, Action], dict[str, CaseState]] = {
    (S.LISTED, A.SCREEN): SCREEN,
    (S.ON_HOLD, A.SCREEN): SCREEN,
    (S.ON_HOLD, A.CLOSE): CLOSE,
    (S.CONFERENCE, A.CONFER): {"決定": S.APPROACH},
    (S.CONFERENCE, A.CLOSE): CLOSE,
    (S.APPROACH, A.APPROACH): {"面会できた": S.ASSESSMENT, "電話で聴取できた": S.ASSESSMENT, "不在": S.APPROACH,
                               "連絡がつかない": S.APPROACH, "拒否": S.ASSESSMENT},
    (S.APPROACH, A.CLOSE): CLOSE,
    (S.ASSESSMENT, A.ASSESS): {"支援が必要": S.PLANNING, "支援は不要": S.CLOSED},
    (S.ASSESSMENT, A.CLOSE): CLOSE,
    (S.PLANNING, A.PLAN): {"計画決定": S.SUPPORT},
    (S.PLANNING, A.CLOSE): CLOSE,
    (S.SUPPORT, A.SUPPORT): {"実施": S.SUPPORT},
    (S.SUPPORT, A.CLOSE): CLOSE,
}
DETAILS = {"approach_method": "訪問", "lead_division": "健康課", "hearing_notes": "生活状況を聴取",
           "support_content": "育児支援ヘルパー", "support_notes": "初回訪問"}
ALL_RESULTS = sorted({r for results in EXPECTED.values() for r in results} | {"でたらめ"})


def step(state: CaseState, action: Action, result: str, **over: object) -> CaseState:
    command = StepCommand(action=action, result=result, reason=str(over.get("reason", "確認のため")),
                          details=over.get("details", DETAILS))  # type: ignore[arg-type]
    return apply_step(state, command, actor_id="u-1", actor_role="ward_staff", at=AT).to_state


@pytest.mark.parametrize("state", list(CaseState))
@pytest.mark.parametrize("action", list(Action))
def test_every_state_action_and_result(state: CaseState, action: Action) -> None:
    expected = EXPECTED.get((state, action), {})
    for result in ALL_RESULTS:
        if result in expected:
            assert step(state, action, result) == expected[result]
        else:
            with pytest.raises(InvalidTransition):
                step(state, action, result)


def test_terminal_states_allow_nothing() -> None:
    for state in TERMINAL:
        assert allowed_actions(state) == ()


def test_the_whole_path_from_listing_to_closure() -> None:
    state = S.LISTED
    for action, result in [(A.SCREEN, "要アプローチ"), (A.CONFER, "決定"), (A.APPROACH, "不在"),
                           (A.APPROACH, "面会できた"),
                           (A.ASSESS, "支援が必要"), (A.PLAN, "計画決定"), (A.SUPPORT, "実施"),
                           (A.CLOSE, "支援につながった")]:
        state = step(state, action, result)
    assert state is S.CLOSED


def test_a_step_without_a_reason_is_refused() -> None:
    with pytest.raises(InvalidTransition, match="理由"):
        step(S.LISTED, A.SCREEN, "非該当", reason="   ")


def test_the_conference_needs_a_known_method_and_division() -> None:
    with pytest.raises(InvalidTransition, match="アプローチ方法"):
        step(S.CONFERENCE, A.CONFER, "決定", details={"lead_division": "健康課"})
    with pytest.raises(InvalidTransition, match="主担当課"):
        step(S.CONFERENCE, A.CONFER, "決定", details={"approach_method": "訪問", "lead_division": "総務課"})


def test_a_recorded_step_keeps_who_when_what_and_why() -> None:
    recorded = apply_step(S.CONFERENCE, StepCommand(A.CONFER, "決定", "三課で協議", DETAILS), actor_id="u-9",
                          actor_role="ward_staff", at=AT)
    assert (recorded.actor_id, recorded.at, recorded.action, recorded.result, recorded.reason) == (
        "u-9", AT, A.CONFER, "決定", "三課で協議")
    assert recorded.details == {"approach_method": "訪問", "lead_division": "健康課"}
