"""Human decisions: must-link, cannot-link and split — persisted with the review, re-applied on replay."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.topics.linkage_review import ReviewDecisionV1
from services.linkage.domain.identity import atena_key, person_id_for, student_key
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.state import LinkageState
from services.linkage.service_layer.decisions import handle_decision
from services.linkage.service_layer.unit import Change, Out
from tests.unit.linkage.factories import facts, person, record, registry_with_noise, resident, reviews, run, student

pytestmark = pytest.mark.unit
TARO = person_id_for(atena_key("1"))


def decide(state: LinkageState, review_id: str, decision: str, **fields: Any) -> tuple[str, list[Out]]:
    d = ReviewDecisionV1(review_id=review_id, decision=decision, decided_by="u-001",  # type: ignore[arg-type]
                         decided_at="2025-07-01T10:00:00+09:00", reason="checked with the school", **fields)
    return handle_decision(d, Change(state, d.decided_at), MatchSettings())


def out_facts(out: list[Out]) -> list[dict[str, Any]]:
    return [o.payload for o in out if o.channel == "fact"]


def uncertain_student(state: LinkageState) -> dict[str, Any]:
    registry_with_noise(state)
    [case] = reviews(run(state, student("S10", "フクオカ タロ", "福岡 汰朗", "2016-04-02", address="中央区天神1-1")))
    run(state, record("school_affairs", "school_affairs.attendance.reported", [person(student_id="S10")],
                      school_year=2025, month=6, absence_days=9, late_arrivals=0))
    return case


def test_must_link_binds_the_student_and_releases_its_waiting_facts() -> None:
    state = LinkageState()
    case = uncertain_student(state)
    outcome, out = decide(state, case["review_id"], "must_link")
    assert outcome == "linked"
    assert sorted((f["child_id"], f["kind"]) for f in out_facts(out)) == [
        (TARO, "attendance"), (TARO, "school_enrolment")]
    assert decide(state, case["review_id"], "must_link") == ("duplicate", [])


def test_cannot_link_gives_a_new_identity_and_is_never_linked_to_that_person_again() -> None:
    state = LinkageState()
    case = uncertain_student(state)
    outcome, out = decide(state, case["review_id"], "cannot_link")
    assert outcome == "new"
    new_id = person_id_for(student_key("S10"))
    assert {f["child_id"] for f in out_facts(out)} == {new_id}
    assert student_key("S10") in state.persons[TARO].cannot_link


def test_split_retracts_the_facts_from_the_wrong_child_and_reattributes_them() -> None:
    state = LinkageState()
    registry_with_noise(state)
    linked = run(state, student("S1", "フクオカ タロウ", "福岡 太郎", "2016-04-02"))
    [enrolment] = facts(linked)
    assert enrolment["child_id"] == TARO
    outcome, out = decide(state, "split-1", "split", record_id=linked_record_id(state, "S1"), person_id=TARO)
    assert outcome == "split"
    by_status = {(f["child_id"], f["status"]) for f in out_facts(out)}
    new_id = person_id_for(student_key("S1"))
    assert by_status == {(TARO, "retracted"), (new_id, "asserted")}
    assert [o.payload["child_id"] for o in out if o.channel == "child"] == [new_id]
    # later records of that student stay with the new identity, never back to the wrong child
    again = run(state, student("S1", "フクオカ タロウ", "福岡 太郎", "2016-04-02"))
    assert {f["child_id"] for f in facts(again)} <= {new_id}


def linked_record_id(state: LinkageState, sid: str) -> str:
    owner = state.person_for_key(student_key(sid))
    assert owner is not None
    return owner.keys[student_key(sid)]


def test_must_link_of_two_identities_merges_one_into_the_other_and_a_split_undoes_it() -> None:
    state = LinkageState()
    registry_with_noise(state)
    alone = run(state, student("S5", "ヤマダ ハナ", "山田 花", "2017-12-24", sex="2", address=None))
    hana, alone_record = person_id_for(student_key("S5")), alone_record_id(state)
    assert alone.outcome == "new"
    # registered under another surname and a day later (an adoption; a typo): not a link on the weights, so two
    # identities until a clerk says they are one (the same names would link by themselves: test_arrival_order.py)
    run(state, resident("77", "H77", birth="2017-12-25", name_kana="タナカ ハナ", name_kanji="田中 花", sex="2"))
    registered = person_id_for(atena_key("77"))
    assert state.person_for_key(student_key("S5")).person_id == hana

    outcome, out = decide(state, "merge-1", "must_link", record_id=alone_record, person_id=registered)
    assert outcome == "merged"
    profiles = {o.payload["child_id"]: o.payload for o in out if o.channel == "child"}
    assert (profiles[hana]["status"], profiles[hana]["merged_into"]) == ("merged", registered)
    assert {(f["child_id"], f["status"]) for f in out_facts(out) if f["kind"] == "school_enrolment"} == {
        (hana, "retracted"), (registered, "asserted")}

    outcome, out = decide(state, "split-1", "split", record_id=alone_record, person_id=registered)
    assert outcome == "split"
    assert state.person_for_key(student_key("S5")).person_id == hana  # the original id comes back
    assert {(f["child_id"], f["status"]) for f in out_facts(out) if f["kind"] == "school_enrolment"} == {
        (hana, "asserted"), (registered, "retracted")}


def alone_record_id(state: LinkageState) -> str:
    return state.persons[person_id_for(student_key("S5"))].keys[student_key("S5")]


def test_a_decision_that_arrives_before_its_record_is_applied_when_the_record_comes() -> None:
    state = LinkageState()
    registry_with_noise(state)
    rec = student("S10", "フクオカ タロ", "福岡 汰朗", "2016-04-02", address="中央区天神1-1")
    from services.linkage.domain.identity import review_id_for
    review_id = review_id_for(rec.record_id, student_key("S10"))
    outcome, out = decide(state, review_id, "must_link", record_id=rec.record_id, person_id=TARO)
    assert outcome == "deferred" and out == []
    result = run(state, rec)
    assert [f["child_id"] for f in facts(result)] == [TARO]
