"""Replays never move a child's state back: a fact version not above the one held changes nothing and publishes
nothing; the flags message id comes from the change itself, not from what triggered it (issue 20)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from contracts.envelope import Envelope
from contracts.topics.scoring_flags import ChildFlagsV1
from services.scoring.service_layer.handlers import InvalidFactMessage, Outcome, Published, decode_fact, handle_fact
from services.scoring.service_layer.state import WORKING
from tests.unit.scoring.factories import FUKUOKA, FakeStore, envelope, fact_dict

pytestmark = pytest.mark.unit

TODAY = date(2026, 6, 1)


def deliver(store: FakeStore, data: dict[str, Any]) -> tuple[Outcome, Published | None]:
    event_id, fact = decode_fact(envelope(data), data["child_id"])
    return handle_fact(fact, event_id=event_id, partition=3, store=store, rulebook=FUKUOKA, today=TODAY)


def residence(child: str, version: int | None = 1, **attributes: Any) -> dict[str, Any]:
    data = fact_dict("residence", fact_id=f"res-{child}", child_id=child, valid_from="2021-04-01",
                     birth_date="2015-05-01", sex="1", ward_code="40133", resident_since="2021-04-01", **attributes)
    return {**data, "version": version}


def assistance(child: str, version: int | None, **changes: Any) -> dict[str, Any]:
    data = fact_dict("public_assistance", fact_id="pa-C1", child_id=child, relation="household",
                     valid_from="2026-04-01", record_date="2026-04-01", case_no="C1")
    data["record_id"] = "rec-pa-C1"
    return {**data, **changes, "version": version}


def items(store: FakeStore, child: str) -> list[int]:
    return [f["item"] for f in (store.states[child]["a"] or {"flags": []})["flags"]]


def restart() -> None:
    """A new process: nothing kept parsed, the state only as the changelog holds it."""
    WORKING._states.clear()


def test_the_replay_rollback_of_issue_20_publishes_nothing() -> None:
    store = FakeStore()
    deliver(store, residence("c1"))
    raised = deliver(store, assistance("c1", 1))[1]
    cleared = deliver(store, assistance("c1", 2, status="retracted"))[1]
    assert raised is not None and cleared is not None
    assert raised.envelope["data"]["raised_items"] == [18] and cleared.envelope["data"]["cleared_items"] == [18]
    state_before = store.states["c1"]
    restart()  # state recovered from the changelog, facts re-read from an older committed offset
    for replayed in (residence("c1"), assistance("c1", 1), assistance("c1", 2, status="retracted")):
        assert deliver(store, replayed) == ("stale", None)
    assert store.states["c1"] == state_before and items(store, "c1") == []


def test_an_older_version_arriving_after_a_newer_one_changes_nothing() -> None:
    store = FakeStore()
    deliver(store, residence("c1"))
    ended = deliver(store, assistance("c1", 2, valid_to="2026-05-01"))
    assert ended == ("no_change", None)  # already over: nothing to raise
    writes = store.writes
    assert deliver(store, assistance("c1", 1)) == ("stale", None)  # the start, late: must not raise item 18
    assert store.writes == writes and items(store, "c1") == []


def test_a_retraction_is_remembered_so_a_late_assertion_does_not_come_back() -> None:
    store = FakeStore()
    deliver(store, residence("c1"))
    assert deliver(store, assistance("c1", 2, status="retracted")) == ("no_change", None)
    assert store.states["c1"]["v"]["pa-C1"] == 2
    assert deliver(store, assistance("c1", 1)) == ("stale", None)
    assert items(store, "c1") == []


def test_a_newer_version_with_the_same_values_is_recorded_and_publishes_nothing() -> None:
    store = FakeStore()
    deliver(store, residence("c1"))
    deliver(store, assistance("c1", 1))
    assert deliver(store, assistance("c1", 2)) == ("no_change", None)
    assert store.states["c1"]["v"]["pa-C1"] == 2
    assert deliver(store, assistance("c1", 2)) == ("stale", None)


def test_facts_without_a_version_keep_the_previous_behaviour() -> None:
    store = FakeStore()
    deliver(store, residence("c1", version=None))
    assert deliver(store, assistance("c1", None))[1] is not None
    assert deliver(store, assistance("c1", None, status="retracted"))[1] is not None
    replayed = deliver(store, assistance("c1", None))  # no version: nothing tells it is older
    assert replayed[0] == "flags_changed"


def test_the_same_change_from_the_same_state_has_the_same_id_whatever_triggered_it() -> None:
    ids = []
    for _run in range(2):
        store = FakeStore()
        deliver(store, residence("c1"))
        published = deliver(store, assistance("c1", 1))[1]  # a new envelope id on each delivery
        assert published is not None
        ids.append(published.envelope["id"])
    assert ids[0] == ids[1]


def test_a_change_republished_after_its_state_write_was_lost_keeps_its_id() -> None:
    store = FakeStore()
    deliver(store, residence("c1"))
    before = dict(store.states["c1"])
    first = deliver(store, assistance("c1", 1))[1]
    store.states["c1"] = before  # the changelog never got the update (kill -9): the fact is read again
    restart()
    again = deliver(store, assistance("c1", 1))[1]
    assert first is not None and again is not None and again.envelope["id"] == first.envelope["id"]


def test_a_change_back_to_an_earlier_assessment_gets_a_new_id() -> None:
    store = FakeStore()
    deliver(store, residence("c1"))
    published = [deliver(store, assistance("c1", v, **({"status": "retracted"} if v % 2 == 0 else {})))[1]
                 for v in range(1, 6)]  # raised, cleared, raised, cleared, raised
    assert all(p is not None for p in published)
    envelopes = [p.envelope for p in published if p is not None]
    assert envelopes[2]["data"]["before"] == envelopes[4]["data"]["before"]  # the very same change ...
    assert envelopes[2]["data"]["after"] == envelopes[4]["data"]["after"]
    assert len({e["id"] for e in envelopes}) == 5  # ... yet a new one: it must not be dropped as a duplicate


def test_flags_say_from_when_the_ward_applies() -> None:
    store = FakeStore()
    deliver(store, residence("c1"))
    published = deliver(store, assistance("c1", 1))[1]
    assert published is not None
    assert Envelope[ChildFlagsV1].model_validate(published.envelope).data.ward_since == "2021-04-01"
    moved = deliver(store, residence("c1", version=2, ward_since="2026-05-10") | {"attributes": {
        **residence("c1")["attributes"], "ward_code": "40131", "ward_since": "2026-05-10"}})[1]
    assert moved is not None
    data = Envelope[ChildFlagsV1].model_validate(moved.envelope).data
    assert (data.ward_code, data.ward_since) == ("40131", "2026-05-10")


@pytest.mark.parametrize("version", [0, -1, 1.5, "x"])
def test_a_version_outside_the_contract_is_refused(version: object) -> None:
    data = assistance("c1", 1)
    data["version"] = version
    with pytest.raises(InvalidFactMessage):
        decode_fact(envelope(data), "c1")


def test_the_version_is_decoded() -> None:
    _, fact = decode_fact(envelope(assistance("c1", 7)), "c1")
    assert fact.version == 7 and "version" not in fact.stored
