"""Item 3: a checkup missed when its age window closes — month ends, leap days, moved-in children."""

from __future__ import annotations

from datetime import date

import pytest

from tests.unit.scoring.factories import assess, fact, raised, residence

pytestmark = pytest.mark.unit


def attended(kind: str, on: str, yes: bool = True):  # type: ignore[no-untyped-def]
    return fact("infant_checkup", fact_id=f"chk-{kind}", valid_from=on, checkup=kind, checkup_date=on, attended=yes)


@pytest.mark.parametrize(("born", "today", "expected"), [
    ("2024-01-31", "2024-07-30", set()),   # 3–4m window closes when the child is 6 months: 31 Jul
    ("2024-01-31", "2024-07-31", {3}),
    ("2024-08-31", "2025-02-28", set()),   # born 31 Aug: no 31 Feb, so 6 months old on 1 Mar (民法 143 条)
    ("2024-08-31", "2025-03-01", {3}),
    ("2023-08-31", "2024-02-29", set()),   # ...in a leap year too
    ("2023-08-31", "2024-03-01", {3}),
    ("2024-08-28", "2025-02-27", set()),   # a day February has: that day
    ("2024-08-28", "2025-02-28", {3}),
])
def test_the_3_4_month_window_closes_at_six_months_with_month_ends(born: str, today: str,
                                                                   expected: set[int]) -> None:
    assert raised([residence(born)], today) & {3} == expected


@pytest.mark.parametrize(("today", "expected"), [
    ("2026-02-28", set()), ("2026-03-01", {3}),   # leap-day child: 2 years old on 1 Mar of a common year
])
def test_a_leap_day_child_misses_1y6m_when_turning_two(today: str, expected: set[int]) -> None:
    facts = [residence("2024-02-29"), attended("3-4m", "2024-06-10")]
    assert raised(facts, today) & {3} == expected


def test_the_3_year_window_of_a_leap_day_child_closes_on_the_next_29_february() -> None:
    facts = [residence("2024-02-29"), attended("3-4m", "2024-06-10"), attended("1y6m", "2025-09-01")]
    assert 3 not in raised(facts, "2028-02-28")
    assert 3 in raised(facts, "2028-02-29")


def test_attending_any_time_clears_and_a_recorded_no_show_is_evidence() -> None:
    child = residence("2024-01-10")
    no_show = attended("3-4m", "2024-05-10", yes=False)
    [flag] = assess([child, no_show], "2024-07-10").flags
    assert flag.item == 3 and flag.raised_on == date(2024, 7, 10)
    assert {e.fact_id for e in flag.evidence} == {"residence-1", "chk-3-4m"}
    assert "3〜4か月児健診" in flag.detail_ja
    late_visit = attended("3-4m", "2024-07-20")  # the same fact, corrected by a later record
    assert raised([child, late_visit], "2024-08-01") & {3} == set()


@pytest.mark.parametrize(("since", "today", "expected"), [
    ("2026-01-10", "2026-06-01", set()),       # moved in at age 2: neither 3–4m nor 1y6m was due here
    ("2024-04-10", "2026-06-01", {3}),         # moved in the day the 3–4m window opened: it was due here
    ("2024-04-11", "2026-06-01", set()),       # a day later: the city could not invite for the whole window
    ("2026-01-10", "2028-01-10", {3}),         # ...but the 3-year window opens after the move and closes
])
def test_children_who_moved_in_after_a_window_opened_did_not_miss_it(since: str, today: str,
                                                                     expected: set[int]) -> None:
    facts = [residence("2024-01-10", resident_since=since), attended("1y6m", "2025-07-15")]
    assert raised(facts, today) & {3} == expected


def test_the_window_can_concern_everyone_here_before_it_closed_when_configured() -> None:
    from dataclasses import replace

    from services.scoring.domain.evaluation import RuleSet
    from services.scoring.domain.rules.checkups import MissedCheckupParams
    from tests.unit.scoring.factories import GUIDELINE
    book = replace(GUIDELINE, rules=RuleSet("t", [replace(r, params=MissedCheckupParams(resident_by="closed"))
                                                  if r.item == 3 else r for r in GUIDELINE.rules.rules]))
    facts = [residence("2024-01-10", resident_since="2024-07-09"), attended("1y6m", "2025-07-15")]
    assert raised(facts, "2026-06-01", book) & {3} == {3}      # here the day before the 3–4m window closed
    facts = [residence("2024-01-10", resident_since="2024-07-10"), attended("1y6m", "2025-07-15")]
    assert raised(facts, "2026-06-01", book) & {3} == set()    # came the day it closed


def test_windows_can_be_counted_in_days_of_age() -> None:
    from dataclasses import replace

    from services.scoring.domain.evaluation import RuleSet
    from services.scoring.domain.rules.checkups import CheckupWindow, MissedCheckupParams
    from tests.unit.scoring.factories import GUIDELINE
    days = MissedCheckupParams(windows=(CheckupWindow("3-4m", 3, 6, opens_at_days=90, closes_at_days=183),))
    book = replace(GUIDELINE, rules=RuleSet("t", [replace(r, params=days) if r.item == 3 else r
                                                  for r in GUIDELINE.rules.rules]))
    assert raised([residence("2024-01-31")], "2024-08-01", book) & {3} == {3}   # age 183 days
    assert raised([residence("2024-01-31")], "2024-07-31", book) & {3} == set()  # (6 months would be today)


def test_without_a_birth_date_nothing_is_missed() -> None:
    nothing = fact("residence", fact_id="r", valid_from="2020-01-01", ward_code="40131")
    assert raised([nothing], "2026-06-01") == set()


def test_the_birth_record_gives_the_birth_date_when_the_registry_has_none() -> None:
    birth = fact("birth", valid_from="2024-01-10", birth_date="2024-01-10")
    assert raised([birth], "2024-07-10") & {3} == {3}


def test_one_flag_names_every_missed_checkup_and_is_raised_from_the_first() -> None:
    [flag] = assess([residence("2021-01-10")], "2026-06-01").flags
    assert flag.raised_on == date(2021, 7, 10)
    assert "3〜4か月児健診" in flag.detail_ja and "1歳6か月児健診" in flag.detail_ja and "3歳児健診" in flag.detail_ja
    assert flag.evidence[0].values["missed"] == "3-4m,1y6m,3y"
