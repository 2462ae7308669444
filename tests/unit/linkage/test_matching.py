"""Probabilistic linkage of school records without 宛名番号: link, new identity or clerical review."""

from __future__ import annotations

import math

import pytest

from services.linkage.domain.identity import atena_key, person_id_for, student_key
from services.linkage.domain.state import LinkageState
from tests.unit.linkage.factories import facts, person, record, registry_with_noise, resident, reviews, run, student

pytestmark = pytest.mark.unit


def linked_to(state: LinkageState, sid: str) -> str | None:
    owner = state.person_for_key(student_key(sid))
    return owner.person_id if owner else None


def test_an_exact_student_links_to_the_registered_child_and_brings_its_facts() -> None:
    state = LinkageState()
    registry_with_noise(state)
    result = run(state, student("S1", "フクオカ タロウ", "福岡 太郎", "2016-04-02"))
    assert result.outcome == "linked"
    assert linked_to(state, "S1") == person_id_for(atena_key("1"))
    assert [f["child_id"] for f in facts(result)] == [person_id_for(atena_key("1"))]


def test_noise_in_kanji_and_address_still_links() -> None:
    state = LinkageState()
    registry_with_noise(state)
    result = run(state, student("S2", "フクオカ タロウ", "福丘 太郎", "2016-04-02", address="東区箱崎1-2"))
    assert result.outcome == "linked" and linked_to(state, "S2") == person_id_for(atena_key("1"))


def test_a_surname_change_after_divorce_still_links_on_given_name_birth_date_and_address() -> None:
    state = LinkageState()
    registry_with_noise(state)
    renamed = run(state, student("S4", "ナカムラ ユイ", "中村 結衣", "2016-04-02", sex="2", address="南区大橋1-1"))
    assert renamed.outcome == "linked" and linked_to(state, "S4") == person_id_for(atena_key("2"))
    other = run(state, student("S3", "サトウ ユイ", "佐藤 結衣", "2016-04-02", sex="2", address="南区大橋1-1"))
    assert other.outcome == "review", "one child, one student id: a second id needs a human"
    assert reviews(other)[0]["reason"] == "candidate_has_other_student_id"


def test_a_child_nobody_knows_gets_a_new_stable_identity() -> None:
    state = LinkageState()
    registry_with_noise(state)
    result = run(state, student("S5", "ヤマダ ハナ", "山田 花", "2017-12-24", sex="2", address=None))
    assert result.outcome == "new"
    assert linked_to(state, "S5") == person_id_for(student_key("S5"))
    assert facts(result)[0]["child_id"] == person_id_for(student_key("S5"))


def test_twins_are_never_merged_each_finds_their_own_record() -> None:
    state = LinkageState()
    registry_with_noise(state)
    run(state, student("S6", "ハカタ ユウタ", "博多 悠太", "2016-09-09", address="博多区博多駅前2-2"))
    run(state, student("S7", "ハカタ ユウキ", "博多 悠希", "2016-09-09", address="博多区博多駅前2-2"))
    assert linked_to(state, "S6") == person_id_for(atena_key("3"))
    assert linked_to(state, "S7") == person_id_for(atena_key("4"))


def test_a_sibling_with_the_same_birth_date_and_address_is_not_linked_to_a_twin() -> None:
    state = LinkageState()
    registry_with_noise(state)
    result = run(state, student("S8", "ハカタ ソウタ", "博多 颯太", "2016-09-09", address="博多区博多駅前2-2"))
    assert result.outcome in ("new", "review")
    assert linked_to(state, "S8") not in {person_id_for(atena_key("3")), person_id_for(atena_key("4"))}


def test_a_common_name_with_a_different_birth_date_is_not_linked() -> None:
    state = LinkageState()
    registry_with_noise(state)
    result = run(state, student("S9", "サトウ ハルト", "佐藤 陽翔", "2014-02-02", address=None))
    assert result.outcome in ("new", "review")
    assert linked_to(state, "S9") in (None, person_id_for(student_key("S9")))


