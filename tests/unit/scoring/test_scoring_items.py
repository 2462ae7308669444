"""Each guideline item, exactly at and around its thresholds (guideline-all rule book, all items on)."""

from __future__ import annotations

from statistics import NormalDist

import pytest

from services.scoring.domain.growth import weight_for_age_lms
from tests.unit.scoring.factories import FUKUOKA, assess, fact, raised, residence

pytestmark = pytest.mark.unit

TODAY = "2026-06-01"
CHILD = residence("2020-05-01", resident_since="2025-06-01")  # moved in at 5: no checkup was due here


def guidance(involvement: str, start: str, end: str | None = None):  # type: ignore[no-untyped-def]
    return fact("child_guidance", valid_from=start, valid_to=end, involvement=involvement, case_no="G1")


@pytest.mark.parametrize(("facts", "expected"), [
    ([guidance("youtaikyo", "2024-04-01", "2025-03-31")], {1}),            # ended long ago: still "ever"
    ([guidance("youtaikyo", "2026-06-01")], {1}),                          # registered today
    ([guidance("youtaikyo", "2026-06-02")], set()),                        # not yet
    ([guidance("temporary_protection", "2023-01-05", "2023-02-01")], {2}),
    ([guidance("support", "2026-01-01")], set()),                           # support is not an item
])
def test_items_1_and_2_child_guidance_history(facts: list, expected: set[int]) -> None:
    assert raised([CHILD, *facts], TODAY) == expected


def test_support_by_child_guidance_is_reported_while_it_lasts() -> None:
    assert assess([CHILD, guidance("support", "2026-01-01")], TODAY).supported_by_child_guidance
    assert not assess([CHILD, guidance("support", "2026-01-01", "2026-06-01")], TODAY).supported_by_child_guidance


def checkup(kind: str, date: str, **answers: object):  # type: ignore[no-untyped-def]
    return fact("infant_checkup", fact_id=f"chk-{kind}", valid_from=date, checkup=kind, checkup_date=date,
                attended=True, **answers)


@pytest.mark.parametrize(("kind", "answer", "expected"), [
    ("3-4m", "hit_emotionally", {4}), ("1y6m", "hit_emotionally", {4}), ("3y", "hit_emotionally", {4}),
    ("3y", "left_alone", {5}), ("1y6m", "not_fed", {6}),
    ("3-4m", "covered_mouth", {7}), ("1y6m", "covered_mouth", {7}), ("3y", "covered_mouth", set()),
    ("3-4m", "shook_violently", {8}), ("3y", "shook_violently", set()),
])
def test_items_4_to_8_questionnaire_answers(kind: str, answer: str, expected: set[int]) -> None:
    assert raised([CHILD, checkup(kind, "2023-05-10", **{answer: True})], TODAY) == expected
    assert raised([CHILD, checkup(kind, "2023-05-10", **{answer: False})], TODAY) == set()


def _third_percentile(sex: str, age_days: int) -> float:
    lms = weight_for_age_lms(sex, age_days)
    assert lms is not None
    z = NormalDist().inv_cdf(0.03)
    return lms.m * (1 + lms.l * lms.s * z) ** (1 / lms.l)


@pytest.mark.parametrize(("sex", "delta", "expected"), [
    ("1", -0.01, {9}), ("1", +0.01, set()), ("2", -0.01, {9}), ("2", +0.01, set()),
])
def test_item_9_weight_below_the_3rd_percentile_at_1y6m(sex: str, delta: float, expected: set[int]) -> None:
    child = residence("2024-01-10", sex=sex)
    age_days = 547  # 2024-01-10 → 2025-07-10
    weight = round(_third_percentile(sex, age_days) + delta, 3)
    exam = fact("infant_checkup", valid_from="2025-07-10", checkup="1y6m", checkup_date="2025-07-10",
                attended=True, weight_kg=weight)
    assert raised([child, exam], TODAY) & {9} == expected


