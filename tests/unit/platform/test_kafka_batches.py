"""The batch reader of the workers without Faust (contracts/kafka_batches.py) with a fake consumer: delivery order,
when offsets are committed, and what a rebalance does to a batch in hand."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from aiokafka.structs import OffsetAndMetadata

from contracts.kafka_batches import BatchConsumer, ProduceBatch, keys_for_partitions, murmur2, round_robin
from tests.unit.fake_producer import until

pytestmark = pytest.mark.unit


@dataclass
class Rec:
    topic: str
    partition: int
    offset: int
    value: bytes | None = b""
    key: bytes | None = b"k"
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    timestamp: int = 1_700_000_000_000


def good(name: str, offset: int = 0, partition: int = 0) -> Rec:
    return Rec("source.childcare.v1", partition, offset, name.encode())


class FakeConsumer:
    def __init__(self, batches: list[dict[TopicPartition, list[Rec]]]) -> None:
        self.batches = batches
        self.commits: list[dict[TopicPartition, OffsetAndMetadata]] = []
        self.on_fetch: Any = None
        self.assigned: set[TopicPartition] = set()
        self.seeks: list[tuple[TopicPartition, int]] = []

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None) -> dict[TopicPartition, list[Rec]]:
        await asyncio.sleep(0)
        if self.on_fetch is not None:
            await self.on_fetch()
        return self.batches.pop(0) if self.batches else {}

    async def commit(self, offsets: Any = None) -> None:
        self.commits.append(offsets)

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.seeks.append((partition, offset))


TP0, TP1 = TopicPartition("source.childcare.v1", 0), TopicPartition("source.childcare.v1", 1)


def test_unread_counts_what_the_broker_holds_past_the_records_handed_over_on_the_partitions_held() -> None:
    """Linkage's progress reports carry it (contracts/progress.py): scoring tells a backlog
    that shrinks from a pipeline that stays behind."""
    other = TopicPartition("linkage.decisions.v1", 0)
    consumer = FakeConsumer([{TP0: [good("a", 5), good("b", 6)], other: [Rec(other.topic, 0, 3, b"x")]},
                             {TP0: [good("c", 7)]}])
    consumer.highwater = {TP0: 100, TP1: 50, other: 9}.get  # type: ignore[attr-defined]
    reader = _reader(consumer)
    reader.assigned({TP0, TP1, other})
    assert reader.unread("source.childcare.v1") is None, "nothing fetched yet: not known"
    seen: list[int | None] = []
    stop = asyncio.Event()

    async def handle(records: list[Rec]) -> None:
        seen.append(reader.unread("source.childcare.v1"))
        if not consumer.batches:
            stop.set()

    asyncio.run(reader.run(handle, stop))
    assert seen == [100 - 5, 100 - 7], "from its first record fetched, then past the records handed over"
    assert reader.unread("source.childcare.v1") == 100 - 8, "TP1: nothing fetched, not counted"
    assert reader.unread("source.childcare.v1", "linkage.decisions.v1") == 100 - 8 + 9 - 4, "topics asked only"
    asyncio.run(reader.revoked({TP0}))
    assert reader.unread("source.childcare.v1") is None, "a partition revoked no longer counts"


def _reader(consumer: FakeConsumer) -> BatchConsumer:
    return BatchConsumer(consumer, max_records=500, window_s=0.01, name="test")


def test_each_batch_is_committed_after_its_handler_at_the_next_offset_of_every_partition() -> None:
    consumer = FakeConsumer([{TP0: [good("a", 5), good("b", 6)], TP1: [good("c", 9, 1)]}, {TP0: [good("d", 7)]}])
    reader = _reader(consumer)
    seen: list[tuple[list[int], int]] = []

    async def handle(records: list[Rec]) -> None:
        seen.append(([r.offset for r in records], len(consumer.commits)))
        if not consumer.batches:
            stop.set()

    stop = asyncio.Event()

    async def scenario() -> None:
        await reader.run(handle, stop)

    asyncio.run(scenario())

    assert seen == [([5, 9, 6], 0), ([7], 1)], "partitions in turn, each in order, each batch before its commit"
    assert consumer.commits == [{TP0: OffsetAndMetadata(7, ""), TP1: OffsetAndMetadata(10, "")},
                                {TP0: OffsetAndMetadata(8, "")}]


def test_with_a_linger_what_the_next_fetches_bring_joins_the_batch_up_to_its_size_each_partition_in_order() -> None:
    """Casework's input trickles in a few records per fetch and its cost is per batch (a transaction, a commit)."""
    consumer = FakeConsumer([{TP0: [good("a", 5)]}, {TP1: [good("b", 9, 1)]}, {TP0: [good("c", 6), good("d", 7)]},
                             {TP0: [good("e", 8)]}])
    asked: list[int | None] = []
    fetch = consumer.getmany

    async def getmany(*partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None) -> dict[TopicPartition, list[Rec]]:
        asked.append(max_records)
        return await fetch(timeout_ms=timeout_ms, max_records=max_records)

    consumer.getmany = getmany  # type: ignore[method-assign]
    reader = BatchConsumer(consumer, max_records=4, window_s=0.01, name="test", linger_s=0.2)
    seen: list[list[int]] = []
    stop = asyncio.Event()

    async def handle(records: list[Rec]) -> None:
        seen.append([r.offset for r in records])
        if not consumer.batches:
            stop.set()

    asyncio.run(reader.run(handle, stop))

    assert seen == [[5, 9, 6, 7], [8]], "three fetches in one batch of at most 4, then the rest"
    assert asked[:3] == [None, 3, 2], "a lingering fetch asks for no more than the batch has room for"
    assert consumer.commits[0] == {TP0: OffsetAndMetadata(8, ""), TP1: OffsetAndMetadata(10, "")}


