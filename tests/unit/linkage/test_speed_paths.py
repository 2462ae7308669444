"""The shortcuts of the seventh speed pass (docs/linkage.md) decide exactly as the longer way did."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.linkage.domain import matching
from services.linkage.domain.blocking import blocking_keys
from services.linkage.domain.identity import NAMESPACE, parse_date, uuid5
from services.linkage.domain.model import Person
from services.linkage.domain.state import LinkageState
from services.linkage.service_layer.identify import identity_of
from tests.unit.linkage.factories import resident, run

pytestmark = pytest.mark.unit


@given(st.text(max_size=80))
def test_uuid5_is_the_standard_uuid5(name: str) -> None:
    assert uuid5(name) == str(uuid.uuid5(NAMESPACE, name))


def test_parse_date_cached_answers_as_before() -> None:
    assert parse_date("2015-04-01T09:00:00+09:00") == parse_date("2015-04-01")
    assert parse_date("2015-02-30") is None and parse_date(None) is None and parse_date("") is None


def _candidate(pid: str, birth: str | None, address_key: str | None = None, school: str | None = None) -> Person:
    return Person(pid, name_kana="フクオカ ハルト", kana_key="フクオカハルト", surname_kana_key="フクオカ",
                  given_kana_key="ハルト", name_kanji="福岡 陽翔", kanji_key="福岡陽翔", birth_date=birth,
                  address_key=address_key, school_code=school, is_child=True, status="resident")


@pytest.mark.parametrize("record_birth", ["2015-04-01", "2015-4-1"])
def test_namesakes_deferred_inline_are_exactly_those_born_on_another_day(record_birth: str) -> None:
    state = LinkageState()
    people = [
        _candidate("same-day", "2015-04-01"), _candidate("near", "2015-04-02"), _candidate("swap", "2015-01-04"),
        _candidate("typo", "2015-04-07"), _candidate("era", "2045-04-01"), _candidate("apart", "2015-05-09"),
        _candidate("apart-same-address", "2015-05-09", "東区箱崎1-2-3"),
        _candidate("apart-address-prefix", "2015-05-09", "東区箱崎1-2"),
        _candidate("apart-address-close", "2015-05-09", "東区箱崎1-2-4"),
        _candidate("apart-other-address", "2015-05-09", "南区大橋9-9-9"),
        _candidate("apart-same-school", "2014-11-20", None, "S001"),
        _candidate("apart-other-school", "2014-11-20", None, "S002"),
        _candidate("not-iso", "2015-5-9"), _candidate("no-birth", None),
    ]
    for p in people:
        state.add_person(p)
    record = Person("-", name_kana="フクオカ ハルト", kana_key="フクオカハルト", surname_kana_key="フクオカ",
                    given_kana_key="ハルト", name_kanji="福岡 陽翔", kanji_key="福岡陽翔", birth_date=record_birth,
                    address_key="東区箱崎1-2-3", school_code="S001")
    pids = [p.person_id for p in people]
    deferred: list[str] = []
    scored = matching._scored(record, state, pids, "陽翔", None, deferred)
    expected = [p.person_id for p in people if matching._born_another_day(record, p)]
    assert deferred == expected
    assert "apart" in deferred and "apart-same-school" not in deferred  # the test can tell the two apart
    assert [s.person_id for s in scored] == [pid for pid in pids if pid not in expected]
    full = {s.person_id: (s.weight, s.guard) for s in matching._scored(record, state, pids, "陽翔", None)}
    assert {s.person_id: (s.weight, s.guard) for s in scored} == {pid: full[pid] for pid in full
                                                                    if pid not in expected}


def test_a_new_registry_child_gets_every_field_its_record_gives_and_its_blocks() -> None:
    state = LinkageState()
    rec = resident("100001", "H1", birth="2016-05-05", name_kana="ハカタ ユイ", name_kanji="博多 結衣", sex="2")
    rec.attributes["school_code"] = "S042"
    run(state, rec)
    person = state.person_for_key("atena:100001")
    assert person is not None
    for name, value in identity_of(rec.persons[0]).items():
        assert getattr(person, name) == value
    assert (person.school_code, person.household_no, person.status, person.is_child, person.ward_since) \
        == ("S042", "H1", "resident", True, "2025-04-01")
    assert all(person.person_id in state.blocks.get(key) for key in blocking_keys(person))
    assert set(state.households.get("H1")) == {person.person_id}


def test_a_later_registry_record_still_changes_the_name_and_its_blocks() -> None:
    state = LinkageState()
    run(state, resident("100002", "H2", birth="2016-05-05", name_kana="ハカタ ユイ", name_kanji="博多 結衣"))
    person = state.person_for_key("atena:100002")
    assert person is not None
    old_keys = set(blocking_keys(person))
    run(state, resident("100002", "H3", birth="2016-05-05", name_kana="ミナミ ユイ", name_kanji="南 結衣",
                        reason="name_change", effective="2025-06-01"))
    assert (person.kana_key, person.kanji_key, person.household_no) == ("ミナミユイ", "南結衣", "H3")
    new_keys = set(blocking_keys(person))
    assert all(person.person_id in state.blocks.get(key) for key in new_keys)
    assert all(person.person_id not in state.blocks.get(key) for key in old_keys - new_keys)