def test_item_9_is_not_judged_without_sex_or_at_the_3_4m_checkup() -> None:
    exam = fact("infant_checkup", valid_from="2025-07-10", checkup="1y6m", checkup_date="2025-07-10",
                attended=True, weight_kg=5.0)
    sexless = fact("residence", fact_id="r", valid_from="2024-01-10", birth_date="2024-01-10", ward_code="40131")
    assert raised([sexless, exam], TODAY) & {9} == set()
    early = fact("infant_checkup", valid_from="2024-05-10", checkup="3-4m", checkup_date="2024-05-10",
                 attended=True, weight_kg=2.0)
    assert raised([residence("2024-01-10"), early], TODAY) & {9} == set()


def school_checkup(date: str, height: float, weight: float):  # type: ignore[no-untyped-def]
    return fact("school_health_checkup", fact_id=f"shc-{date}", valid_from=date, checkup_date=date,
                height_cm=height, weight_kg=weight)


@pytest.mark.parametrize(("weight", "expected"), [(21.97, set()), (21.96, {9}), (15.0, {9}), (30.0, set())])
def test_item_9_rohrer_index_below_100_at_the_school_checkup(weight: float, expected: set[int]) -> None:
    # 130 cm: ローレル指数 100 ⇔ 21.97 kg
    assert raised([CHILD, school_checkup("2026-04-20", 130.0, weight)], TODAY) == expected


def test_item_9_a_later_measurement_that_is_not_low_clears() -> None:
    child = residence("2020-01-10", sex="1")
    low_1y6m = fact("infant_checkup", fact_id="c1", valid_from="2021-07-15", checkup="1y6m",
                    checkup_date="2021-07-15", attended=True, weight_kg=7.5)
    normal_3y = fact("infant_checkup", fact_id="c2", valid_from="2023-01-20", checkup="3y",
                     checkup_date="2023-01-20", attended=True, weight_kg=14.5)
    [flag] = [f for f in assess([child, low_1y6m], "2022-01-01").flags if f.item == 9]
    assert flag.raised_on.isoformat() == "2021-07-15"
    assert 9 not in raised([child, low_1y6m, normal_3y], "2023-02-01")
    low_3y = fact("infant_checkup", fact_id="c2", valid_from="2023-01-20", checkup="3y",
                  checkup_date="2023-01-20", attended=True, weight_kg=10.5)
    [flag] = [f for f in assess([child, low_1y6m, low_3y], "2023-02-01").flags if f.item == 9]
    assert flag.raised_on.isoformat() == "2021-07-15" and len(flag.evidence) == 2  # low since the first


def test_item_9_fixed_limits_per_checkup_and_sex_replace_the_who_table_when_configured() -> None:
    from dataclasses import replace

    from services.scoring.domain.evaluation import RuleSet
    from services.scoring.domain.rules.low_weight import LowWeightParams
    params = LowWeightParams(fixed_limits_kg={"1y6m": {"1": 9.0, "2": 8.5}})
    book = replace(FUKUOKA, rules=RuleSet("test", [replace(r, params=params) if r.item == 9 else r
                                                   for r in FUKUOKA.rules.rules]))
    child = residence("2024-01-10", sex="2", resident_since="2024-01-10")
    for weight, expected in ((8.49, {9}), (8.5, set())):
        exam = fact("infant_checkup", valid_from="2025-07-10", checkup="1y6m", checkup_date="2025-07-10",
                    attended=True, weight_kg=weight)
        assert raised([child, exam], "2025-08-01", book) & {9} == expected


def test_item_9_school_uses_the_latest_checkup() -> None:
    assert raised([CHILD, school_checkup("2025-04-20", 130.0, 18.0), school_checkup("2026-04-20", 133.0, 28.0)],
                  TODAY) == set()
    assert raised([CHILD, school_checkup("2025-04-20", 130.0, 28.0), school_checkup("2026-04-20", 133.0, 20.0)],
                  TODAY) == {9}