def test_a_linger_ends_after_its_time_with_what_came() -> None:
    consumer = FakeConsumer([{TP0: [good("a", 5)]}])
    reader = BatchConsumer(consumer, max_records=500, window_s=0.01, name="test", linger_s=0.05)
    seen: list[tuple[list[int], float]] = []
    stop = asyncio.Event()

    async def handle(records: list[Rec]) -> None:
        seen.append(([r.offset for r in records], asyncio.get_running_loop().time() - started))
        stop.set()

    async def scenario() -> None:
        nonlocal started
        started = asyncio.get_running_loop().time()
        await reader.run(handle, stop)

    started = 0.0
    asyncio.run(scenario())
    assert seen[0][0] == [5] and 0.04 <= seen[0][1] < 1.0


def test_a_failing_handler_stops_the_reader_with_its_batch_uncommitted() -> None:
    consumer = FakeConsumer([{TP0: [good("a", 5)]}])

    async def handle(records: list[Rec]) -> None:
        raise ConnectionError("broker gone")

    with pytest.raises(ConnectionError):
        asyncio.run(_reader(consumer).run(handle, asyncio.Event()))
    assert consumer.commits == []


class Finishes:
    """A handler that returns its finish (as linkage's ``LinkageBatch.apply``): each batch's finish waits for its
    own future, set by the test (the broker's acknowledgement)."""

    def __init__(self, consumer: FakeConsumer, events: list[str]) -> None:
        self.consumer, self.events = consumer, events
        self.acks: list[asyncio.Future[None]] = []

    async def __call__(self, records: list[Rec]) -> Any:
        offsets = [r.offset for r in records]
        self.events.append(f"apply {offsets} after {len(self.consumer.commits)} commits")
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)

        async def finish() -> None:
            await ack
            self.events.append(f"finished {offsets}")

        return finish()


def _commit_events(consumer: FakeConsumer, events: list[str]) -> None:
    commit = consumer.commit

    async def logged(offsets: Any = None) -> None:
        events.append(f"commit {sorted(o.offset for o in offsets.values())}")
        await commit(offsets)

    consumer.commit = logged  # type: ignore[method-assign]


