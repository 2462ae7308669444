"""What evaluation knows about a listed child's case: the listing and the workflow steps that followed.

Steps and results are casework's (casework.outcomes.v1) words; evaluation only reads them. A case is keyed by
casework's alert id; the child appears under casework's pseudonymous child id and never by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from contracts.vocabulary import TIERS as VOCABULARY_TIERS

SCREEN, CONFER, APPROACH, ASSESS, PLAN, SUPPORT, CLOSE = (
    "二次スクリーニング", "関係三課協議", "個別アプローチ", "アセスメント", "プランニング", "支援", "終結")
REACHED_RESULTS = frozenset({"面会できた", "電話で聴取できた"})
SCREEN_DECISIONS = frozenset({"要アプローチ", "既に支援につながっている", "非該当"})
ALREADY_SUPPORTED = "既に支援につながっている"
NOT_APPLICABLE = "非該当"
NEEDS_SUPPORT = "支援が必要"
CLOSED_CONNECTED = "支援につながった"
TIERS = VOCABULARY_TIERS
NO_TIER = "階層なし"

# The state a step's result leaves the case in (casework's state machine, read only for the backlog).
_NEXT_STATE: dict[tuple[str, str | None], str] = {
    (SCREEN, "要アプローチ"): "関係三課協議", (SCREEN, ALREADY_SUPPORTED): "終結",
    (SCREEN, NOT_APPLICABLE): "終結", (SCREEN, "保留"): "保留", (CONFER, "決定"): "個別アプローチ",
    (APPROACH, "面会できた"): "アセスメント", (APPROACH, "電話で聴取できた"): "アセスメント",
    (APPROACH, "拒否"): "アセスメント", (APPROACH, "不在"): "個別アプローチ",
    (APPROACH, "連絡がつかない"): "個別アプローチ", (ASSESS, NEEDS_SUPPORT): "プランニング",
    (ASSESS, "支援は不要"): "終結", (PLAN, "計画決定"): "支援", (SUPPORT, "実施"): "支援",
}
LISTED_STATE = "一次スクリーニング"
CLOSED_STATE = "終結"


@dataclass(frozen=True)
class Step:
    step: str
    result: str | None
    at: datetime


@dataclass
class Case:
    case_id: str
    child_id: str
    ward_code: str
    listed_at: datetime
    tier: str | None
    items: frozenset[int]
    steps: list[Step] = field(default_factory=list)
    current_items: frozenset[int] | None = None  # the child's flags now (None: no flags message seen)

    def ordered_steps(self) -> list[Step]:
        return sorted(self.steps, key=lambda s: s.at)

    def _first(self, step: str, results: frozenset[str] | None = None) -> Step | None:
        for s in self.ordered_steps():
            if s.step == step and (results is None or s.result in results):
                return s
        return None

    def _any_result(self, result: str) -> bool:
        return any(s.result == result for s in self.steps)

    @property
    def tier_label(self) -> str:
        return self.tier or NO_TIER

    @property
    def screened(self) -> bool:
        return self._first(SCREEN, SCREEN_DECISIONS) is not None

    @property
    def approached(self) -> bool:
        return self._first(APPROACH) is not None

    @property
    def reached_at(self) -> datetime | None:
        step = self._first(APPROACH, REACHED_RESULTS)
        return step.at if step else None

    @property
    def reached(self) -> bool:
        return self.reached_at is not None

    @property
    def assessed_at(self) -> datetime | None:
        step = self._first(ASSESS)
        return step.at if step else None

    @property
    def assessed(self) -> bool:
        return self.assessed_at is not None

    @property
    def needs_support(self) -> bool:
        """Assessed as needing support (or closed as connected to support, which implies it)."""
        return self._any_result(NEEDS_SUPPORT) or self._any_result(CLOSED_CONNECTED)

    @property
    def already_supported(self) -> bool:
        return self._any_result(ALREADY_SUPPORTED)

    @property
    def not_applicable(self) -> bool:
        return self._any_result(NOT_APPLICABLE)

    @property
    def cleared_items(self) -> frozenset[int]:
        """Items at listing the child no longer carries (the fact ended, was corrected or unlinked)."""
        if self.current_items is None:
            return frozenset()
        return self.items - self.current_items

    def days_to(self, moment: datetime | None) -> float | None:
        return None if moment is None else (moment - self.listed_at).total_seconds() / 86400

    def state_at(self, moment: datetime) -> str | None:
        """The workflow state at ``moment`` (None: not yet listed)."""
        if self.listed_at > moment:
            return None
        state = LISTED_STATE
        for s in self.ordered_steps():
            if s.at > moment:
                break
            if s.step == CLOSE:
                state = CLOSED_STATE
            else:
                state = _NEXT_STATE.get((s.step, s.result), state)
        return state