def certificate(kind: str, start: str, end: str | None = None, developmental: bool = False):  # type: ignore[no-untyped-def]
    return fact("disability_certificate", valid_from=start, valid_to=end, certificate=kind,
                developmental_disability=developmental, certificate_no="D1")


@pytest.mark.parametrize(("facts", "expected"), [
    ([certificate("mental_health_welfare", "2025-01-01", developmental=True)], {10}),
    ([certificate("mental_health_welfare", "2025-01-01", developmental=False)], set()),
    ([certificate("mental_health_welfare", "2025-01-01", "2026-06-01", developmental=True)], set()),
    ([certificate("mental_health_welfare", "2025-01-01", "2026-06-02", developmental=True)], {10}),
    ([certificate("child_support_recipient", "2022-01-01", "2023-01-01")], {11}),  # ever issued
    ([certificate("child_support_recipient", "2026-07-01")], set()),
    ([certificate("ryoiku", "2022-01-01")], set()),
])
def test_items_10_and_11_certificates(facts: list, expected: set[int]) -> None:
    assert raised([CHILD, *facts], TODAY) == expected


def attendance(year: int, month: int, absences: int = 0, late: int = 0):  # type: ignore[no-untyped-def]
    return fact("attendance", fact_id=f"att-{year}-{month}", school_year=year, month=month,
                absence_days=absences, late_arrivals=late)


@pytest.mark.parametrize(("months", "expected"), [
    ([(2025, 4, 10), (2025, 5, 10), (2025, 6, 9)], set()),          # 29 days
    ([(2025, 4, 10), (2025, 5, 10), (2025, 6, 10)], {12}),          # exactly 30
    ([(2025, 4, 10), (2025, 3, 10), (2025, 1, 10)], {12}),          # January–March belong to the same 年度
    ([(2024, 4, 15), (2024, 2, 15)], set()),                         # last 年度: cleared on 1 April
    ([(2025, 4, 15), (2024, 5, 15)], set()),                         # 15 + 15 across two 年度 do not add up
])
def test_item_12_absences_in_a_school_year(months: list, expected: set[int]) -> None:
    facts = [attendance(y, m, absences=a) for y, m, a in months]
    assert raised([CHILD, *facts], "2026-03-31") == expected


