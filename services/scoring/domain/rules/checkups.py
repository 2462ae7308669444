"""乳幼児健診: item 3 (a checkup missed once its age window has closed) and items 4–8 (questionnaire answers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from services.scoring.domain.calendar import age_reached_on
from services.scoring.domain.facts import ChildFacts, Fact
from services.scoring.domain.model import Evidence, Finding
from services.scoring.domain.rules.base import Evaluate, RuleSpec, jp_date

CHECKUP_JA = {"3-4m": "3〜4か月児健診", "1y6m": "1歳6か月児健診", "3y": "3歳児健診"}


@dataclass(frozen=True)
class CheckupWindow:
    """An age window, in calendar months (the law's 満1歳6か月 … 満2歳) or, when given, in days of age."""

    checkup: str
    opens_at_months: int
    closes_at_months: int  # the window is closed from the day the child reaches this age
    opens_at_days: int | None = None
    closes_at_days: int | None = None

    def __post_init__(self) -> None:
        if self.checkup not in CHECKUP_JA:
            raise ValueError(f"checkup must be one of {sorted(CHECKUP_JA)}")
        if not 0 <= self.opens_at_months < self.closes_at_months:
            raise ValueError("need 0 <= opens_at_months < closes_at_months")
        if (self.opens_at_days is None) != (self.closes_at_days is None):
            raise ValueError("give both opens_at_days and closes_at_days, or neither")
        if self.opens_at_days is not None and not 0 <= self.opens_at_days < (self.closes_at_days or 0):
            raise ValueError("need 0 <= opens_at_days < closes_at_days")

    def opens(self, born: date) -> date:
        if self.opens_at_days is not None:
            return born + timedelta(days=self.opens_at_days)
        return age_reached_on(born, self.opens_at_months)

    def closes(self, born: date) -> date:
        if self.closes_at_days is not None:
            return born + timedelta(days=self.closes_at_days)
        return age_reached_on(born, self.closes_at_months)


@dataclass(frozen=True)
class MissedCheckupParams:
    windows: tuple[CheckupWindow, ...] = (
        CheckupWindow("3-4m", 3, 6), CheckupWindow("1y6m", 18, 24), CheckupWindow("3y", 36, 48))
    # Whom a window concerns: children living in the city on the day it "opened" (the city could invite them
    # for the whole window), or on the day before it "closed" (anyone who was here while it was still open).
    resident_by: Literal["opened", "closed"] = "opened"
    # 母子保健's data horizon (filled from the rule file's [data_horizons], not set here): a window that opened
    # before it is not judged — its records may simply not have been loaded at go-live.
    records_from: date | None = None


def _checkups(facts: ChildFacts, checkup: str) -> list[Fact]:
    return [f for f in facts.of_kind("infant_checkup") if f.relation == "self" and f.attr("checkup") == checkup]


def missed_checkup(facts: ChildFacts, today: date, params: MissedCheckupParams) -> Finding | None:
    basis = facts.birth_record(today)
    born = basis.date_attr("birth_date") if basis is not None else None
    if basis is None or born is None:
        return None  # without a birth date the windows are unknown: no data is not a negative
    since = facts.resident_since(today)
    missed: list[tuple[CheckupWindow, date]] = []
    evidence: list[Evidence] = []
    for window in params.windows:
        closes = window.closes(born)
        if today < closes or (params.records_from is not None and window.opens(born) < params.records_from):
            continue
        must_live_here_by = window.opens(born) if params.resident_by == "opened" else closes - timedelta(days=1)
        if since is not None and since > must_live_here_by:
            continue  # moved in after the window opened (or closed): the city cannot have missed this checkup
        records = _checkups(facts, window.checkup)
        if any(f.attr("attended") is True for f in records):
            continue
        missed.append((window, closes))
        evidence.extend(Evidence.of(f, f"{CHECKUP_JA[window.checkup]} 未受診の記録", checkup=window.checkup,
                                    attended=False) for f in records)
    if not missed:
        return None
    names = "・".join(f"{CHECKUP_JA[w.checkup]}（{jp_date(c)} 期限）" for w, c in missed)
    where = "住民記録" if basis.kind == "residence" else "出生の記録"
    evidence.insert(0, Evidence.of(
        basis, f"{where}: 健診対象期間に市内に居住（転入日 {jp_date(since) if since else '出生時から'}）",
        missed=",".join(w.checkup for w, _ in missed), closes_on=",".join(c.isoformat() for _, c in missed)))
    return Finding(min(c for _, c in missed), f"{names}の受診記録なし", tuple(evidence))


def window_closings(facts: ChildFacts, today: date, params: MissedCheckupParams) -> list[date]:
    born = facts.birth_date(today)
    return [w.closes(born) for w in params.windows] if born else []


@dataclass(frozen=True)
class QuestionnaireParams:
    checkups: tuple[str, ...] = ("3-4m", "1y6m", "3y")

    def __post_init__(self) -> None:
        if not self.checkups or set(self.checkups) - set(CHECKUP_JA):
            raise ValueError(f"checkups must be a non-empty list of {sorted(CHECKUP_JA)}")


@dataclass(frozen=True)
class InfantQuestionnaireParams(QuestionnaireParams):
    checkups: tuple[str, ...] = ("3-4m", "1y6m")


def _answered_yes(answer: str, question_ja: str) -> Evaluate:
    def evaluate(facts: ChildFacts, today: date, params: QuestionnaireParams) -> Finding | None:
        found = [f for f in facts.of_kind("infant_checkup")
                 if f.relation == "self" and f.attr("checkup") in params.checkups and f.attr(answer) is True
                 and f.started_by(today)]
        if not found:
            return None
        evidence = tuple(
            Evidence.of(f, f"{CHECKUP_JA.get(str(f.attr('checkup')), '乳幼児健診')}"
                           f"（{jp_date(f.dated('checkup_date'))}） 問診「{question_ja}」に該当",
                        checkup=f.attr("checkup"), **{answer: True})
            for f in found
        )
        since = min((d for f in found if (d := f.dated("checkup_date")) is not None), default=None)
        return Finding(since, f"健診問診で「{question_ja}」に該当", evidence)
    return evaluate


RULES = (
    RuleSpec(3, "乳幼児健診未受診",
             ("infant_checkup", "residence", "birth"), MissedCheckupParams, missed_checkup, window_closings,
             concludes_absence=True, absence_sources=("maternal_child_health",)),
    RuleSpec(4, "健診問診「感情的に叩いた」",
             ("infant_checkup",), QuestionnaireParams, _answered_yes("hit_emotionally", "感情的に叩いた")),
    RuleSpec(5, "健診問診「家に残して外出」",
             ("infant_checkup",), QuestionnaireParams, _answered_yes("left_alone", "家に残して外出")),
    RuleSpec(6, "健診問診「長時間食事を与えなかった」",
             ("infant_checkup",), QuestionnaireParams, _answered_yes("not_fed", "長時間食事を与えなかった")),
    RuleSpec(7, "健診問診「口をふさいだ」",
             ("infant_checkup",), InfantQuestionnaireParams, _answered_yes("covered_mouth", "口をふさいだ")),
    RuleSpec(8, "健診問診「激しく揺さぶった」",
             ("infant_checkup",), InfantQuestionnaireParams, _answered_yes("shook_violently", "激しく揺さぶった")),
)
