"""Issue 19, ninth pass: attached to its store, the state keeps the children and merged aliases in memory and reads
the other persons (the adults) from SQLite when a record, a key or a decision names them. That must change nothing
published — the same bytes as with every person in memory, with no adult cached between batches at all, and across
a restart — and every lookup, count and scan must still find the adults."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.topics.privacy_deletions import DeletionRequestV1
from services.linkage.adapters.store import SqliteStore
from services.linkage.domain.identity import atena_key, person_id_for
from services.linkage.domain.model import Person
from services.linkage.domain.state import LinkageState, held_always
from services.linkage.service_layer.handlers import LinkageService
from services.linkage.service_layer.privacy import forget
from tests.unit.linkage.test_person_retention import TODAY
from tests.unit.linkage.test_person_retention import _city as retention_city
from tests.unit.linkage.test_privacy_deletion import CHILD_ID
from tests.unit.linkage.test_privacy_deletion import _city as deletion_city
from tests.unit.linkage.test_privacy_deletion import _delete as delete
from tests.unit.linkage.test_privacy_deletion import _service as privacy_service
from tests.unit.linkage.test_stored_state import _incoming, _records, _run, _service

pytestmark = pytest.mark.unit


def _uncached(store: SqliteStore | None) -> LinkageService:
    service = _service(store)  # no source fact cached between batches
    service.state.persons.cache_size = 0  # nor any adult
    return service


def test_adults_read_on_demand_publish_what_the_state_in_memory_does(tmp_path: Path) -> None:
    records = _records()
    one_each = [_incoming([r], i) for i, r in enumerate(records)]
    replay = [_incoming(records[:3], 100)]
    memory = _service(None)
    expected = _run(memory, one_each + replay)

    store = SqliteStore(f"sqlite:///{tmp_path / 'a.db'}")
    attached = _uncached(store)
    assert _run(attached, one_each + replay) == expected
    state, everyone = attached.state, memory.state.persons
    assert state.persons.reads > 0
    held = {pid for part in state.persons.in_memory() for pid in part}
    assert held == {pid for pid, p in everyone.items() if held_always(p)}  # the adults are not in memory
    assert held < set(everyone)  # there are adults (the mother, the grandfather)
    # yet every lookup finds them, the count and a scan see them all
    assert len(state.persons) == len(everyone) and set(state.persons) == set(everyone)
    for pid, person in everyone.items():
        assert state.persons[pid].to_dict() == person.to_dict()
    grandfather = person_id_for(atena_key("2002"))
    assert state.person_for_key(atena_key("2002")) is state.persons.get(grandfather)
    assert state.persons.held(grandfather) is not None  # read in this batch: kept until the commit
    store.commit(state, [])
    assert state.persons.held(grandfather) is None and grandfather in state.persons
    store.close()

    split = 9  # a restart: the fresh state holds the children only and carries on
    restarted = SqliteStore(f"sqlite:///{tmp_path / 'b.db'}")
    before = _run(_uncached(restarted), one_each[:split])
    restarted.close()
    again = SqliteStore(f"sqlite:///{tmp_path / 'b.db'}")
    service = _uncached(again)
    assert all(held_always(p) for part in service.state.persons.in_memory() for p in part.values())
    after = _run(service, one_each[split:] + replay)
    assert before + after == expected
    again.close()


def _attached(tmp_path: Path) -> tuple[SqliteStore, LinkageState]:
    store = SqliteStore(f"sqlite:///{tmp_path / 'p.db'}")
    state = LinkageState()
    store.load(state)
    state.persons.cache_size = 0
    return store, state


def test_a_person_who_becomes_a_child_is_held_and_one_who_is_removed_is_gone(tmp_path: Path) -> None:
    store, state = _attached(tmp_path)
    adult = Person("p-adult", {"atena:1": "r1"}, household_no="H1", status="resident")
    child = Person("p-child", {"atena:2": "r2"}, household_no="H1", status="resident", is_child=True)
    state.add_person(adult)
    state.add_person(child)
    assert len(state.persons) == 2
    store.commit(state, [])
    assert state.persons.held("p-adult") is None and state.persons.held("p-child") is child
    assert [p.person_id for p in state.household_children("H1")] == ["p-child"]
    assert state.persons.reads == 0  # a 世帯's children are found without reading its adults

    again = state.persons["p-adult"]
    state.update_person(again, {"is_child": True})
    store.commit(state, [])
    assert state.persons.held("p-adult") is again  # a child now: held from this commit on
    assert [p.person_id for p in state.household_children("H1")] == ["p-adult", "p-child"]

    state.add_person(Person("p-new", {"atena:3": "r3"}))
    state.remove_person(child)
    assert len(state.persons) == 2 and "p-child" not in state.persons
    store.commit(state, [])
    assert len(state.persons) == 2 and sorted(state.persons) == ["p-adult", "p-new"]
    assert state.persons.held("p-new") is None and state.persons["p-new"].keys == {"atena:3": "r3"}
    assert sorted(store.loaded().persons) == ["p-adult", "p-new"]
    store.close()


def test_a_deletion_scrubs_the_key_from_an_adult_in_the_store(tmp_path: Path) -> None:
    store, state = _attached(tmp_path)
    adult = Person("p-adult", {"atena:1": "r1"}, household_no="H1", status="resident")
    child = Person("p-child", {"atena:2": "r2"}, household_no="H1", status="resident", is_child=True)
    state.add_person(adult)
    state.add_person(child)
    state.add_cannot_link(adult, "atena:2")  # "never link this key here", on an adult
    store.commit(state, [])
    assert state.persons.held("p-adult") is None
    request = DeletionRequestV1(request_id="del-9", child_id="p-child", requested_by="本人",
                                requested_at="2025-10-01T10:00:00+09:00")
    assert forget(request, state).outcome == "deleted"
    store.commit(state, [])
    assert state.persons["p-adult"].cannot_link == [] and "p-child" not in state.persons
    assert store.loaded().persons["p-adult"].cannot_link == []
    store.close()


def _privacy_service(directory: Path, person_cache: int | None) -> LinkageService:
    """``test_privacy_deletion._service``'s service; with ``person_cache``, its state attached to the store (the
    store is empty then: every person is made in the run, and none leaves memory when the cache holds them all)."""
    directory.mkdir()
    service = privacy_service(directory)
    if person_cache is not None:
        assert service.store is not None
        service.state = LinkageState()
        service.store.load(service.state)
        service.state.persons.cache_size = person_cache
        service.state.source_facts.cache_size = 0
    return service


def test_retention_and_a_deletion_attached_publish_what_they_do_in_memory(tmp_path: Path) -> None:
    """The person retention purge and a deletion, with every adult read back from the store, send what they send
    with every person in memory. (In the order of the source facts as iterated: attached, that is the store's key
    order, not the order they came in — so against the state all in memory, the same messages in another order.)"""
    published = []
    for cache in (None, 10**9, 0):
        service = _privacy_service(tmp_path / str(cache), cache)
        retention_city(service)
        deletion_city(service)
        entries = service.purge_expired({}, TODAY, person_years=5)
        assert service.store is not None
        service.store.acknowledge([seq for seq, _ in entries])
        out = [m for _, m in entries] + delete(service)
        published.append((out, sorted(service.state.persons), len(service.state.persons)))
        assert CHILD_ID not in service.state.persons
    memory, all_cached, uncached = published
    assert all_cached == uncached and len(uncached[0]) > 4
    assert sorted(memory[0]) == sorted(uncached[0]) and memory[1:] == uncached[1:]
