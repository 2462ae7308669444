"""Scoring's state store (adapters/changelog_store.py, issue 19): a child's changelog message is written once per
batch with its state at the batch's end, to the partition given; a deletion is a tombstone even when the child was
written in the same batch; the changelog reads back into the same state (and the Faust table's format loads);
a partition given up is forgotten."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import orjson
import pytest

from services.scoring.adapters.changelog_store import ChangelogStore, ColdCodec

pytestmark = pytest.mark.unit
TOPIC = "tsunagu-scoring-child-state-changelog"


class FakeProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, int, bytes, bytes | None]] = []

    async def send(self, topic: str, value: bytes | None, *, key: bytes, partition: int) -> asyncio.Future[None]:
        self.sent.append((topic, partition, key, value))
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    def decoded(self) -> list[tuple[int, str, Any]]:
        return [(p, orjson.loads(k), None if v is None else orjson.loads(v)) for _, p, k, v in self.sent]


def flush(store: ChangelogStore) -> FakeProducer:
    producer = FakeProducer()

    async def go() -> None:
        await asyncio.gather(*await store.flush(producer.send))

    asyncio.run(go())
    return producer


def test_a_batch_writes_each_child_once_with_its_last_state_to_its_partition() -> None:
    store = ChangelogStore(TOPIC)
    store.put("c1", {"v": 1}, 3)
    store.put("c2", {"v": 1}, 5)
    store.put("c1", {"v": 2}, 3)
    assert store.get("c1") == {"v": 2} and store.pending == 2  # the next fact of the batch reads it at once
    producer = flush(store)
    assert sorted(producer.decoded()) == [(3, "c1", {"v": 2}), (5, "c2", {"v": 1})]
    assert {t for t, *_ in producer.sent} == {TOPIC}
    assert store.pending == 0 and flush(store).sent == []  # nothing twice


def test_a_child_deleted_after_it_was_written_in_the_batch_gets_only_its_tombstone() -> None:
    store = ChangelogStore(TOPIC)
    store.put("c1", {"v": 1}, 3)
    store.delete("c1", 3)
    assert store.get("c1") is None
    assert flush(store).sent == [(TOPIC, 3, b'"c1"', None)]


def test_a_deletion_of_a_child_held_from_an_earlier_batch_is_a_tombstone_on_its_partition() -> None:
    store = ChangelogStore(TOPIC)
    store.load(4, b'"c1"', b'{"p": 4, "f": {}}')
    store.delete("c1", None)  # no partition given: the one it was read on
    assert flush(store).decoded() == [(4, "c1", None)]
    store.delete("unknown", None)  # never held and no partition: nothing to send
    assert flush(store).sent == []


def test_a_put_without_a_partition_is_refused() -> None:
    with pytest.raises(ValueError, match="partition"):
        ChangelogStore(TOPIC).put("c1", {"v": 1}, None)


def test_what_was_written_reads_back_into_the_same_state_and_the_faust_format_loads() -> None:
    store = ChangelogStore(TOPIC)
    store.put("c1", {"p": 2, "a": {"flags": [{"item": 3}]}, "n": None}, 2)
    store.put("c2", {"p": 2, "x": "児童"}, 2)
    store.delete("c2", 2)
    written = flush(store).sent
    again = ChangelogStore(TOPIC)
    for _, partition, key, value in written:
        again.load(partition, key, value)
    assert again.data == {"c1": {"p": 2, "a": {"flags": [{"item": 3}]}, "n": None}}
    # the Faust table's JSON (spaces after separators, non-ASCII escaped) and a raw tombstone
    faust = ChangelogStore(TOPIC)
    faust.load(1, json.dumps("c3").encode(), json.dumps({"p": 1, "w": "東区"}).encode())
    faust.load(1, json.dumps("c4").encode(), json.dumps({"p": 1}).encode())
    faust.load(1, json.dumps("c4").encode(), None)
    faust.load(1, None, b"{}")  # no key: ignored
    assert faust.data == {"c3": {"p": 1, "w": "東区"}} and faust.partitions() == {1}


def test_partitions_given_up_are_forgotten_and_the_others_kept() -> None:
    store = ChangelogStore(TOPIC)
    for n, partition in enumerate((0, 1, 1, 5)):
        store.load(partition, orjson.dumps(f"c{n}"), orjson.dumps({"p": partition}))
    assert store.drop_partitions({1, 2}) == 2
    assert set(store.data) == {"c0", "c3"} and store.partitions() == {0, 5}
    assert store.drop_partitions(set()) == 0


# -- hot and cold children (memory, docs/scoring.md "Memory") ------------------------------------------------------

def _state(day: str, facts: int = 3) -> dict[str, Any]:
    return {"p": 1, "f": {f"f{n}": {"fact_id": f"f{n}", "kind": "residence", "attributes": {"ward_code": "40131"}}
                          for n in range(facts)},
            "a": {"flags": [{"item": 3, "raised_on": day}], "score": 1.5}, "w": "40131", "d": day, "k": "r1/w1",
            "n": None, "v": {"f0": 2}, "s": 4}


def test_the_least_recently_used_children_go_cold_at_a_flush_and_read_back_equal() -> None:
    evicted: list[str] = []
    store = ChangelogStore(TOPIC, hot_capacity=2, on_evict=evicted.append)
    for n in range(4):
        store.put(f"c{n}", _state(f"2026-06-0{n + 1}"), 1)
    assert store.hot == 4 and evicted == []  # never while a batch runs: its changes are not on the broker yet
    held = store.get("c0")
    assert store.get("c0") is held  # the same object while hot: the handlers' parsed copy stays usable
    producer = flush(store)
    assert len(producer.sent) == 4 and store.hot == 2 and evicted == ["c1", "c2"]  # c0 was used after c2
    assert store.get("c1") == _state("2026-06-02") and store.get("c1") is store.get("c1")  # decoded, hot again
    assert len(store) == 4 and set(store.data) == {"c0", "c1", "c2", "c3"} and "c2" in store
    assert store.data["c2"] == _state("2026-06-03")
    assert flush(store).sent == [] and store.hot == 2  # reading a cold child writes nothing; evicted again


def test_what_the_clock_checks_is_read_without_decoding_a_cold_child() -> None:
    store = ChangelogStore(TOPIC, hot_capacity=0)
    store.put("c1", {**_state("2026-06-01"), "n": "2026-07-01"}, 1)
    flush(store)
    assert store.hot == 0
    assert store.review_state("c1") == {"d": "2026-06-01", "k": "r1/w1", "n": "2026-07-01"}
    assert store.hot == 0 and store.review_state("unknown") is None
    store.get("c1")
    assert store.review_state("c1") == {**_state("2026-06-01"), "n": "2026-07-01"}  # hot: the state itself


def test_a_cold_child_is_written_deleted_and_dropped_like_a_hot_one() -> None:
    evicted: list[str] = []
    store = ChangelogStore(TOPIC, hot_capacity=0, on_evict=evicted.append)
    store.put("c1", _state("2026-06-01"), 3)
    store.put("c2", _state("2026-06-01"), 4)
    flush(store)
    store.put("c1", _state("2026-06-02"), 3)  # a cold child written: its old bytes are not what it holds
    assert flush(store).decoded() == [(3, "c1", _state("2026-06-02"))]
    assert store.get("c1") == _state("2026-06-02")
    store.delete("c2", None)
    assert flush(store).decoded() == [(4, "c2", None)] and store.get("c2") is None and len(store) == 1
    evicted.clear()
    assert store.drop_partitions({3}) == 1 and len(store) == 0 and evicted == ["c1"]


def test_a_child_with_a_change_not_yet_sent_is_never_evicted() -> None:
    store = ChangelogStore(TOPIC, hot_capacity=0)
    store.put("c1", _state("2026-06-01"), 1)
    store.put("c2", _state("2026-06-01"), 1)
    assert store.evict() == 0 and store.hot == 2
    assert flush(store).decoded() == [(1, "c1", _state("2026-06-01")), (1, "c2", _state("2026-06-01"))]


def test_the_changelog_read_back_is_kept_cold() -> None:
    store = ChangelogStore(TOPIC, hot_capacity=0)
    store.load(2, b'"c1"', orjson.dumps(_state("2026-06-01")))
    store.load(2, b'"c2"', json.dumps({"p": 2, "w": "東区", "d": None}).encode())  # the Faust table's JSON
    store.load(2, b'"c1"', orjson.dumps(_state("2026-06-02")))  # a later message of the same child
    assert store.hot == 0 and len(store) == 2
    assert store.review_state("c1") == {"d": "2026-06-02", "k": "r1/w1", "n": None}
    assert store.compact() == 2 and store.compact() == 0  # the last message of each, compressed once (a restore's end)
    assert store.get("c1") == _state("2026-06-02") and store.get("c2") == {"p": 2, "w": "東区", "d": None}
    assert store.review_state("c2") == {"p": 2, "w": "東区", "d": None}
    flush(store)  # unchanged: evicted without a new encoding
    assert store.hot == 0 and store.data == {"c1": _state("2026-06-02"), "c2": {"p": 2, "w": "東区", "d": None}}


def _child(n: int) -> dict[str, Any]:
    """A state with facts, as varied as the dictionary needs to learn from (ids, days, codes)."""
    facts = {f"f{n}-{i}": {"fact_id": f"f{n}-{i}", "kind": "infant_checkup", "relation": "self",
                           "source_system": "boshi", "record_id": f"r{n * 7 + i}",
                           "record_date": f"2025-0{1 + i % 9}-1{n % 10}", "valid_from": None, "valid_to": None,
                           "attributes": {"checkup": ("3-4m", "1y6m", "3y")[(n + i) % 3], "weight_kg": 9.5 + n % 7}}
             for i in range(1 + n % 5)}
    return {**_state(f"2026-06-{1 + n % 28:02d}"), "f": facts, "v": {k: 1 + n % 3 for k in facts}, "s": n % 4}


def test_cold_states_are_compressed_with_a_dictionary_learnt_from_the_first_ones_and_all_read_back() -> None:
    store = ChangelogStore(TOPIC, hot_capacity=0)
    store.codec = ColdCodec(train_samples=200)
    states = {f"c{n}": _child(n) for n in range(400)}
    for child_id, state in list(states.items())[:150]:
        store.put(child_id, state, 1)
    flush(store)
    assert store.codec.dictionaries == 0
    before = {child_id: store.spilled(child_id) or b"" for child_id in list(states)[:150]}
    for child_id, state in list(states.items())[150:]:
        store.put(child_id, state, 1)
    flush(store)
    assert store.codec.dictionaries == 1 and store.hot == 0
    after = {child_id: store.spilled(child_id) or b"" for child_id in list(states)[150:]}
    # smaller with the dictionary; the states compressed before it still read back, as every other one
    assert sum(map(len, after.values())) / len(after) < 0.8 * sum(map(len, before.values())) / len(before)
    assert store.data == states
    assert all(store.get(child_id) == state for child_id, state in states.items())


def test_the_cold_codec_goes_on_without_a_dictionary_when_none_can_be_learnt() -> None:
    codec = ColdCodec(train_samples=2)
    blobs = [b'{"a":1}', b'{"a":2}', b'{"b":3}']
    compressed = [codec.compress(blob) for blob in blobs]  # two samples of a few bytes: nothing to learn from
    assert [codec.decompress(blob) for blob in compressed] == blobs


def test_later_dictionaries_are_learnt_from_later_states_and_every_earlier_state_still_reads_back() -> None:
    codec = ColdCodec(train_samples=40, rounds=2)
    blobs = [orjson.dumps(_child(n)) for n in range(600)]
    compressed = []
    for n, blob in enumerate(blobs):
        compressed.append(codec.compress(blob))
        assert codec.dictionaries == (0 if n < 39 else 1 if n < 439 else 2)  # 40 states, then every 10th of 400
    assert [codec.decompress(blob) for blob in compressed] == blobs  # with none, the first or the second
    codec.compress(blobs[0])
    assert codec.dictionaries == 2  # no third round


# -- cold children on the worker's local disk (docs/scoring.md "Memory", eighth pass) -------------------------------

def test_cold_states_live_in_the_spill_file_and_leave_it_with_their_child() -> None:
    store = ChangelogStore(TOPIC, hot_capacity=1)
    for n in range(4):
        store.put(f"c{n}", _child(n), n % 2)
    flush(store)
    assert store.hot == 1 and store.cold == 3  # the one used last stays decoded ...
    assert len(store.spill) == 4 and store.spilled("c3") is not None  # ... its row written as the others went cold
    assert orjson.loads(store.codec.decompress(store.spilled("c0") or b"")) == _child(0)
    store.get("c0")  # read, unchanged: decoded again, its row kept (evicted without a new encoding)
    store.put("c1", _child(11), 1)  # written: its row is no longer its state
    assert store.spilled("c1") is None and store.spilled("c0") is not None
    flush(store)
    assert store.data == {"c0": _child(0), "c1": _child(11), "c2": _child(2), "c3": _child(3)}
    assert len(store.spill) == 4
    store.delete("c2", None)
    assert len(store.spill) == 3 and store.get("c2") is None
    assert store.drop_partitions({1}) == 2 and len(store.spill) == 1  # c1 and c3
    assert store.data == {"c0": _child(0)}


def test_a_restore_larger_than_a_write_reads_back_each_childs_last_message_and_forgets_the_tombstoned() -> None:
    store = ChangelogStore(TOPIC, hot_capacity=0)
    messages: list[tuple[bytes, bytes | None]] = []
    for n in range(2_600):  # 1 300 children, two messages each: more rows than one write holds
        child = n % 1_300
        messages.append((orjson.dumps(f"c{child}"), orjson.dumps({**_child(child), "s": n})))
        if n == 1_999:
            messages.append((b'"c7"', None))  # a tombstone after c7's second message
    for key, value in messages:
        store.load(3, key, value)
    assert store.compact() == 1_299 and store.compact() == 0
    assert len(store) == 1_299 and len(store.spill) == 1_299 and "c7" not in store
    assert store.get("c8") == {**_child(8), "s": 1_308} and store.get("c1299") == {**_child(1_299), "s": 2_599}
    assert store.review_state("c5") == {"d": _child(5)["d"], "k": "r1/w1", "n": None}
    assert store.spilled("c5")[:1] != b"{"  # type: ignore[index]  # compressed at the restore's end


# -- the index of children held, in the spill file (docs/scoring.md "Memory", smem3) ---------------------------------

def test_children_are_listed_in_the_order_first_held_hot_or_cold_and_partitions_are_told_without_decoding() -> None:
    store = ChangelogStore(TOPIC, hot_capacity=1)
    for n, partition in enumerate((2, 3, 2, 3, 2)):
        store.put(f"c{n}", _child(n), partition)
    flush(store)  # c4 hot and never spilled, the others cold
    store.put("c1", _child(11), 3)  # hot again, its row no longer its state: its place in the order stays
    store.delete("c2", None)
    store.put("c2", _child(2), 2)  # forgotten and held again: last
    assert store.children() == ["c0", "c1", "c3", "c4", "c2"] and list(store.data) == store.children()
    assert store.children({3}) == ["c1", "c3"] and store.children({2, 5}) == ["c0", "c4", "c2"]
    assert store.partition("c3") == 3 and store.partition("c4") == 2 and store.partition("unknown") is None
    store.put("c3", _child(3), 4)  # written to another partition: held there, hot or cold
    store.get("c0")
    flush(store)  # c3 cold again
    assert store.hot == 1 and store.partition("c3") == 4 and store.children({3}) == ["c1"] and "c3" not in store._hot
    assert store.partitions() == {2, 3, 4} and len(store) == 5 and store.cold == 4
    assert "c0" in store and "c3" in store and "unknown" not in store and store.hot == 1  # nothing decoded
    assert store.drop_partitions({4}) == 1 and store.children() == ["c0", "c1", "c4", "c2"] and len(store) == 4


def test_a_restore_keeps_each_childs_place_and_counts_each_child_once() -> None:
    store = ChangelogStore(TOPIC, hot_capacity=0)
    store.put("c9", _child(9), 1)  # held before, on a partition not restored
    for n in (3, 1, 2, 1, 3):  # a child's later message keeps its place
        store.load(0, orjson.dumps(f"c{n}"), orjson.dumps({**_child(n), "s": 7}))
    store.load(0, b'"c2"', None)
    assert len(store) == 3 and store.children() == ["c9", "c3", "c1"] and store.compact() == 2
    assert store.children({0}) == ["c3", "c1"] and store.get("c3") == {**_child(3), "s": 7}


# -- a state written while children go cold is spilled from its changelog value (docs/scoring.md "CPU", scor2) ------

def test_a_state_written_while_children_go_cold_is_spilled_as_sent_and_goes_cold_without_a_new_encoding() -> None:
    store = ChangelogStore(TOPIC, hot_capacity=2)
    compressed: list[bytes] = []
    compress = store.codec.compress
    store.codec.compress = lambda blob: compressed.append(blob) or compress(blob)  # type: ignore[method-assign]
    store.put("c0", _child(0), 1)
    store.put("c1", _child(1), 1)
    flush(store)
    assert store.hot == 2 and len(store.spill) == 0 and compressed == []  # room in the hot set: nothing spilled
    store.put("c2", _child(2), 1)
    sent = flush(store).sent  # over capacity: c2's changelog value spilled as sent; c0, held before, encoded
    assert compressed == [sent[0][3], orjson.dumps(_child(0))] and store.hot == 2
    assert store.spilled("c2") is not None and "c2" in store._hot  # hot, and its row is its state
    store.put("c3", _child(3), 1)
    store.put("c2", _child(12), 1)  # written again while hot: its row is no longer its state
    assert store.spilled("c2") is None
    sent = flush(store).sent
    assert compressed[2:] == [sent[0][3], sent[1][3], orjson.dumps(_child(1))]  # c3, c2 again, c1 evicted
    del compressed[:]
    store.put("c4", _child(4), 1)
    store.get("c2")
    sent = flush(store).sent  # c3 goes cold: nothing encoded for it
    assert compressed == [sent[0][3]] and store.hot == 2 and "c3" not in store._hot
    assert store.data == {"c0": _child(0), "c1": _child(1), "c2": _child(12), "c3": _child(3), "c4": _child(4)}


def test_review_fields_other_than_text_or_null_are_kept_as_their_json_text() -> None:
    store = ChangelogStore(TOPIC, hot_capacity=0)
    store.put("c1", {**_state("2026-06-01"), "k": ["r1", "w1"], "n": 20260701}, 1)
    store.put("c2", _state("2026-06-01"), 1)
    flush(store)
    assert store.hot == 0
    assert store.review_state("c1") == {"d": "2026-06-01", "k": '["r1","w1"]', "n": "20260701"}
    assert store.review_state("c2") == {"d": "2026-06-01", "k": "r1/w1", "n": None}


def test_cold_children_read_ahead_are_read_back_as_one_at_a_time_and_never_from_a_stale_row() -> None:
    store = ChangelogStore(TOPIC, hot_capacity=0)
    for n in range(4):
        store.put(f"c{n}", _state(f"2026-06-0{n + 1}"), 1)
    flush(store)
    queries: list[int] = []
    state, states = store.spill.state, store.spill.states
    store.spill.state = lambda child_id: queries.append(1) or state(child_id)  # type: ignore[method-assign]
    store.spill.states = lambda children: queries.append(len(children)) or states(children)  # type: ignore[method-assign]
    store.read_ahead(["c0", "c1", "c2", "new", "c1"])
    assert queries == [4]  # one query for the cold children asked (each once), none per child
    assert store.get("c1") == _state("2026-06-02") and store.get("new") is None and queries == [4]
    store.put("new", _state("2026-07-01"), 2)  # a child held from now on
    store.delete("c2", None)  # a child read ahead, then forgotten
    assert store.get("c2") is None and queries == [4, 1]  # (its row gone, what was read ahead too)
    assert store.get("new") == _state("2026-07-01") and store.get("c0") == _state("2026-06-01")
    assert store.get("c3") == _state("2026-06-04") and queries == [4, 1, 1]  # not read ahead: read now
    store.read_ahead(["c0", "c1", "c3"])  # all hot: nothing to read
    flush(store)  # the rows are written: what was read ahead is forgotten
    store.read_ahead(["c1"])
    store.put("c1", _state("2026-08-01"), 1)  # written after it was read ahead: the row read is not its state
    flush(store)
    assert store.get("c1") == _state("2026-08-01")
    assert {child: store.get(child) for child in ("c0", "c1", "c2", "c3", "new")} == {
        "c0": _state("2026-06-01"), "c1": _state("2026-08-01"), "c2": None, "c3": _state("2026-06-04"),
        "new": _state("2026-07-01")}
