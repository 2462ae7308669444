"""Deterministic linkage by 宛名番号: children, residence facts, 世帯 and 生活保護 attribution."""

from __future__ import annotations

import pytest

from services.linkage.domain.identity import atena_key, person_id_for
from services.linkage.domain.state import LinkageState
from tests.unit.linkage.factories import assistance, children, facts, left, person, record, resident, run

pytestmark = pytest.mark.unit


def test_a_registered_child_gets_a_profile_and_a_residence_fact() -> None:
    state = LinkageState()
    result = run(state, resident("1001", "H1", birth="2020-05-01", reason="move_in", effective="2025-04-01"))
    [profile] = children(result)
    [fact] = facts(result)
    assert profile["child_id"] == person_id_for(atena_key("1001"))
    assert profile["household_id"] == "H1" and profile["status"] == "resident"
    assert fact["kind"] == "residence" and fact["relation"] == "self"
    assert fact["attributes"] == {"birth_date": "2020-05-01", "sex": "1", "ward_code": "40131",
                                  "household_no": "H1", "resident_since": "2025-04-01", "ward_since": "2025-04-01"}
    assert fact["version"] == 1 and profile["version"] == 1 and profile["ward_since"] == "2025-04-01"


def test_an_adult_is_registered_but_produces_nothing() -> None:
    state = LinkageState()
    result = run(state, resident("2001", "H1", birth="1990-01-01", reason="initial_load"))
    assert result.out == []
    assert state.person_for_key(atena_key("2001")) is not None


def test_the_same_record_twice_changes_nothing() -> None:
    state = LinkageState()
    rec = resident("1001", "H1", birth="2020-05-01")
    run(state, rec)
    again = run(state, rec)
    assert again.outcome == "duplicate" and again.out == []


def test_child_ids_are_the_same_on_every_replay() -> None:
    first, second = LinkageState(), LinkageState()
    ids = [children(run(s, resident("1001", "H1", birth="2020-05-01", record_id="r1")))[0]["child_id"]
           for s in (first, second)]
    assert ids[0] == ids[1]


def test_public_assistance_reaches_each_child_of_the_household_and_ends_on_the_same_fact() -> None:
    state = LinkageState()
    run(state, resident("2001", "H1", birth="1990-01-01", reason="initial_load"))
    run(state, resident("1001", "H1", birth="2020-05-01"))
    run(state, resident("1002", "H1", birth="2022-05-01", name_kana="フクオカ ハナコ", sex="2"))
    started = facts(run(state, assistance("started", "C-1", "H1", "2001", "2025-05-01")))
    assert {f["child_id"] for f in started} == {person_id_for(atena_key("1001")), person_id_for(atena_key("1002"))}
    assert all(f["relation"] == "household" and f["valid_from"] == "2025-05-01" for f in started)
    ended = facts(run(state, assistance("ended", "C-1", "H1", "2001", "2025-09-30")))
    assert {f["fact_id"] for f in ended} == {f["fact_id"] for f in started}
    assert all(f["valid_to"] == "2025-09-30" and f["status"] == "asserted" for f in ended)


def test_household_facts_follow_children_who_leave_or_join() -> None:
    state = LinkageState()
    run(state, resident("1001", "H1", birth="2020-05-01"))
    run(state, resident("1003", "H2", birth="2019-01-01", name_kana="ハカタ ジロウ"))
    [asserted] = facts(run(state, assistance("started", "C-1", "H1", "2001", "2025-05-01")))

    moved = facts(run(state, resident("1001", "H2", birth="2020-05-01", event="changed",
                                      reason="household_change", effective="2025-06-01")))
    retracted = [f for f in moved if f["kind"] == "public_assistance"]
    assert [(f["fact_id"], f["status"]) for f in retracted] == [(asserted["fact_id"], "retracted")]

    joined = facts(run(state, resident("1003", "H1", birth="2019-01-01", name_kana="ハカタ ジロウ",
                                       event="changed", reason="household_change", effective="2025-07-01")))
    assert [(f["child_id"], f["status"]) for f in joined if f["kind"] == "public_assistance"] == [
        (person_id_for(atena_key("1003")), "asserted")]


def test_a_child_who_moves_out_gets_valid_to_and_loses_household_facts() -> None:
    state = LinkageState()
    run(state, resident("1001", "H1", birth="2020-05-01"))
    run(state, assistance("started", "C-1", "H1", "2001", "2025-05-01"))
    result = run(state, left("1001", "H1", "2025-08-01"))
    by_kind = {f["kind"]: f for f in facts(result)}
    assert by_kind["residence"]["valid_to"] == "2025-08-01"
    assert by_kind["public_assistance"]["status"] == "retracted"
    assert children(result)[0]["status"] == "left"


def test_a_newborn_is_in_its_mothers_household_from_the_birth_record_before_the_registry_has_it() -> None:
    state = LinkageState()
    run(state, resident("2101", "H7", birth="1994-02-02", name_kana="ハカタ ハナコ", sex="2", reason="initial_load"))
    run(state, assistance("started", "C-7", "H7", "2101", "2024-01-01"))
    born = run(state, record("maternal_child_health", "maternal_child_health.birth.recorded",
                             [person("mother", atena_no="2101"), person("child", atena_no="2102")],
                             day="2025-06-01", birth_date="2025-06-01"))
    newborn = person_id_for(atena_key("2102"))
    assert {(f["child_id"], f["kind"]) for f in facts(born)} >= {(newborn, "public_assistance")}
    registered = run(state, resident("2102", "H7", birth="2025-06-01", reason="birth", effective="2025-06-01"))
    assert {f["kind"] for f in facts(registered)} == {"residence"}  # the 出生届 10 days later adds only residence
