"""行政とのつながり (issue 18): the city's own connection signals, beside the 19 items.

Not guideline items: context for the ward (a child of 3–5 attending nothing and unknown to every service is a
different case from one a public nurse sees monthly). Each is a rule like an item — switchable in the rule file
(``[signals.<code>]``), versioned, with evidence — numbered 101… inside scoring and published by ``code`` in the
assessment's separate ``signals`` list (``domain/signals.py``), never as a flag. They weigh 0 unless the rule
file's ``[weights.signals]`` gives them a weight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from services.scoring.domain.calendar import age_reached_on
from services.scoring.domain.facts import ChildFacts, Fact
from services.scoring.domain.model import Evidence, Finding
from services.scoring.domain.rules.base import RuleSpec, jp_date

UNENROLLED, KNOWN_TO_GUIDANCE, MOVED_IN, NO_CONTACT = 101, 102, 103, 104
SIGNAL_CODES = {UNENROLLED: "unenrolled", KNOWN_TO_GUIDANCE: "known_to_guidance", MOVED_IN: "moved_in",
                NO_CONTACT: "no_contact"}
_INVOLVEMENT_JA = {"support": "支援中", "youtaikyo": "要対協登録", "temporary_protection": "一時保護"}


@dataclass(frozen=True)
class UnenrolledParams:
    from_age_months: int = 36  # 満3歳
    until_age_months: int = 72  # 満6歳 (the school year after, the child is at school)
    # 子ども・子育て支援's data horizon (from the rule file's [data_horizons]): a nursery that ended before it may
    # not be in the load, so "unenrolled" is known from that day only — the signal is dated no earlier.
    records_from: date | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.from_age_months < self.until_age_months:
            raise ValueError("need 0 <= from_age_months < until_age_months")


def _age_bounds(facts: ChildFacts, today: date, params: UnenrolledParams) -> tuple[date, date] | None:
    born = facts.birth_date(today)
    return (age_reached_on(born, params.from_age_months), age_reached_on(born, params.until_age_months)) \
        if born else None


def unenrolled(facts: ChildFacts, today: date, params: UnenrolledParams) -> Finding | None:
    bounds = _age_bounds(facts, today, params)
    if bounds is None or not bounds[0] <= today < bounds[1]:
        return None
    if params.records_from is not None and today < params.records_from:
        return None  # before the childcare records are complete nothing is known
    childcare = [f for f in facts.of_kind("childcare") if f.relation == "self"]
    if any(f.active_on(today) for f in childcare):
        return None
    known = max([bounds[0], *(d for d in [facts.resident_since(today)] if d),
                 *(f.valid_to for f in childcare if f.valid_to is not None and f.valid_to <= today)])
    since = max(known, params.records_from or known)
    basis = facts.birth_record(today)
    horizon = f"（保育施設等の記録は{jp_date(since)}以降）" if since > known else ""
    evidence = tuple([Evidence.of(basis, f"満{params.from_age_months // 12}歳 {jp_date(bounds[0])}、"
                                         f"保育所・幼稚園等の利用記録なし{horizon}", enrolled=False)]
                     if basis else []) + tuple(
        Evidence.of(f, f"保育施設等 利用 {jp_date(f.valid_from)}〜{jp_date(f.valid_to)}（終了）",
                    facility_kind=f.attr("facility_kind")) for f in childcare)
    return Finding(since, "3〜5歳で保育所・幼稚園等のいずれも利用していない（未就園）", evidence)


def unenrolled_dates(facts: ChildFacts, today: date, params: UnenrolledParams) -> list[date]:
    bounds = list(_age_bounds(facts, today, params) or ())
    return [*bounds, params.records_from] if bounds and params.records_from else bounds


@dataclass(frozen=True)
class GuidanceParams:
    involvements: tuple[str, ...] = ("support", "youtaikyo", "temporary_protection")

    def __post_init__(self) -> None:
        if not self.involvements or set(self.involvements) - set(_INVOLVEMENT_JA):
            raise ValueError(f"involvements must be a non-empty list of {sorted(_INVOLVEMENT_JA)}")


def _known_since(cases: list[Fact], today: date) -> date | None:
    """The start of the unbroken stretch of involvement that includes today (cases overlapping or meeting)."""
    active = [f for f in cases if f.active_on(today)]
    if any(f.valid_from is None for f in active):
        return None
    since = min(f.valid_from for f in active if f.valid_from is not None)
    extended = True
    while extended:
        extended = False
        for f in cases:
            if f.valid_from is not None and f.valid_from < since and (f.valid_to is None or f.valid_to >= since):
                since, extended = f.valid_from, True
    return since


def known_to_guidance(facts: ChildFacts, today: date, params: GuidanceParams) -> Finding | None:
    cases = [f for f in facts.of_kind("child_guidance") if f.relation == "self" and f.started_by(today)
             and f.attr("involvement") in params.involvements]
    active = [f for f in cases if f.active_on(today)]
    if not active:
        return None
    evidence = tuple(Evidence.of(f, f"児童相談所 {_INVOLVEMENT_JA.get(str(f.attr('involvement')), '関与')} "
                                    f"{jp_date(f.valid_from)}〜（継続中）", involvement=f.attr("involvement"))
                     for f in active)
    return Finding(_known_since(cases, today), "児童相談所が現在関与している（支援中・要対協登録・一時保護）", evidence)


@dataclass(frozen=True)
class MovedInParams:
    months: int = 12

    def __post_init__(self) -> None:
        if self.months < 1:
            raise ValueError("months must be at least 1")


def _moved_in_on(facts: ChildFacts, today: date) -> date | None:
    """転入日 of the current stay; a child born here (linkage gives the birth day as resident_since) did not move."""
    since, born = facts.resident_since(today), facts.birth_date(today)
    return since if since is not None and (born is None or since > born) else None


def moved_in(facts: ChildFacts, today: date, params: MovedInParams) -> Finding | None:
    since = _moved_in_on(facts, today)
    if since is None or not since <= today < age_reached_on(since, params.months):
        return None
    residence = facts.residence(today)
    assert residence is not None  # resident_since comes from it
    return Finding(since, f"市外から転入して{params.months}か月以内",
                   (Evidence.of(residence, f"住民記録: 転入日 {jp_date(since)}", resident_since=since.isoformat()),))


def moved_in_dates(facts: ChildFacts, today: date, params: MovedInParams) -> list[date]:
    since = _moved_in_on(facts, today)
    return [age_reached_on(since, params.months)] if since else []


@dataclass(frozen=True)
class NoContactParams:
    months: int = 12
    # Only children younger than this many months (e.g. 72, 満6歳: before school); None: every child under 18 —
    # a 16-year-old at a prefectural high school has no contact with a city service either.
    until_age_months: int | None = None
    # The latest data horizon of the systems a contact is read from (from [data_horizons]): the months without
    # contact are counted from that day at the earliest, as a contact before it may not be in the load.
    records_from: date | None = None

    def __post_init__(self) -> None:
        if self.months < 1:
            raise ValueError("months must be at least 1")
        if self.until_age_months is not None and self.until_age_months < 1:
            raise ValueError("until_age_months must be at least 1 (or left out: every child)")


def _count_from(facts: ChildFacts, today: date, born: date, last: date | None,
                params: NoContactParams) -> tuple[date, bool]:
    """The day the months without contact count from, and whether that is the data horizon (a later day than
    the facts alone would give)."""
    known = max([born, *(d for d in (last, facts.resident_since(today)) if d)])
    if params.records_from is not None and params.records_from > known:
        return params.records_from, True
    return known, False


def _last_contact(facts: ChildFacts, today: date) -> tuple[date | None, Fact | None]:
    """The last day any public service saw the child: a checkup attended, a visit, an allowance application, a
    school report; a service still under way (nursery, school, 児童相談所) is contact today."""
    best: tuple[date | None, Fact | None] = (None, None)
    for kind in ("childcare", "school_enrolment", "child_guidance", "infant_checkup", "attendance",
                 "school_health_checkup", "allowance", "postpartum_checkup"):
        for f in facts.of_kind(kind):
            if not f.started_by(today) or (kind == "infant_checkup" and f.attr("attended") is not True):
                continue
            day = today if f.active_on(today) and kind in ("childcare", "school_enrolment", "child_guidance") \
                else min(today, f.valid_to or f.dated("checkup_date") or today)
            if best[0] is None or day > best[0]:
                best = (day, f)
    return best


def no_contact(facts: ChildFacts, today: date, params: NoContactParams) -> Finding | None:
    born = facts.birth_date(today)
    if born is None or (params.until_age_months is not None and
                        today >= age_reached_on(born, params.until_age_months)):
        return None
    last, fact = _last_contact(facts, today)
    start, at_horizon = _count_from(facts, today, born, last, params)
    due = age_reached_on(start, params.months)
    if today < due:
        return None
    basis = fact or facts.birth_record(today)
    horizon = f"（記録は{jp_date(start)}以降）" if at_horizon else ""
    evidence = (Evidence.of(basis, f"最後の行政サービスとの接点 {jp_date(last) if last else 'なし'}{horizon}",
                            last_contact=last.isoformat() if last else None),) if basis else ()
    return Finding(due, f"{params.months}か月以上、行政サービスとの接点の記録がない", evidence)


def no_contact_dates(facts: ChildFacts, today: date, params: NoContactParams) -> list[date]:
    born = facts.birth_date(today)
    if born is None:
        return []
    last, _ = _last_contact(facts, today)
    due = age_reached_on(_count_from(facts, today, born, last, params)[0], params.months)
    return [due, age_reached_on(born, params.until_age_months)] if params.until_age_months is not None else [due]


SIGNALS = (
    RuleSpec(UNENROLLED, "未就園", ("childcare", "residence", "birth"), UnenrolledParams, unenrolled, unenrolled_dates,
             concludes_absence=True, absence_sources=("childcare",)),
    RuleSpec(KNOWN_TO_GUIDANCE, "児童相談所が関与中", ("child_guidance",), GuidanceParams, known_to_guidance),
    RuleSpec(MOVED_IN, "市外からの転入", ("residence",), MovedInParams, moved_in, moved_in_dates),
    RuleSpec(NO_CONTACT, "行政との接点なし",
             ("childcare", "school_enrolment", "child_guidance", "infant_checkup", "attendance",
              "school_health_checkup", "allowance", "postpartum_checkup", "residence", "birth"),
             NoContactParams, no_contact, no_contact_dates, concludes_absence=True,
             absence_sources=("childcare", "school_students", "child_guidance", "maternal_child_health",
                              "school_affairs", "child_allowance")),
)
