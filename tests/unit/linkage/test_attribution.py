"""Facts of a mother, a guardian or a household reach the children they concern; pregnancy facts reach the
child once born; school records carry their student key to the child."""

from __future__ import annotations

import pytest

from services.linkage.domain.identity import atena_key, person_id_for
from services.linkage.domain.state import LinkageState
from tests.unit.linkage.factories import facts, person, record, resident, run

pytestmark = pytest.mark.unit
MCH = "maternal_child_health"


def child_id(atena: str) -> str:
    return person_id_for(atena_key(atena))


def test_pregnancy_facts_reach_the_child_once_born() -> None:
    state = LinkageState()
    run(state, resident("5001", "H5", birth="1995-03-03", name_kana="ハカタ ハナコ", sex="2", reason="initial_load"))
    notified = run(state, record(MCH, f"{MCH}.pregnancy.notified", [person("mother", atena_no="5001")],
                                 day="2025-01-10", pregnancy_id="P1", notification_date="2025-01-10",
                                 gestational_weeks=14))
    assert facts(notified) == []  # nobody to attribute to yet
    born = run(state, record(MCH, f"{MCH}.birth.recorded", [person("mother", atena_no="5001"),
                                                              person("child", atena_no="5002")],
                             day="2025-07-20", pregnancy_id="P1", birth_date="2025-07-20", birth_weight_g=2400))
    by_kind = {f["kind"]: f for f in facts(born)}
    assert by_kind["pregnancy_notified"]["child_id"] == child_id("5002")
    assert by_kind["pregnancy_notified"]["relation"] == "mother"
    assert by_kind["pregnancy_notified"]["attributes"]["gestational_weeks"] == 14
    assert by_kind["birth"]["relation"] == "self" and by_kind["birth"]["attributes"]["birth_weight_g"] == 2400


def test_a_birth_without_pregnancy_number_finds_the_mothers_open_pregnancy() -> None:
    state = LinkageState()
    run(state, record(MCH, f"{MCH}.pregnancy.notified", [person("mother", atena_no="5101")], day="2025-01-10",
                      pregnancy_id="P9", notification_date="2025-01-10", gestational_weeks=9))
    born = run(state, record(MCH, f"{MCH}.birth.recorded", [person("mother", atena_no="5101"),
                                                              person("child", atena_no="5102")],
                             day="2025-08-01", birth_date="2025-08-01"))
    assert "pregnancy_notified" in {f["kind"] for f in facts(born)}


def test_postpartum_epds_without_child_goes_to_the_latest_birth() -> None:
    state = LinkageState()
    for child, day in (("5202", "2022-01-05"), ("5203", "2025-03-01")):
        run(state, record(MCH, f"{MCH}.birth.recorded", [person("mother", atena_no="5201"),
                                                           person("child", atena_no=child)],
                          day=day, birth_date=day))
    epds = run(state, record(MCH, f"{MCH}.postpartum_checkup.recorded", [person("mother", atena_no="5201")],
                             day="2025-04-01", checkup_date="2025-04-01", epds_total=12, epds_item10=0))
    [fact] = facts(epds)
    assert (fact["child_id"], fact["relation"], fact["attributes"]["epds_total"]) == (child_id("5203"), "mother", 12)


def test_twins_both_get_their_pregnancy_and_their_mothers_postpartum_checkup_but_an_older_sibling_does_not() -> None:
    state = LinkageState()
    mother = [person("mother", atena_no="5301")]
    run(state, record(MCH, f"{MCH}.birth.recorded", [*mother, person("child", atena_no="5302")],
                      day="2022-02-02", birth_date="2022-02-02"))
    run(state, record(MCH, f"{MCH}.pregnancy.notified", mother, day="2024-10-01", pregnancy_id="P7",
                      notification_date="2024-10-01", gestational_weeks=13))
    for twin in ("5303", "5304"):
        run(state, record(MCH, f"{MCH}.birth.recorded", [*mother, person("child", atena_no=twin)],
                          day="2025-04-10", pregnancy_id="P7", birth_date="2025-04-10"))
    notified = {f["child_id"] for f in state_facts(state) if f["kind"] == "pregnancy_notified"}
    assert notified == {child_id("5303"), child_id("5304")}
    epds = run(state, record(MCH, f"{MCH}.postpartum_checkup.recorded", [*mother, person("child", atena_no="5303")],
                             day="2025-05-08", checkup_date="2025-05-08", epds_total=11, epds_item10=0))
    assert {f["child_id"] for f in facts(epds)} == {child_id("5303"), child_id("5304")}


