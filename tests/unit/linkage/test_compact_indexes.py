"""The in-memory indexes made compact for scale 1.0 (issue 19, twelfth pass): the key → owner index keeps only the
keys whose owner's id was not made from them, and the blocks, 世帯 and name counts keep a key's hash. What they
answer must be what the plain dictionaries answered."""

from __future__ import annotations

import pytest

from services.linkage.domain.identity import person_id_for
from services.linkage.domain.model import Person
from services.linkage.domain.state import Counts, Households, LinkageState

pytestmark = pytest.mark.unit


def _resident(key: str, household: str, *, child: bool = False, pid: str | None = None) -> Person:
    return Person(pid or person_id_for(key), keys={key: "r-" + key}, household_no=household, status="resident",
                  is_child=child, kana_key="フクオカタロオ", birth_date="2015-04-01" if child else "1985-04-01")


def test_a_key_names_its_own_person_until_it_moves_or_goes() -> None:
    state = LinkageState()
    a = _resident("atena:1", "H1", child=True)
    state.add_person(a)
    assert state.person_for_key("atena:1") is a
    assert state.key_owner.kept() == {}  # made from the key: nothing kept for it
    assert state.person_for_key("atena:2") is None and state.key_owner.get("atena:2") is None

    state.bind_key(a, "student:S1", "r-s1")  # another system's key on a registry person: kept
    assert state.person_for_key("student:S1") is a and state.key_owner.kept() == {"student:S1": a.person_id}

    b = _resident("atena:3", "H1")
    state.add_person(b)
    state.unbind_key(a, "atena:1")  # as a merge moves a key: unbound from one, bound to the other
    state.bind_key(b, "atena:1", "r-m")
    assert state.person_for_key("atena:1") is b and state.key_owner.get("atena:1") == b.person_id

    state.unbind_key(b, "atena:1")  # its own person no longer holds it either: no one
    assert state.person_for_key("atena:1") is None
    state.bind_key(a, "atena:1", "r-back")  # back with the person made from it: nothing kept for it again
    assert state.person_for_key("atena:1") is a and "atena:1" not in state.key_owner.kept()
    assert dict(state.key_owner.items()) == {"atena:1": a.person_id, "student:S1": a.person_id,
                                             "atena:3": b.person_id}

    state.remove_person(a)  # a deletion on request
    assert state.person_for_key("atena:1") is None and state.person_for_key("student:S1") is None
    assert state.key_owner.kept() == {}


def test_a_person_whose_id_was_not_made_from_its_key_is_found_by_it() -> None:
    state = LinkageState()
    split = _resident("atena:9", "H2", pid="split-person")  # a split's new person (``split_person_id``)
    state.add_person(split)
    assert state.person_for_key("atena:9") is split and state.key_owner.kept() == {"atena:9": "split-person"}


def test_a_household_index_entry_for_another_household_is_not_a_member() -> None:
    """What two 世帯 numbers sharing the index's hash would look like: the index names a person of another 世帯."""
    state = LinkageState()
    child, stranger = _resident("atena:1", "H1", child=True), _resident("atena:2", "H2", child=True)
    state.add_person(child)
    state.add_person(stranger)
    state.households.add("H1", stranger.person_id, held=True)
    assert state.household_children("H1") == [child]


def test_counts_count_up_and_down_by_value() -> None:
    counts = Counts()
    for value in ("フクオカ", "フクオカ", "ハカタ"):
        counts.add(value)
    assert counts["フクオカ"] == 2 and counts.get("ハカタ", 1) == 1 and counts.get("テンジン", 7) == 7
    counts.discard("フクオカ")
    counts.discard("ハカタ")
    counts.discard("テンジン")  # never counted: stays absent, never negative
    assert counts["フクオカ"] == 1 and counts["ハカタ"] == 0 and counts["テンジン"] == 0 and len(counts) == 1


def test_a_household_gives_its_members_ids_however_each_is_kept() -> None:
    """An adult (not held in memory) is kept as its id's number, a child as its string; a member re-indexed in the
    other form (a child grown up, an adult who became a child's identity) is still one member, and leaves once."""
    households = Households()
    adult, child, odd = person_id_for("atena:1"), person_id_for("atena:2"), "not-a-uuid"
    households.add("H1", adult, held=False)
    households.add("H1", child, held=True)
    households.add("H1", odd, held=False)  # not a canonical id: kept as it is
    assert sorted(households.get("H1")) == sorted([adult, child, odd])
    households.add("H1", adult, held=False)  # again: still one member
    assert len(households.get("H1")) == 3
    households.remove("H1", child)
    households.remove("H1", odd)
    assert households.get("H1") == (adult,)
    households.add("H2", child, held=False)  # the other form than the one it will be removed as
    households.remove("H2", child)
    households.remove("H1", adult)
    assert households.get("H1") == () and households.get("H2") == () and len(households) == 0



def test_the_ids_made_from_keys_are_the_same_from_the_recent_ones_and_bounded() -> None:
    """Issue 19, twentieth pass: the owner's id is made again from the key for every ask; the keys asked for lately
    keep theirs, which must be exactly what ``person_id_for`` makes, and their number stays bounded."""
    state = LinkageState()
    persons = [_resident(f"atena:{i}", "H1") for i in range(5)]
    for p in persons:
        state.add_person(p)
    owners = state.key_owner
    owners.made_limit = 3
    owners._made.clear()  # binding the keys asked for them too
    for _ in range(2):
        assert [owners.owner(f"atena:{i}") for i in range(2)] == persons[:2]
    assert owners._made == {f"atena:{i}": person_id_for(f"atena:{i}") for i in range(2)}, "kept once made"
    assert [owners.get(f"atena:{i}") for i in range(5)] == [p.person_id for p in persons]
    assert len(owners._made) <= 3
    assert owners.made_id("atena:4") == person_id_for("atena:4") and owners.get("atena:9") is None