def test_a_handler_that_returns_its_finish_gets_the_next_batch_meanwhile_and_commits_follow_in_order() -> None:
    consumer = FakeConsumer([{TP0: [good("a", 5)]}, {TP0: [good("b", 6)]}, {TP0: [good("c", 7)]}])
    events: list[str] = []
    _commit_events(consumer, events)
    reader = _reader(consumer)
    handler = Finishes(consumer, events)
    stop = asyncio.Event()

    async def scenario() -> None:
        running = asyncio.create_task(reader.run(handler, stop))
        await until(lambda: len(handler.acks) >= 2, "batch [6] applied")
        assert events == ["apply [5] after 0 commits", "apply [6] after 0 commits"], "[6] while [5] is unacknowledged"
        for _ in range(5):
            await asyncio.sleep(0)
        assert len(handler.acks) == 2, "no third batch before the first is acknowledged and committed"
        handler.acks[0].set_result(None)
        await until(lambda: len(handler.acks) >= 3, "batch [7] applied after [5]'s commit")
        handler.acks[1].set_result(None)
        stop.set()
        handler.acks[2].set_result(None)
        await asyncio.wait_for(running, 5)

    asyncio.run(scenario())

    assert events == ["apply [5] after 0 commits", "apply [6] after 0 commits", "finished [5]", "commit [6]",
                      "apply [7] after 1 commits", "finished [6]", "commit [7]", "finished [7]", "commit [8]"]


@pytest.mark.parametrize("fetched, in_hand", [(3, 2), (1, 1)], ids=["busy", "idle"])
def test_a_finish_that_fails_stops_the_reader_with_its_batch_and_the_next_uncommitted(fetched: int,
                                                                                    in_hand: int) -> None:
    """Busy: the next batch is applied when the first one's finish fails. Idle: nothing else comes, and the reader
    stops all the same, without waiting for another batch."""
    consumer = FakeConsumer([{TP0: [good(name, 5 + i)]} for i, name in enumerate("abc")][:fetched])
    reader = _reader(consumer)
    handler = Finishes(consumer, [])

    async def scenario() -> None:
        running = asyncio.create_task(reader.run(handler, asyncio.Event()))
        await until(lambda: len(handler.acks) >= in_hand, f"{in_hand} batches applied")
        handler.acks[0].set_exception(ConnectionError("broker gone"))
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(running, 5)

    asyncio.run(scenario())
    assert consumer.commits == []
    assert len(handler.acks) == in_hand, "nothing handled after the failure"


def test_a_revocation_waits_for_the_outstanding_finish_and_its_commit() -> None:
    consumer = FakeConsumer([{TP0: [good("a", 5)]}])
    events: list[str] = []
    _commit_events(consumer, events)
    reader = _reader(consumer)
    handler = Finishes(consumer, events)
    stop = asyncio.Event()

    async def scenario() -> None:
        running = asyncio.create_task(reader.run(handler, stop))
        await until(lambda: bool(handler.acks), "batch [5] applied")
        for _ in range(3):
            await asyncio.sleep(0)
        revoking = asyncio.create_task(reader.revoked({TP0}))
        for _ in range(5):
            await asyncio.sleep(0)
        assert not revoking.done(), "the partition is not given up before its batch is acknowledged and committed"
        handler.acks[0].set_result(None)
        await asyncio.wait_for(revoking, 5)
        events.append("revoked")
        stop.set()
        await asyncio.wait_for(running, 5)

    asyncio.run(scenario())
    assert events == ["apply [5] after 0 commits", "finished [5]", "commit [6]", "revoked"]