@pytest.mark.parametrize(("late", "expected"), [(19, set()), (20, {13}), (31, {13})])
def test_item_13_late_arrivals(late: int, expected: set[int]) -> None:
    facts = [attendance(2025, 9, late=late - late // 2), attendance(2025, 10, late=late // 2)]
    assert raised([CHILD, *facts], "2025-11-01") == expected


def test_item_12_can_keep_last_school_year_when_configured() -> None:
    from dataclasses import replace

    from services.scoring.domain.evaluation import RuleSet
    from services.scoring.domain.rules.school import AbsenceParams
    rules = [replace(r, params=AbsenceParams(school_years_considered=2)) if r.item == 12 else r
             for r in FUKUOKA.rules.rules]
    book = replace(FUKUOKA, rules=RuleSet("test", rules))
    last_year = [CHILD, attendance(2024, 4, absences=15), attendance(2024, 2, absences=15)]
    assert 12 in raised(last_year, "2026-03-31", book)
    assert 12 not in raised(last_year, "2026-04-01", book)
    assert 12 in raised(last_year, "2025-03-31") and 12 not in raised(last_year, "2025-04-01")


def test_item_12_early_pace_rule_when_configured() -> None:
    from dataclasses import replace

    from services.scoring.domain.evaluation import RuleSet
    from services.scoring.domain.rules.school import AbsenceParams
    rules = [replace(r, params=AbsenceParams(pace_per_month=3.0, pace_min_months=2)) if r.item == 12 else r
             for r in FUKUOKA.rules.rules]
    book = replace(FUKUOKA, rules=RuleSet("test", rules))
    facts = [CHILD, attendance(2026, 4, absences=3), attendance(2026, 5, absences=3)]
    assert 12 in raised(facts, TODAY, book)
    assert 12 not in raised([CHILD, attendance(2026, 4, absences=3), attendance(2026, 5, absences=2)], TODAY, book)
    assert 12 not in raised(facts, TODAY)  # off by default


def survey(answered: str, distress: bool | None):  # type: ignore[no-untyped-def]
    return fact("survey", fact_id=f"srv-{answered}", valid_from=answered, answered_date=answered,
                survey="lifestyle", distress=distress)


@pytest.mark.parametrize(("answers", "expected"), [
    ([("2025-06-12", True)], {14}),
    ([("2026-06-01", True)], {14}),                            # answered today
    ([("2026-06-02", True)], set()),                           # not yet answered
    ([("2025-06-12", True), ("2026-05-12", False)], set()),    # a later answer without distress clears
    ([("2025-06-12", False), ("2026-05-12", True)], {14}),
    ([("2025-06-12", True), ("2026-05-12", None)], {14}),      # a survey that did not ask does not clear
])
def test_item_14_the_latest_distress_answer_decides(answers: list, expected: set[int]) -> None:
    assert raised([CHILD, *(survey(d, a) for d, a in answers)], TODAY) == expected


def test_item_14_answers_can_expire_when_configured() -> None:
    from dataclasses import replace

    from services.scoring.domain.evaluation import RuleSet
    from services.scoring.domain.rules.school import DistressParams
    rules = [replace(r, enabled=True, params=DistressParams(max_age_days=365)) if r.item == 14 else r
             for r in FUKUOKA.rules.rules]
    book = replace(FUKUOKA, rules=RuleSet("test", rules))
    assert 14 in raised([CHILD, survey("2025-06-02", True)], TODAY, book)
    assert 14 not in raised([CHILD, survey("2025-06-01", True)], TODAY, book)


def pregnancy(weeks: int, notified: str = "2025-03-01", pregnancy_id: str = "P1"):  # type: ignore[no-untyped-def]
    return fact("pregnancy_notified", relation="mother", valid_from=notified, notification_date=notified,
                gestational_weeks=weeks, pregnancy_id=pregnancy_id)


def visit(day: str, pregnancy_id: str = "P1"):  # type: ignore[no-untyped-def]
    return fact("prenatal_checkup", relation="mother", valid_from=day, visit_date=day, pregnancy_id=pregnancy_id)


BABY = residence("2025-10-01")
BIRTH = fact("birth", valid_from="2025-10-01", birth_date="2025-10-01", pregnancy_id="P1")


@pytest.mark.parametrize(("facts", "expected"), [
    ([pregnancy(11), visit("2025-04-01")], set()),
    ([pregnancy(12), visit("2025-04-01")], {15}),
    ([pregnancy(30), visit("2025-09-30")], {15}),
    ([pregnancy(8)], {16}),                                       # notified here, never a checkup
    ([pregnancy(8), visit("2025-10-01")], set()),                  # a visit on the day of birth counts
    ([pregnancy(8), visit("2025-10-02")], {16}),                   # after the birth does not
    ([pregnancy(8), visit("2025-05-01", pregnancy_id="P0")], {16}),  # another pregnancy's visit
    ([], set()),                                                   # no notification here: moved in, unknown
])
def test_items_15_and_16_pregnancy(facts: list, expected: set[int]) -> None:
    assert raised([BABY, BIRTH, *facts], TODAY) & {15, 16} == expected


def test_item_16_waits_for_the_birth() -> None:
    assert 16 not in raised([BABY, BIRTH, pregnancy(8)], "2025-09-30")


@pytest.mark.parametrize(("total", "item10", "expected"), [
    (8, 0, set()), (9, 0, {17}), (0, 1, {17}), (30, 3, {17}),
])
def test_item_17_epds(total: int, item10: int, expected: set[int]) -> None:
    check = fact("postpartum_checkup", relation="mother", valid_from="2025-10-20", checkup_date="2025-10-20",
                 epds_total=total, epds_item10=item10)
    assert raised([BABY, BIRTH, pregnancy(8), visit("2025-04-01"), check], TODAY) & {17} == expected


@pytest.mark.parametrize(("start", "end", "expected"), [
    ("2026-06-01", None, {18}), ("2026-06-02", None, set()), ("2020-01-01", "2026-06-01", set()),
    ("2020-01-01", "2026-06-02", {18}), ("2020-01-01", "2026-05-31", set()),
])
def test_item_18_household_on_public_assistance(start: str, end: str | None, expected: set[int]) -> None:
    case = fact("public_assistance", relation="household", valid_from=start, valid_to=end, case_no="C1")
    assert raised([CHILD, case], TODAY) == expected


@pytest.mark.parametrize(("allowance", "end", "expected"), [
    ("jido_fuyo_teate", None, {19}), ("jido_teate", None, set()), ("jido_fuyo_teate", "2026-05-01", set()),
])
def test_item_19_guardian_receives_child_rearing_allowance(allowance: str, end: str | None,
                                                           expected: set[int]) -> None:
    grant = fact("allowance", relation="guardian", valid_from="2024-04-01", valid_to=end, allowance=allowance,
                 entitlement_id="E1")
    assert raised([CHILD, grant], TODAY) == expected


def test_a_child_who_left_the_city_or_came_of_age_carries_no_flags() -> None:
    case = fact("public_assistance", relation="household", valid_from="2024-01-01", case_no="C1")
    left = residence("2020-05-01", resident_since="2025-06-01", valid_to="2026-05-01")
    assert raised([left, case], TODAY) == set()
    assert raised([left, case], "2026-04-30") == {18}
    grown = residence("2008-06-01", resident_since="2015-01-01")
    assert raised([grown, case], "2026-05-31") == {18}
    assert raised([grown, case], "2026-06-01") == set()  # the 18th birthday


def test_a_flag_from_before_birth_is_raised_on_the_birth_date() -> None:
    baby = residence("2026-02-10")
    case = fact("public_assistance", relation="household", valid_from="2024-01-01", case_no="C1")
    [flag] = assess([baby, case], TODAY, FUKUOKA).flags
    assert flag.item == 18 and flag.raised_on.isoformat() == "2026-02-10"


def test_fukuoka_leaves_items_1_2_4_to_8_and_14_off() -> None:
    facts = [CHILD, guidance("youtaikyo", "2024-01-01"), guidance("temporary_protection", "2024-01-01"),
             checkup("1y6m", "2021-11-01", hit_emotionally=True, left_alone=True, not_fed=True, covered_mouth=True,
                     shook_violently=True),
             fact("survey", valid_from="2026-05-01", answered_date="2026-05-01", distress=True),
             fact("public_assistance", relation="household", valid_from="2024-01-01")]
    assert raised(facts, TODAY, FUKUOKA) == {18}
    assert raised(facts, TODAY) == {1, 2, 4, 5, 6, 7, 8, 14, 18}


def test_every_flag_carries_evidence_rule_version_and_the_tier_follows_the_weights() -> None:
    facts = [CHILD, fact("public_assistance", relation="household", valid_from="2024-01-01", case_no="C1"),
             guidance("temporary_protection", "2024-01-01")]
    assessment = assess(facts, TODAY)
    assert [f.item for f in assessment.flags] == [2, 18]
    assert all(f.evidence and f.rule_version == "1.0" for f in assessment.flags)
    assert assessment.flags[1].evidence[0].source_system == "public_assistance"
    assert assessment.score == 4.0 and assessment.tier == "重点"
    only_18 = assess(facts[:2], TODAY)
    assert only_18.score == 1.0 and only_18.tier == "見守り"
    assert assess([CHILD], TODAY).tier is None
