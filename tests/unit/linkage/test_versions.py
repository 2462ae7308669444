"""Linkage numbers each change of a fact for a child (1, 2, …, also when retracted) and each child profile, and
says from when the child's ward applies, so readers can tell a replayed older message from a newer one."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.linkage.adapters.store import SqliteStore
from services.linkage.domain.identity import atena_key, person_id_for
from services.linkage.domain.state import LinkageState
from tests.unit.linkage.factories import assistance, children, facts, left, resident, run

pytestmark = pytest.mark.unit
CHILD = person_id_for(atena_key("1001"))


def _household(state: LinkageState) -> None:
    run(state, resident("2001", "H1", birth="1990-01-01", reason="initial_load", effective="2024-01-01"))
    run(state, resident("1001", "H1", birth="2020-05-01", reason="move_in", effective="2024-04-01"))


def test_each_change_of_a_fact_gets_the_next_version_and_a_retraction_too() -> None:
    state = LinkageState()
    _household(state)
    [started] = facts(run(state, assistance("started", "C1", "H1", "2001", "2025-04-01")))
    [ended] = facts(run(state, assistance("ended", "C1", "H1", "2001", "2025-09-30")))
    assert started["version"] == 1
    assert ended["fact_id"] == started["fact_id"] and ended["version"] == 2
    # the child leaves the household: its 生活保護 fact is withdrawn, as version 3
    out = facts(run(state, left("1001", "H1", "2025-10-15")))
    retracted = [f for f in out if f["fact_id"] == started["fact_id"]]
    assert retracted and retracted[0]["status"] == "retracted" and retracted[0]["version"] == 3


def test_the_same_record_again_sends_nothing_and_keeps_the_version() -> None:
    state = LinkageState()
    _household(state)
    record = assistance("started", "C1", "H1", "2001", "2025-04-01")
    [first] = facts(run(state, record))
    assert facts(run(state, record)) == []
    [moved] = facts(run(state, resident("1001", "H1", birth="2020-05-01", reason="move_within",
                                        effective="2025-06-01", ward="40132")))
    assert moved["kind"] == "residence" and moved["version"] == 2  # residence v1 came with the move-in
    assert first["version"] == 1


def test_versions_continue_after_a_restart_from_the_store(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'linkage.db'}")
    state = LinkageState()
    _household(state)
    [started] = facts(run(state, assistance("started", "C1", "H1", "2001", "2025-04-01")))
    store.commit(state, [])
    restarted = store.loaded()
    [ended] = facts(run(restarted, assistance("ended", "C1", "H1", "2001", "2025-09-30")))
    assert ended["fact_id"] == started["fact_id"] and ended["version"] == 2
    [profile] = children(run(restarted, resident("1001", "H1", birth="2020-05-01", reason="move_within",
                                                 effective="2025-06-01", ward="40132")))
    assert profile["version"] == 2


def test_a_payload_sent_before_versions_existed_counts_as_version_zero() -> None:
    state = LinkageState()
    _household(state)
    [started] = facts(run(state, assistance("started", "C1", "H1", "2001", "2025-04-01")))
    for sf in state.source_facts.values():  # as stored by the previous release
        sf.emitted = {k: {f: v for f, v in p.items() if f != "version"} for k, p in sf.emitted.items()}
    [ended] = facts(run(state, assistance("ended", "C1", "H1", "2001", "2025-09-30")))
    assert ended["fact_id"] == started["fact_id"] and ended["version"] == 1


def test_ward_since_is_the_date_of_the_move_that_brought_the_ward() -> None:
    state = LinkageState()
    [born] = children(run(state, resident("1001", "H1", birth="2024-02-03", reason="birth", effective="2024-02-03")))
    assert (born["ward_code"], born["ward_since"], born["version"]) == ("40131", "2024-02-03", 1)
    moved = run(state, resident("1001", "H1", birth="2024-02-03", reason="move_within", effective="2025-06-01",
                                ward="40132"))
    [profile], [residence] = children(moved), facts(moved)
    assert (profile["ward_code"], profile["ward_since"], profile["version"]) == ("40132", "2025-06-01", 2)
    assert residence["attributes"]["ward_since"] == "2025-06-01"
    assert residence["valid_from"] == "2024-02-03"  # still here since birth: resident_since unchanged
    renamed = run(state, resident("1001", "H2", birth="2024-02-03", reason="household_change",
                                  effective="2025-08-01", ward="40132"))
    [profile] = children(renamed)
    assert (profile["ward_since"], profile["version"]) == ("2025-06-01", 3)


def test_a_profiles_hash_is_the_one_stored_before_orjson() -> None:
    """Profiles are hashed with orjson (speed); for strings and None it writes json.dumps's bytes, so a hash stored
    by an older version still matches and no profile is re-sent after an upgrade."""
    from services.linkage.domain.identity import content_hash, text_hash

    payload = {"child_id": "c1", "household_id": None, "name_kanji": "福岡 太郎", "name_kana": "フクオカ タロウ",
               "birth_date": "2012-10-22", "sex": "1", "ward_code": "40131", "ward_since": "2012-10-22",
               "address": '福岡市東区箱崎1-2-3\t"別棟"\\\x01\u2028ｱ', "status": "resident", "merged_into": None}
    assert text_hash(payload) == content_hash(payload)