def test_a_revocation_waits_for_the_batch_in_hand_and_a_batch_read_before_a_rebalance_is_dropped() -> None:
    consumer = FakeConsumer([{TP0: [good("a", 5)]}, {TP0: [good("b", 6)]}, {TP1: [good("c", 9, 1)]}])
    reader = _reader(consumer)
    events: list[str] = []
    stop = asyncio.Event()
    revocation: list[asyncio.Task[None]] = []
    rebalanced: list[bool] = []

    async def handle(records: list[Rec]) -> None:
        offsets = [r.offset for r in records]
        events.append(f"handle {offsets}")
        if offsets == [5]:  # a rebalance starts while this batch is in hand
            revocation.append(asyncio.create_task(revoke()))
            await asyncio.sleep(0.01)
            events.append("handled [5]")
        if offsets == [9]:
            stop.set()

    async def revoke() -> None:
        await reader.revoked({TP0})
        events.append("revoked")

    async def after_fetch() -> None:
        if revocation and not rebalanced:
            await revocation[0]  # the rebalance completes while the next batch is on its way to the reader
            reader.assigned({TP1})
            consumer.assigned = {TP1}
            rebalanced.append(True)

    consumer.on_fetch = after_fetch

    asyncio.run(reader.run(handle, stop))

    assert events == ["handle [5]", "handled [5]", "revoked", "handle [9]"], "[6] read before the rebalance: dropped"
    assert consumer.commits == [{TP0: OffsetAndMetadata(6, "")}, {TP1: OffsetAndMetadata(10, "")}]
    assert consumer.seeks == [], "TP0 went to another member: nothing to read again here"
    assert reader.ready.is_set()


def test_a_batch_read_while_the_first_assignment_arrives_is_read_again_from_its_first_offset() -> None:
    # The group is joined inside getmany: the records it returns belong to the new assignment, whose positions
    # have moved past them; handling nothing and moving on would skip them.
    consumer = FakeConsumer([{TP0: [good("a", 5), good("b", 6)], TP1: [good("c", 9, 1)]}, {TP0: [good("a", 5)]}])
    reader = _reader(consumer)
    stop = asyncio.Event()
    handled: list[list[int]] = []

    async def join() -> None:
        if not reader.ready.is_set():
            await reader.revoked(set())
            reader.assigned({TP0})
            consumer.assigned = {TP0}

    async def handle(records: list[Rec]) -> None:
        handled.append([r.offset for r in records])
        stop.set()

    consumer.on_fetch = join
    asyncio.run(reader.run(handle, stop))

    assert consumer.seeks == [(TP0, 5)], "TP0 read again from 5; TP1 is not this member's"
    assert handled == [[5]]


def test_what_a_fetch_brought_is_handled_topic_by_topic_and_partition_by_partition_in_turn_in_batches() -> None:
    a0, a1, b0 = TopicPartition("a", 0), TopicPartition("a", 1), TopicPartition("b", 0)
    fetched = {a0: [Rec("a", 0, o, b"") for o in (1, 2, 3)], a1: [Rec("a", 1, o, b"") for o in (10, 11)],
               b0: [Rec("b", 0, 20, b"")]}
    assert [r.offset for r in round_robin(fetched)] == [1, 20, 10, 2, 11, 3], "Faust's delivery order"

    consumer = FakeConsumer([fetched])
    reader = BatchConsumer(consumer, max_records=3, window_s=0.01, name="test")
    stop = asyncio.Event()
    seen: list[list[int]] = []

    async def handle(records: list[Rec]) -> None:
        seen.append([r.offset for r in records])
        if len(seen) == 2:
            stop.set()

    asyncio.run(reader.run(handle, stop))

    assert seen == [[1, 20, 10], [2, 11, 3]]
    assert consumer.commits == [{a0: OffsetAndMetadata(2, ""), b0: OffsetAndMetadata(21, ""),
                                 a1: OffsetAndMetadata(11, "")},
                                {a0: OffsetAndMetadata(4, ""), a1: OffsetAndMetadata(12, "")}]


