"""The ward's screening workflow (一次スクリーニング → … → 終結) as a state machine.

Each step is an action with a result; the pair decides the next state. Anything else is refused.
Every recorded step keeps who, when, what (action, result, details) and why (reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class CaseState(StrEnum):
    LISTED = "一次スクリーニング"
    CONFERENCE = "関係三課協議"
    APPROACH = "個別アプローチ"
    ASSESSMENT = "アセスメント"
    PLANNING = "プランニング"
    SUPPORT = "支援"
    ON_HOLD = "保留"
    CLOSED = "終結"
    TRANSFERRED = "移管"


class Action(StrEnum):
    SCREEN = "二次スクリーニング"
    CONFER = "関係三課協議"
    APPROACH = "個別アプローチ"
    ASSESS = "アセスメント"
    PLAN = "プランニング"
    SUPPORT = "支援"
    CLOSE = "終結"


TERMINAL = frozenset({CaseState.CLOSED, CaseState.TRANSFERRED})
OPEN_STATES = frozenset(CaseState) - TERMINAL

APPROACH_METHODS = ("訪問", "電話", "文書", "来所案内")
DIVISIONS = ("子育て支援課", "地域保健福祉課", "健康課")
CLOSE_OUTCOMES = (
    "支援につながった", "既に支援につながっている", "非該当", "支援不要", "転出", "連絡不能", "他機関へ引継ぎ",
)

# (state, action) → {result: next state}
TRANSITIONS: dict[tuple[CaseState, Action], dict[str, CaseState]] = {
    (CaseState.LISTED, Action.SCREEN): {
        "要アプローチ": CaseState.CONFERENCE,
        "既に支援につながっている": CaseState.CLOSED,
        "非該当": CaseState.CLOSED,
        "保留": CaseState.ON_HOLD,
    },
    (CaseState.CONFERENCE, Action.CONFER): {"決定": CaseState.APPROACH},
    (CaseState.APPROACH, Action.APPROACH): {
        "面会できた": CaseState.ASSESSMENT,
        "電話で聴取できた": CaseState.ASSESSMENT,
        "不在": CaseState.APPROACH,
        "連絡がつかない": CaseState.APPROACH,
        "拒否": CaseState.ASSESSMENT,
    },
    (CaseState.ASSESSMENT, Action.ASSESS): {"支援が必要": CaseState.PLANNING, "支援は不要": CaseState.CLOSED},
    (CaseState.PLANNING, Action.PLAN): {"計画決定": CaseState.SUPPORT},
    (CaseState.SUPPORT, Action.SUPPORT): {"実施": CaseState.SUPPORT},
}
# Re-screening a case on hold follows the same choices as the first screening.
TRANSITIONS[(CaseState.ON_HOLD, Action.SCREEN)] = dict(TRANSITIONS[(CaseState.LISTED, Action.SCREEN)])
# A case may be closed with an outcome from any open state once it has been screened.
for _state in OPEN_STATES - {CaseState.LISTED}:
    TRANSITIONS[(_state, Action.CLOSE)] = {outcome: CaseState.CLOSED for outcome in CLOSE_OUTCOMES}

# Details each action must carry, with their allowed values (None: free text).
REQUIRED_DETAILS: dict[Action, dict[str, tuple[str, ...] | None]] = {
    Action.CONFER: {"approach_method": APPROACH_METHODS, "lead_division": DIVISIONS},
    Action.APPROACH: {"hearing_notes": None},
    Action.PLAN: {"support_content": None},
    Action.SUPPORT: {"support_notes": None},
}
DETAIL_LABELS = {
    "approach_method": "アプローチ方法", "lead_division": "主担当課", "hearing_notes": "聞き取り内容",
    "support_content": "支援内容", "support_notes": "実施内容",
}
MAX_TEXT = 2000


class InvalidTransition(Exception):
    """The step does not fit the case's state, or its result or details are not allowed."""


@dataclass(frozen=True)
class StepCommand:
    action: Action
    result: str
    reason: str
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StepRecorded:
    action: Action
    result: str
    reason: str
    details: dict[str, str]
    from_state: CaseState
    to_state: CaseState
    actor_id: str
    actor_role: str
    at: datetime


def results_for(state: CaseState, action: Action) -> tuple[str, ...]:
    return tuple(TRANSITIONS.get((state, action), {}))


def allowed_actions(state: CaseState) -> tuple[Action, ...]:
    return tuple(action for action in Action if (state, action) in TRANSITIONS)


def apply_step(state: CaseState, command: StepCommand, *, actor_id: str, actor_role: str,
               at: datetime) -> StepRecorded:
    outcomes = TRANSITIONS.get((state, command.action))
    if outcomes is None:
        raise InvalidTransition(f"{command.action.value} は {state.value} の段階では記録できません")
    if command.result not in outcomes:
        raise InvalidTransition(f"{command.action.value} の結果が選択肢にありません")
    reason = command.reason.strip()
    if not reason:
        raise InvalidTransition("理由を入力してください")
    if len(reason) > MAX_TEXT:
        raise InvalidTransition(f"理由は{MAX_TEXT}文字以内で入力してください")
    details = _checked_details(command)
    return StepRecorded(
        action=command.action, result=command.result, reason=reason, details=details, from_state=state,
        to_state=outcomes[command.result], actor_id=actor_id, actor_role=actor_role, at=at,
    )


def _checked_details(command: StepCommand) -> dict[str, str]:
    required = REQUIRED_DETAILS.get(command.action, {})
    details: dict[str, str] = {}
    for name, allowed in required.items():
        value = (command.details.get(name) or "").strip()
        label = DETAIL_LABELS[name]
        if not value:
            raise InvalidTransition(f"{label}を入力してください")
        if allowed is not None and value not in allowed:
            raise InvalidTransition(f"{label}が選択肢にありません")
        if len(value) > MAX_TEXT:
            raise InvalidTransition(f"{label}は{MAX_TEXT}文字以内で入力してください")
        details[name] = value
    return details