def state_facts(state: LinkageState) -> list[dict]:
    """The facts currently attributed, from the state (what has been emitted and not retracted)."""
    return [payload for sf in state.source_facts.values() for payload in sf.emitted.values()]


def test_a_guardians_allowance_reaches_the_covered_children_only() -> None:
    state = LinkageState()
    run(state, resident("6001", "H6", birth="2015-01-01"))
    run(state, resident("6002", "H6", birth="2017-01-01", name_kana="フクオカ ジロウ"))
    started = run(state, record("child_allowance", "child_allowance.eligibility.started",
                                [person("guardian", atena_no="6000"), person("covered_child", atena_no="6001")],
                                entitlement_id="E1", allowance="jido_fuyo_teate", start_date="2025-04-01"))
    [fact] = facts(started)
    assert (fact["child_id"], fact["relation"], fact["kind"]) == (child_id("6001"), "guardian", "allowance")
    assert fact["attributes"] == {"allowance": "jido_fuyo_teate", "entitlement_id": "E1",
                                  "start_date": "2025-04-01"}
    ended = run(state, record("child_allowance", "child_allowance.eligibility.ended",
                              [person("guardian", atena_no="6000")], day="2025-10-01",
                              entitlement_id="E1", allowance="jido_fuyo_teate", end_date="2025-10-01"))
    assert [(f["fact_id"], f["valid_to"]) for f in facts(ended)] == [(fact["fact_id"], "2025-10-01")]


def test_a_household_members_long_term_care_reaches_the_children_and_follows_moves() -> None:
    state = LinkageState()
    run(state, resident("7000", "H7", birth="1950-01-01", reason="initial_load"))
    run(state, resident("7001", "H7", birth="2012-01-01"))
    care = run(state, record("long_term_care", "long_term_care.certification.started",
                             [person("member", atena_no="7000")], insured_no="I1", care_level="要介護2",
                             start_date="2025-04-01"))
    assert [(f["child_id"], f["relation"]) for f in facts(care)] == [(child_id("7001"), "household")]
    moved = run(state, resident("7000", "H8", birth="1950-01-01", event="changed", reason="household_change"))
    assert [f["status"] for f in facts(moved) if f["kind"] == "household_care"] == ["retracted"]


def test_school_records_follow_the_student_key_to_the_child() -> None:
    state = LinkageState()
    run(state, resident("8001", "H8", birth="2014-06-06"))
    enrolled = run(state, record("school_students", "school_students.student.registered",
                                 [person(atena_no="8001", student_id="S1", school_code="SC1",
                                         birth_date="2014-06-06", kana_key="フクオカタロウ")], grade=5))
    assert [f["kind"] for f in facts(enrolled)] == ["school_enrolment"]
    absent = run(state, record("school_affairs", "school_affairs.attendance.reported",
                               [person(student_id="S1", school_code="SC1")], school_year=2025, month=6,
                               absence_days=12, late_arrivals=3))
    [fact] = facts(absent)
    assert (fact["child_id"], fact["kind"], fact["attributes"]["absence_days"]) == (child_id("8001"), "attendance", 12)


def test_attendance_before_the_student_is_known_waits_and_arrives_when_linked() -> None:
    state = LinkageState()
    run(state, resident("8101", "H8", birth="2014-06-06"))
    early = run(state, record("school_affairs", "school_affairs.attendance.reported",
                              [person(student_id="S9", school_code="SC1")], school_year=2025, month=6,
                              absence_days=2, late_arrivals=0))
    assert early.outcome == "pending" and facts(early) == []
    enrolled = run(state, record("school_students", "school_students.student.registered",
                                 [person(atena_no="8101", student_id="S9", school_code="SC1")], grade=5))
    assert sorted(f["kind"] for f in facts(enrolled)) == ["attendance", "school_enrolment"]