def test_every_runs_the_duty_each_interval_logs_a_failure_goes_on_and_ends_with_stop(
        caplog: pytest.LogCaptureFixture) -> None:
    from contracts.kafka_batches import every

    async def go(first_after_s: float | None) -> list[float]:
        stop, calls, started = asyncio.Event(), [], asyncio.get_running_loop().time()

        async def duty() -> None:
            calls.append(asyncio.get_running_loop().time() - started)
            if len(calls) == 2:
                raise ValueError("boom")
            if len(calls) == 3:
                stop.set()

        await asyncio.wait_for(every(0.05, duty, stop, name="test duty", first_after_s=first_after_s), timeout=5)
        return calls

    with caplog.at_level("ERROR", logger="tsunagu.kafka"):
        calls = asyncio.run(go(None))
    assert len(calls) == 3 and calls[0] >= 0.04  # the first after one interval; the failure did not end it
    assert "test duty failed (ValueError)" in caplog.text and "boom" not in caplog.text  # no values
    assert asyncio.run(go(0))[0] < 0.04  # first_after_s=0: at once


def test_every_returns_at_once_when_stopped_while_waiting() -> None:
    from contracts.kafka_batches import every

    async def go() -> float:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.call_later(0.05, stop.set)
        started = loop.time()
        await asyncio.wait_for(every(60, lambda: asyncio.sleep(0), stop, name="idle"), timeout=5)
        return loop.time() - started

    assert asyncio.run(go()) < 1


# -- ProduceBatch: a batch's output in record batches per partition ------------------------------------------------

class _Builder:
    def __init__(self, capacity: int) -> None:
        self.capacity, self.records = capacity, []  # type: ignore[var-annotated]

    def append(self, *, key: bytes | None, value: bytes | None, timestamp: None, headers: Any) -> object | None:
        if len(self.records) >= self.capacity:
            return None  # full (aiokafka's BatchBuilder then closes)
        self.records.append((key, value, list(headers)))
        return object()

    def close(self) -> None:
        self.closed = True


class _Producer:
    def __init__(self, capacity: int = 2) -> None:
        self.capacity = capacity
        self.handed: list[tuple[str, str, int | None, list[tuple[bytes | None, bytes | None, Any]]]] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    def create_batch(self) -> _Builder:
        return _Builder(self.capacity)

    async def _ack(self) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    async def send_batch(self, batch: _Builder, topic: str, *, partition: int) -> asyncio.Future[None]:
        self.handed.append(("batch", topic, partition, batch.records))
        return await self._ack()

    async def send(self, topic: str, value: bytes | None = None, *, key: bytes | None = None,
                   headers: Any = None) -> asyncio.Future[None]:
        self.handed.append(("send", topic, None, [(key, value, headers)]))
        return await self._ack()


def test_murmur2_is_aiokafkas_for_every_key_length_and_byte() -> None:
    """ProduceBatch's partitions must be the ones the producer's own partitioner (and every other Kafka client) picks
    for a key: a child's records in two partitions would lose their order."""
    rng = random.Random(19)
    keys = [bytes(rng.randrange(256) for _ in range(length)) for length in range(0, 80) for _ in range(20)]
    keys += [b"", b"\xff" * 7, b"4013100012345", "student:40131-001:Ｓ０１".encode()]
    assert [murmur2(key) for key in keys] == [aiokafka_murmur2(key) for key in keys]


def test_a_produce_batch_puts_keyed_records_in_the_default_partitioners_partition_in_order() -> None:
    producer = _Producer(capacity=2)
    keys = [b"a", b"b", b"a", b"c", b"a", b"b"]

    async def scenario() -> list[tuple[Any, str, int]]:
        out = ProduceBatch(producer, alone_from_bytes=100)  # type: ignore[arg-type]
        await out.topics("t")
        for n, key in enumerate(keys):
            out.add("t", f"v{n}".encode(), key=key, headers=[("h", b"1")] if n == 0 else None)
        assert len(out) == 6
        return await out.send()

    futures = asyncio.run(scenario())
    expected: dict[int, list[bytes]] = {}
    for n, key in enumerate(keys):
        expected.setdefault(DefaultPartitioner()(key, [0, 1, 2], [0, 1, 2]), []).append(f"v{n}".encode())
    handed: dict[int, list[bytes]] = {}
    for kind, _topic, partition, records in producer.handed:
        assert kind == "batch" and partition is not None and len(records) <= 2  # a full batch starts another
        handed.setdefault(partition, []).extend(value for _, value, _ in records if value is not None)
    assert handed == expected
    assert producer.handed[0][3][0] == (b"a", b"v0", [("h", b"1")])
    assert sum(count for _, _, count in futures) == 6 and all(f.done() for f, _, _ in futures)


