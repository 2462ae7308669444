"""The Faust table store in batches (issue 19): a child's changelog message is written once per batch, with its
state at the batch's end, to the partition the fact named; outside a batch (the clock) at once; a child deleted
or changed by another agent between two facts of a batch is not written back with an older state."""

from __future__ import annotations

from typing import Any

import pytest

from services.scoring.adapters.faust_privacy import TableForgetter
from services.scoring.adapters.faust_table import FaustTableStore

pytestmark = pytest.mark.unit


class FakeTable:
    """What the stores use of a Faust table: its data, ``get`` and its changelog."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.changelog: list[tuple[int | None, str, Any]] = []

    def get(self, key: str) -> Any:
        return self.data.get(key)

    def send_changelog(self, partition: int | None, key: str, value: Any, **_: Any) -> None:
        self.changelog.append((partition, key, value))


def test_outside_a_batch_each_put_is_written_at_once() -> None:
    table = FakeTable()
    store = FaustTableStore(table)
    store.put("c1", {"v": 1}, 3)
    store.put("c1", {"v": 2}, 3)
    assert table.changelog == [(3, "c1", {"v": 1}), (3, "c1", {"v": 2})]
    assert store.get("c1") == {"v": 2}


def test_a_batch_writes_each_child_once_with_its_last_state_when_it_ends() -> None:
    table = FakeTable()
    store = FaustTableStore(table)
    with store.batch():
        store.put("c1", {"v": 1}, 3)
        store.put("c2", {"v": 1}, 5)
        store.put("c1", {"v": 2}, 3)
        assert store.get("c1") == {"v": 2}  # the next fact of the batch reads the state at once
        assert table.changelog == []
    assert sorted(table.changelog) == [(3, "c1", {"v": 2}), (5, "c2", {"v": 1})]
    store.put("c1", {"v": 3}, 3)  # the batch is over: at once again
    assert table.changelog[-1] == (3, "c1", {"v": 3})


def test_a_child_deleted_within_the_batch_is_not_written_back() -> None:
    table = FakeTable()
    store, forgetter = FaustTableStore(table), TableForgetter(table)
    with store.batch():
        store.put("c1", {"v": 1}, 3)
        forgetter.delete("c1", 3)  # a deletion request read by the other agent while the batch awaited
    assert table.changelog == [(3, "c1", None)]
    assert "c1" not in table.data


def test_a_state_changed_by_another_writer_within_the_batch_is_written_as_it_is_at_the_end() -> None:
    table = FakeTable()
    store, forgetter = FaustTableStore(table), TableForgetter(table)
    with store.batch():
        store.put("c1", {"v": 1}, 3)
        forgetter.put("c1", {"v": 1, "opted_out": True}, 3)  # an opt-out, written at once
    assert table.changelog == [(3, "c1", {"v": 1, "opted_out": True}), (3, "c1", {"v": 1, "opted_out": True})]


def test_a_batch_that_fails_still_writes_what_it_changed() -> None:
    table = FakeTable()
    store = FaustTableStore(table)
    with pytest.raises(RuntimeError), store.batch():
        store.put("c1", {"v": 1}, 0)
        raise RuntimeError("boom")
    assert table.changelog == [(0, "c1", {"v": 1})]
    store.put("c2", {"v": 1}, 1)
    assert table.changelog[-1] == (1, "c2", {"v": 1})
