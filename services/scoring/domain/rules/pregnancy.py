"""From the pregnancy that led to the child (母子保健): items 15 (late 妊娠届), 16 (no 妊婦健診), 17 (high EPDS)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from services.scoring.domain.facts import ChildFacts, Fact
from services.scoring.domain.model import Evidence, Finding
from services.scoring.domain.rules.base import RuleSpec, jp_date


def _pregnancy_ids(facts: ChildFacts) -> set[str]:
    return {str(p) for f in facts.of_kind("birth") if f.relation == "self" and (p := f.attr("pregnancy_id"))}


def _of_this_pregnancy(facts: ChildFacts, kind: str) -> list[Fact]:
    """Facts of the pregnancy that became this child when the birth record names it (facts naming another
    pregnancy are left out); else all the mother's pregnancy facts that reached the child."""
    candidates = [f for f in facts.of_kind(kind) if f.relation in ("mother", "self")]
    ids = _pregnancy_ids(facts)
    if not ids:
        return candidates
    return [f for f in candidates if f.attr("pregnancy_id") is None or str(f.attr("pregnancy_id")) in ids]


@dataclass(frozen=True)
class LateNotificationParams:
    weeks_at_least: int = 12


def late_pregnancy_notification(facts: ChildFacts, today: date, params: LateNotificationParams) -> Finding | None:
    late = [(f, int(weeks)) for f in _of_this_pregnancy(facts, "pregnancy_notified")
            if (weeks := f.number_attr("gestational_weeks")) is not None and weeks >= params.weeks_at_least
            and f.started_by(today)]
    if not late:
        return None
    evidence = tuple(Evidence.of(f, f"妊娠届出（{jp_date(f.dated('notification_date'))}）時の妊娠週数 {weeks}週",
                                 gestational_weeks=weeks) for f, weeks in late)
    raised = min((d for f, _ in late if (d := f.dated("notification_date")) is not None), default=None)
    return Finding(raised, f"母子手帳交付時の妊娠週数が{params.weeks_at_least}週以降", evidence)


TERM_DAYS = 280  # a pregnancy's length, from 妊娠0週0日 to the due date


@dataclass(frozen=True)
class NoPrenatalCheckupParams:
    grace_days_after_birth: int = 0  # wait this long for late-arriving visit records before flagging
    # Only judge pregnancies notified in the city: a mother who moved in late had her checkups elsewhere.
    require_notification: bool = True
    # 母子保健's data horizon (from the rule file's [data_horizons]): a pregnancy that began before it (notified
    # before it; without a notification, 280 days before the birth) is not judged.
    records_from: date | None = None


def no_prenatal_checkup(facts: ChildFacts, today: date, params: NoPrenatalCheckupParams) -> Finding | None:
    born = facts.birth_date(today)
    if born is None or today < born + timedelta(days=params.grace_days_after_birth):
        return None
    notified = [f for f in _of_this_pregnancy(facts, "pregnancy_notified") if f.started_by(born)]
    if params.require_notification and not notified:
        return None
    if params.records_from is not None:
        began = min((d for f in notified if (d := f.dated("notification_date")) is not None),
                    default=born - timedelta(days=TERM_DAYS))
        if began < params.records_from:
            return None  # its visits may predate what the system loaded
    visits = [f for f in _of_this_pregnancy(facts, "prenatal_checkup")
              if (d := f.dated("visit_date")) is not None and d <= born]
    if visits:
        return None
    births = [f for f in facts.of_kind("birth") if f.relation == "self"]
    evidence = tuple(
        [Evidence.of(f, f"妊娠届出 {jp_date(f.dated('notification_date'))}、出産までの妊婦健診受診記録なし",
                     prenatal_visits=0) for f in notified]
        + [Evidence.of(f, f"出生 {jp_date(born)}", prenatal_visits=0) for f in births])
    return Finding(born + timedelta(days=params.grace_days_after_birth),
                   "出産までに妊婦健診の受診記録が全くない", evidence)


def end_of_grace(facts: ChildFacts, today: date, params: NoPrenatalCheckupParams) -> list[date]:
    born = facts.birth_date(today)
    return [born + timedelta(days=params.grace_days_after_birth)] if born else []


@dataclass(frozen=True)
class HighEpdsParams:
    total_at_least: int = 9
    item10_above: int = 0


def high_epds(facts: ChildFacts, today: date, params: HighEpdsParams) -> Finding | None:
    high = []
    for fact in facts.of_kind("postpartum_checkup"):
        total, item10 = fact.number_attr("epds_total"), fact.number_attr("epds_item10")
        checked = fact.dated("checkup_date")
        if checked is not None and checked > today:
            continue
        if (total is not None and total >= params.total_at_least) or (item10 is not None
                                                                        and item10 > params.item10_above):
            high.append((checked, fact, total, item10))
    if not high:
        return None
    high.sort(key=lambda h: (h[0] or date.max, h[1].fact_id))
    evidence = tuple(
        Evidence.of(f, f"産婦健診（{jp_date(d)}）EPDS 合計 {_n(total)}点・項目10 {_n(item10)}点",
                    epds_total=_n(total), epds_item10=_n(item10)) for d, f, total, item10 in high)
    return Finding(high[0][0], f"産婦健診でEPDS {params.total_at_least}点以上、または項目10（自傷）が"
                               f"{params.item10_above}点超", evidence)


def _n(value: float | None) -> int | None:
    return None if value is None else int(value)


RULES = (
    RuleSpec(15, "妊娠届出の遅れ",
             ("pregnancy_notified", "birth"), LateNotificationParams, late_pregnancy_notification),
    RuleSpec(16, "妊婦健診未受診",
             ("pregnancy_notified", "prenatal_checkup", "birth", "residence"), NoPrenatalCheckupParams,
             no_prenatal_checkup, end_of_grace, concludes_absence=True, absence_sources=("maternal_child_health",)),
    RuleSpec(17, "産婦健診EPDS高値", ("postpartum_checkup",), HighEpdsParams, high_epds),
)