def test_a_record_without_key_or_too_large_to_share_goes_alone_after_what_came_before_it() -> None:
    producer = _Producer(capacity=10)

    async def scenario() -> None:
        out = ProduceBatch(producer, alone_from_bytes=100)  # type: ignore[arg-type]
        await out.topics("t", "u")
        out.add("t", b"first", key=b"k")
        out.add("u", b"other topic", key=b"k")
        out.add("t", b"x" * 200, key=b"k")  # too large to share a batch
        out.add("t", b"after", key=b"k")
        out.add("t", b"no key", key=None)
        await out.send()

    asyncio.run(scenario())
    assert [(kind, topic, [v for _, v, _ in records]) for kind, topic, _, records in producer.handed] == [
        ("batch", "t", [b"first"]), ("batch", "u", [b"other topic"]), ("send", "t", [b"x" * 200]),
        ("batch", "t", [b"after"]), ("send", "t", [b"no key"])]


def test_a_produce_batch_hands_its_record_batches_over_closed_so_the_producer_sends_them_without_lingering() -> None:
    """aiokafka's accumulator holds an open record batch for the producer's linger (5 ms) in case ``send`` adds to
    it; a closed one goes at the next drain. Each worker batch's output waited those 5 ms before."""
    handed: list[_Builder] = []

    class Producer(_Producer):
        async def send_batch(self, batch: _Builder, topic: str, *, partition: int) -> asyncio.Future[None]:
            handed.append(batch)
            return await super().send_batch(batch, topic, partition=partition)

    async def scenario() -> None:
        out = ProduceBatch(Producer(capacity=2))  # type: ignore[arg-type]
        await out.topics("t")
        for n in range(5):
            out.add("t", b"v%d" % n, key=b"k%d" % n)
        await out.send()

    asyncio.run(scenario())
    assert handed and all(getattr(b, "closed", False) for b in handed)


class PausingConsumer(FakeConsumer):
    def __init__(self, batches: list[dict[TopicPartition, list[Rec]]]) -> None:
        super().__init__(batches)
        self.paused: set[TopicPartition] = set()
        self.log: list[str] = []

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None) -> dict[TopicPartition, list[Rec]]:
        await asyncio.sleep(0.001)  # as aiokafka: nothing from a partition paused or not assigned
        if self.batches and all(tp in self.assigned and tp not in self.paused for tp in self.batches[0]):
            return self.batches.pop(0)
        return {}

    def pause(self, *partitions: TopicPartition) -> None:
        self.paused.update(partitions)
        self.log.append(f"pause {sorted(tp.partition for tp in partitions)}")

    def resume(self, *partitions: TopicPartition) -> None:
        self.paused.difference_update(partitions)
        self.log.append(f"resume {sorted(tp.partition for tp in partitions)}")


def test_a_state_hook_runs_outside_the_rebalance_listener_with_its_partitions_paused_until_loaded() -> None:
    # aiokafka heartbeats only between listener calls: a load inside the listener longer than the session timeout
    # had the member dropped and the load begun again, forever (scoring at scale 1.0: 40-50 s against 15 s).
    consumer = PausingConsumer([{TP0: [good("a", 5)]}])
    events: list[str] = []
    stop = asyncio.Event()

    async def load(partitions: set[TopicPartition]) -> None:
        events.append(f"load {sorted(tp.partition for tp in partitions)} paused={consumer.paused == partitions}")
        await asyncio.sleep(0.05)
        events.append("loaded")

    reader = BatchConsumer(consumer, max_records=500, window_s=0.01, name="test", on_assigned=load)

    async def handle(records: list[Rec]) -> None:
        events.append(f"handle {[r.offset for r in records]} paused={sorted(consumer.paused)}")
        stop.set()

    async def main() -> None:
        await reader.listener().on_partitions_assigned({TP0, TP1})  # returns at once: the load has not begun
        events.append("listener returned")
        assert not reader.ready.is_set()
        consumer.assigned = {TP0, TP1}
        await reader.run(handle, stop)

    asyncio.run(main())

    assert events == ["listener returned", "load [0, 1] paused=True", "loaded", "handle [5] paused=[]"]
    assert consumer.log == ["pause [0, 1]", "resume [0, 1]"]
    assert reader.ready.is_set() and reader.partitions == {TP0, TP1}


