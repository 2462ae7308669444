"""Blocks (children only) and name frequencies follow a person's matched fields; a status change re-indexes only
to or from merged (a merged person is in no block). Speed (issue 14): every new registry person used to be indexed
twice."""

from __future__ import annotations

import pytest

from services.linkage.domain.blocking import blocking_keys
from services.linkage.domain.model import Person
from services.linkage.domain.state import LinkageState

pytestmark = pytest.mark.unit


def _person() -> Person:
    return Person("p1", kana_key="フクオカタロオ", surname_kana_key="フクオカ", given_kana_key="タロオ",
                  kanji_key="福岡太郎", birth_date="2012-10-22", address_key="東区箱崎1-2-3", is_child=True)


def _indexed(state: LinkageState, p: Person) -> bool:
    return all(p.person_id in state.blocks.get(k) for k in blocking_keys(p))


def test_a_status_change_keeps_the_blocks_and_counts_once() -> None:
    """(The state is compiled with mypyc in the suite, so its methods cannot be wrapped to count calls: what a
    re-index would break — the same blocks, the frequencies counted once — is asserted instead.)"""
    state, p = LinkageState(), _person()
    state.add_person(p)
    before = {k: set(state.blocks.get(k)) for k in blocking_keys(p)}
    state.update_person(p, {"status": "resident", "household_no": "H1"})
    state.update_person(p, {"status": "left"})
    assert {k: set(state.blocks.get(k)) for k in blocking_keys(p)} == before
    assert _indexed(state, p) and state.kana_freq["フクオカタロオ"] == 1
    assert state.surname_freq["フクオカ"] == 1 and state.given_freq["タロオ"] == 1
    assert state.birth_date_freq["2012-10-22"] == 1


def test_merged_leaves_the_blocks_and_coming_back_rejoins_them() -> None:
    state, p = LinkageState(), _person()
    state.add_person(p)
    state.update_person(p, {"status": "merged"})
    assert not any(p.person_id in state.blocks.get(k) for k in blocking_keys(p))
    assert state.kana_freq["フクオカタロオ"] == 0
    state.update_person(p, {"status": "known"})
    assert _indexed(state, p) and state.kana_freq["フクオカタロオ"] == 1


def test_a_name_change_moves_the_blocks() -> None:
    state, p = LinkageState(), _person()
    state.add_person(p)
    old = list(blocking_keys(p))
    state.update_person(p, {"kana_key": "ハカタタロオ", "surname_kana_key": "ハカタ"})
    assert _indexed(state, p) and not any(p.person_id in state.blocks.get(k) for k in old if k.startswith("k|"))


def test_an_adult_counts_in_the_frequencies_but_joins_the_blocks_only_as_a_child() -> None:
    """A school record is a child's: adults are never its candidates (born years apart), so they are not in the
    blocks — a third of a registry load's work, and a parent no longer in each pupil's address block."""
    state, p = LinkageState(), _person()
    p.is_child = False
    state.add_person(p)
    assert not any(p.person_id in state.blocks.get(k) for k in blocking_keys(p))
    assert state.kana_freq["フクオカタロオ"] == 1
    state.update_person(p, {"is_child": True})
    assert _indexed(state, p) and state.kana_freq["フクオカタロオ"] == 1
    state.remove_person(p)
    assert not any(p.person_id in state.blocks.get(k) for k in blocking_keys(p)) and not state.kana_freq