def test_an_uncertain_pair_goes_to_review_with_field_by_field_evidence() -> None:
    state = LinkageState()
    registry_with_noise(state)
    result = run(state, student("S10", "フクオカ タロ", "福岡 汰朗", "2016-04-02", address="中央区天神1-1"))
    [case] = reviews(result)
    assert result.outcome == "review" and linked_to(state, "S10") is None
    assert case["candidate_person_id"] == person_id_for(atena_key("1"))
    by_field = {c["field"]: c for c in case["comparisons"]}
    assert by_field["birth_date"]["agreement"] == "exact" and by_field["kana_name"]["agreement"] == "fuzzy"
    assert by_field["kanji_name"]["weight"] < 0 < by_field["birth_date"]["weight"]
    assert 0 < case["match_probability"] < 1


def test_same_atena_with_a_different_birth_date_goes_to_review() -> None:
    state = LinkageState()
    run(state, resident("1", "H1", birth="2016-04-02"))
    result = run(state, record("school_students", "school_students.student.registered",
                               [person(atena_no="1", student_id="S11", school_code="SC1", birth_date="2016-05-02",
                                       kana_key="フクオカタロウ")], grade=3))
    assert [r["reason"] for r in reviews(result)] == ["birth_date_conflict"]
    assert linked_to(state, "S11") is None and facts(result) == []


def test_a_record_with_nothing_to_link_on_goes_to_review_not_a_crash() -> None:
    state = LinkageState()
    result = run(state, record("disability", "disability.certificate.issued", [], certificate_no="D1",
                               certificate="ryoiku", issue_date="2025-01-01"))
    assert [r["reason"] for r in reviews(result)] == ["no_persons_in_record"]
    nameless = run(state, record("school_students", "school_students.student.registered",
                                 [person(school_code="SC1")], grade=1))
    assert [r["reason"] for r in reviews(nameless)] == ["no_identifying_keys"]


def _kanji_level(kanji: str, registry: list[str], record_kanji: str, record_kana: str = "タナカ ユウト") -> float:
    from services.linkage.domain.matching import score

    state = LinkageState()
    for i, name in enumerate(registry):
        run(state, resident(f"9{i:03d}", f"HX{i}", birth=f"2014-0{1 + i % 9}-1{i % 10}", name_kana="タナカ ユウト",
                            name_kanji=name, address=f"福岡市西区姪浜{i}-1"))
    run(state, resident("1", "H1", birth="2016-04-02", name_kana="タナカ ユウト", name_kanji=kanji))
    pupil = student("S1", record_kana, record_kanji, "2016-04-02").persons[0]
    candidate = state.person_for_key(atena_key("1"))
    assert candidate is not None
    return next(lv[4] for lv in score(pupil, candidate, state).levels if lv[0] == "kanji_name")


def test_a_kanji_one_character_off_with_the_same_reading_counts_by_that_readings_other_spellings() -> None:
    """悠斗 and 悠人 are both ユウト: where half the reading's holders write it as the record does, a kanji one
    character off says little (another child as likely as a slip); a spelling none of them has is a slip, which a
    stranger's record rarely lands on. With the kana differing too it stays the fixed fuzzy level."""
    from services.linkage.domain.matching import FIXED

    two_spellings = _kanji_level("田中 悠人", ["田中 悠斗"] * 5 + ["田中 悠人"] * 4, "田中 悠斗")
    assert two_spellings == pytest.approx(math.log2(0.1 / 0.5), abs=0.01)
    one_spelling = _kanji_level("田中 悠人", ["田中 悠人"] * 9, "田中 悠斗")
    assert one_spelling == pytest.approx(math.log2(0.1 / 0.005), abs=0.01)
    kana_slip_too = _kanji_level("田中 悠人", ["田中 悠斗"] * 5 + ["田中 悠人"] * 4, "田中 悠斗", "タナカ ユウド")
    assert kana_slip_too == FIXED["kanji_name", "fuzzy"] > one_spelling > two_spellings