def test_a_rebalance_during_a_load_cancels_it_and_the_next_assignment_is_loaded_instead() -> None:
    consumer = PausingConsumer([{TP1: [good("c", 9, 1)]}])
    events: list[str] = []
    stop = asyncio.Event()
    cancelled: list[set[int]] = []

    async def load(partitions: set[TopicPartition]) -> None:
        names = {tp.partition for tp in partitions}
        events.append(f"load {sorted(names)}")
        try:
            await asyncio.sleep(0.2 if names == {0, 1} else 0.01)
        except asyncio.CancelledError:
            cancelled.append(names)  # the hook drops what it loaded so far
            raise
        events.append(f"loaded {sorted(names)}")

    async def revoked(partitions: set[TopicPartition]) -> None:
        events.append(f"revoked {sorted(tp.partition for tp in partitions)}")

    reader = BatchConsumer(consumer, max_records=500, window_s=0.01, name="test", on_assigned=load,
                           on_revoked=revoked)

    async def handle(records: list[Rec]) -> None:
        events.append(f"handle {[r.offset for r in records]}")
        stop.set()

    async def rebalance() -> None:
        await asyncio.sleep(0.05)  # the first load is under way
        listener = reader.listener()
        await listener.on_partitions_revoked({TP0, TP1})
        consumer.assigned = {TP1}
        await listener.on_partitions_assigned({TP1})

    async def main() -> None:
        await reader.listener().on_partitions_assigned({TP0, TP1})
        consumer.assigned = {TP0, TP1}
        task = asyncio.create_task(rebalance())
        await reader.run(handle, stop)
        await task

    asyncio.run(main())

    assert cancelled == [{0, 1}]
    assert events == ["load [0, 1]", "revoked [0, 1]", "load [1]", "loaded [1]", "handle [9]"]
    assert consumer.log == ["pause [0, 1]", "pause [1]", "resume [1]"], "the cancelled load resumed nothing"
    assert reader.partitions == {TP1}


def test_a_failed_load_stops_the_reader_before_any_batch() -> None:
    consumer = PausingConsumer([{TP0: [good("a", 5)]}])

    async def load(_partitions: set[TopicPartition]) -> None:
        raise TimeoutError("changelog not read in time")

    reader = BatchConsumer(consumer, max_records=500, window_s=0.01, name="test", on_assigned=load)
    handled: list[Rec] = []

    async def handle(records: list[Rec]) -> None:
        handled.extend(records)

    async def main() -> None:
        await reader.listener().on_partitions_assigned({TP0})
        await reader.run(handle, asyncio.Event())

    with pytest.raises(TimeoutError):
        asyncio.run(main())
    assert handled == [] and consumer.log == ["pause [0]"] and not reader.ready.is_set()


def test_keys_for_partitions_land_each_on_its_partition_by_the_producers_own_partitioner() -> None:
    """Linkage's progress report must reach every partition of linkage.facts.v1 (contracts/topics/linkage_facts.py)."""
    partitioner = DefaultPartitioner()
    for count in range(1, 13):
        keys = keys_for_partitions("linkage-progress:", count)
        assert len(set(keys)) == count and all(key.startswith("linkage-progress:") for key in keys)
        assert [partitioner(key.encode(), list(range(count)), list(range(count))) for key in keys] == list(range(count))
