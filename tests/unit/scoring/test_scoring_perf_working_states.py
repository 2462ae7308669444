"""The kept working states (parsed facts reused between a child's updates) change nothing that is published or
stored: a store that keeps the very objects put and one that round-trips JSON end in the same place."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.scoring.adapters.changelog_store import ChangelogStore
from services.scoring.adapters.memory_store import MemoryStateStore
from services.scoring.service_layer.handlers import Published, decode_fact, handle_fact, sweep_child
from services.scoring.service_layer.state import WORKING, ChildState, WorkingStates
from tests.unit.scoring.factories import GUIDELINE, FakeStore, envelope, fact_dict
from tests.unit.scoring.strategies import DAYS, FAST, fact_dicts

pytestmark = pytest.mark.unit


KeepingStore = MemoryStateStore  # like Faust's memory store: holds the object put, as it is


def _content(message: Published | None) -> dict[str, Any] | None:
    return None if message is None else {k: v for k, v in message.envelope.items() if k != "time"}


def _run(store: FakeStore | KeepingStore | ChangelogStore, updates: list[dict[str, Any]], today: date,
         later: list[int]) -> list[dict[str, Any] | None]:
    published = []
    for number, update in enumerate([*updates, *updates[-2:]]):
        event_id, fact = decode_fact(envelope(update, event_id=f"e{number}"), update["child_id"])
        _, message = handle_fact(fact, event_id=event_id, partition=number % 2, store=store, rulebook=GUIDELINE,
                                 today=today, hold=number < 2)
        published.append(_content(message))
    day = today
    for step in later:
        day += timedelta(days=step)
        if (raw := store.get("child-p")) is not None:
            published.append(_content(sweep_child("child-p", raw, store=store, rulebook=GUIDELINE, today=day)))
    return published


@FAST
@given(st.lists(fact_dicts(), max_size=12), DAYS, st.lists(st.integers(0, 40), max_size=3))
def test_kept_states_publish_and_store_what_states_read_afresh_do(updates: list[dict[str, Any]], today: date,
                                                                  later: list[int]) -> None:
    fresh, kept = FakeStore(), KeepingStore()
    assert _run(kept, updates, today, later) == _run(fresh, updates, today, later)
    assert kept.states == fresh.states


def test_a_state_is_reused_only_while_the_store_holds_what_was_put() -> None:
    working = WorkingStates()
    raw = {"p": 1, "f": {}, "a": None, "w": None, "d": "2026-06-01", "k": "v", "n": None}
    state = ChildState.from_json(raw)
    working.keep("c1", raw, state)
    assert working.take("c1", dict(raw)) is not state  # an equal copy (recovered, or written elsewhere): afresh
    working.keep("c1", raw, state)
    assert working.take("c1", raw) is state
    assert working.take("c1", raw) is not state  # taken out while in use: a failed update leaves nothing behind


def test_a_failed_update_leaves_the_stored_state_and_the_next_update_intact() -> None:
    class FailingOnce(KeepingStore):
        fail = False

        def put(self, child_id: str, state: dict[str, Any], partition: int | None) -> None:
            if self.fail:
                self.fail = False
                raise RuntimeError("changelog unavailable")
            super().put(child_id, state, partition)

    def deliver(store: KeepingStore | FakeStore, data: dict[str, Any]) -> Published | None:
        event_id, fact = decode_fact(envelope(data, event_id=data["fact_id"]), data["child_id"])
        return handle_fact(fact, event_id=event_id, partition=0, store=store, rulebook=GUIDELINE,
                           today=date(2026, 6, 1))[1]

    home = fact_dict("residence", fact_id="res", child_id="c9", valid_from="2015-05-01", birth_date="2015-05-01",
                     sex="1", ward_code="40131")
    assistance = fact_dict("public_assistance", fact_id="pa", child_id="c9", relation="household",
                           valid_from="2026-04-01", case_no="C")
    store, reference = FailingOnce(), FakeStore()
    for data in (home,):
        deliver(store, data), deliver(reference, data)
    before = store.states["c9"]
    snapshot = {**before, "f": dict(before["f"])}
    store.fail = True
    with pytest.raises(RuntimeError):
        deliver(store, assistance)
    assert store.states["c9"] is before and before == snapshot  # nothing changed in place
    assert _content(deliver(store, assistance)) == _content(deliver(reference, assistance))
    assert store.states["c9"] == reference.states["c9"]
    assert len(WORKING) <= WORKING.capacity


class ColdStore(ChangelogStore):
    """The worker's store with no child kept decoded: each write is flushed at once and every child goes cold, so
    each next update or sweep starts from the compressed changelog bytes."""

    def __init__(self) -> None:
        super().__init__("changelog", hot_capacity=0, on_evict=WORKING.forget)

    def put(self, child_id: str, state: dict[str, Any], partition: int | None) -> None:
        super().put(child_id, state, partition)

        async def send(*_args: Any, **_kwargs: Any) -> None:
            return None

        coroutine = self.flush(send)
        with pytest.raises(StopIteration):
            coroutine.send(None)  # nothing in it waits

    @property
    def states(self) -> dict[str, dict[str, Any]]:
        return self.data


@FAST
@given(st.lists(fact_dicts(), max_size=12), DAYS, st.lists(st.integers(0, 40), max_size=3))
def test_children_kept_cold_publish_and_store_what_children_kept_decoded_do(
        updates: list[dict[str, Any]], today: date, later: list[int]) -> None:
    cold, kept = ColdStore(), KeepingStore()
    assert _run(cold, updates, today, later) == _run(kept, updates, today, later)
    assert cold.states == kept.states
