"""The batch reader's time order (contracts/kafka_batches.py ``TimeOrder``) over a fake broker that fetches as
aiokafka does: a bounded number of partitions per fetch, paused partitions not fetched, high watermarks and
positions as the last fetch left them."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

import pytest
from aiokafka import TopicPartition
from aiokafka.structs import OffsetAndMetadata

from contracts.kafka_batches import BatchConsumer

pytestmark = pytest.mark.unit


@dataclass
class Rec:
    topic: str
    partition: int
    offset: int
    timestamp: int
    value: bytes | None = b""
    key: bytes | None = b"k"
    headers: list[tuple[str, bytes]] = field(default_factory=list)


class FakeBroker:
    """Partition logs; ``getmany`` brings up to ``per_fetch`` records of at most ``partitions_per_fetch`` partitions
    not paused, starting where the last fetch stopped (the broker's rotation), and records each partition's high
    watermark as a fetch response does."""

    def __init__(self, logs: dict[TopicPartition, list[Rec]], *, per_fetch: int = 3,
                 partitions_per_fetch: int = 2) -> None:
        self.logs = logs
        self.per_fetch, self.partitions_per_fetch = per_fetch, partitions_per_fetch
        self.positions = dict.fromkeys(logs, 0)
        self.highwaters: dict[TopicPartition, int] = {}
        self.paused: set[TopicPartition] = set()
        self.commits: list[dict[TopicPartition, OffsetAndMetadata]] = []
        self.fetches = 0
        self._turn = 0

    def append(self, tp: TopicPartition, timestamp: int) -> Rec:
        record = Rec(tp.topic, tp.partition, len(self.logs[tp]), timestamp)
        self.logs[tp].append(record)
        return record

    async def getmany(self, *partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None) -> dict[TopicPartition, list[Rec]]:
        await asyncio.sleep(0)
        self.fetches += 1
        order = sorted(self.logs, key=lambda tp: (tp.topic, tp.partition))
        order = order[self._turn % len(order):] + order[:self._turn % len(order)]
        self._turn += 1
        out: dict[TopicPartition, list[Rec]] = {}
        for tp in order:
            if tp in self.paused:
                continue
            if len(out) < self.partitions_per_fetch:
                batch = self.logs[tp][self.positions[tp]:self.positions[tp] + self.per_fetch]
                if batch:
                    out[tp] = batch
                    self.positions[tp] += len(batch)
            self.highwaters[tp] = len(self.logs[tp])  # every partition asked for is in the response
        return out

    async def commit(self, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
        self.commits.append(offsets)

    def assignment(self) -> set[TopicPartition]:
        return set(self.logs)

    def seek(self, partition: TopicPartition, offset: int) -> None:
        self.positions[partition] = offset

    def highwater(self, partition: TopicPartition) -> int | None:
        return self.highwaters.get(partition)

    async def position(self, partition: TopicPartition) -> int:
        return self.positions[partition]

    def pause(self, *partitions: TopicPartition) -> None:
        self.paused.update(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self.paused.difference_update(partitions)


TOPICS = [TopicPartition("source.registry.v1", 0), TopicPartition("source.registry.v1", 1),
          TopicPartition("source.school.v1", 0), TopicPartition("source.birth.v1", 0)]


def city(seed: int) -> dict[TopicPartition, list[Rec]]:
    """A published city: each record's timestamp its publish time; one large topic, two smaller ones."""
    rng = random.Random(seed)
    logs: dict[TopicPartition, list[Rec]] = {tp: [] for tp in TOPICS}
    weights = [5, 5, 2, 1]
    for ts in range(300):
        tp = rng.choices(TOPICS, weights)[0]
        logs[tp].append(Rec(tp.topic, tp.partition, len(logs[tp]), 1_000 + ts // 2))  # ties too
    return logs


async def drain(broker: FakeBroker, reader: BatchConsumer, total: int) -> list[list[Rec]]:
    seen: list[list[Rec]] = []
    stop = asyncio.Event()
    reader.assigned(set(broker.logs))

    async def handle(records: list[Rec]) -> None:
        seen.append(list(records))
        if sum(map(len, seen)) >= total:
            stop.set()

    await asyncio.wait_for(reader.run(handle, stop), timeout=10)
    return seen


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_published_city_is_handed_over_oldest_first_across_topics_each_partition_in_order(seed: int) -> None:
    logs = city(seed)
    broker = FakeBroker(logs)
    reader = BatchConsumer(broker, max_records=7, window_s=0.01, name="test", time_ordered=True)
    seen = asyncio.run(drain(broker, reader, 300))

    records = [r for batch in seen for r in batch]
    assert len(records) == 300 and len({(r.topic, r.partition, r.offset) for r in records}) == 300
    assert [r.timestamp for r in records] == sorted(r.timestamp for r in records), "oldest first"
    for tp in TOPICS:  # each partition in offset order
        assert [r.offset for r in records if (r.topic, r.partition) == (tp.topic, tp.partition)] == \
            list(range(len(logs[tp])))
    for batch, commit in zip(seen, broker.commits, strict=True):  # each batch committed after, at its next offsets
        last: dict[TopicPartition, int] = {}
        for r in batch:
            last[TopicPartition(r.topic, r.partition)] = r.offset + 1
        assert commit == {tp: OffsetAndMetadata(o, "") for tp, o in last.items()}
    assert not broker.paused, "every partition resumed once emptied"


def test_round_robin_without_it_hands_the_small_topics_over_long_before_their_time() -> None:
    """What the option is for: without it the smallest topic is through while the largest is in its first part."""
    broker = FakeBroker(city(1), per_fetch=50, partitions_per_fetch=4)
    seen = asyncio.run(drain(broker, BatchConsumer(broker, max_records=500, window_s=0.01, name="test"), 300))
    records = [r for batch in seen for r in batch]
    assert [r.timestamp for r in records] != sorted(r.timestamp for r in records)


def test_live_records_go_at_once_when_the_other_partitions_are_caught_up() -> None:
    logs: dict[TopicPartition, list[Rec]] = {tp: [] for tp in TOPICS}
    broker = FakeBroker(logs)
    reader = BatchConsumer(broker, max_records=500, window_s=0.01, name="test", time_ordered=True, idle_s=60)
    handled: list[tuple[int, int]] = []
    stop = asyncio.Event()
    reader.assigned(set(logs))

    async def handle(records: list[Rec]) -> None:
        handled.extend((r.timestamp, broker.fetches) for r in records)
        if len(handled) == 2:
            stop.set()

    async def scenario() -> None:
        task = asyncio.create_task(reader.run(handle, stop))
        for _ in range(5):  # the first fetches: every partition's high watermark known, all empty
            await asyncio.sleep(0)
        broker.append(TOPICS[2], 5_000)
        fetches = broker.fetches
        while not handled:
            await asyncio.sleep(0)
        assert handled[0][1] - fetches <= 2, "not held back by partitions with nothing to give"
        broker.append(TOPICS[0], 5_001)
        await asyncio.wait_for(task, timeout=5)

    asyncio.run(scenario())
    assert [t for t, _ in handled] == [5_000, 5_001]


def test_a_partition_known_to_have_records_not_yet_fetched_holds_the_others_back_at_most_idle_s() -> None:
    logs: dict[TopicPartition, list[Rec]] = {TOPICS[0]: [], TOPICS[2]: []}
    broker = FakeBroker(logs)
    broker.append(TOPICS[0], 2_000)
    broker.append(TOPICS[2], 1_000)  # older, but its partition's fetch never comes (a broker that stalls)
    broker.highwaters[TOPICS[2]] = 1
    original = broker.getmany

    async def stalled(*partitions: TopicPartition, timeout_ms: int = 0,
                      max_records: int | None = None) -> dict[TopicPartition, list[Rec]]:
        got = await original(timeout_ms=timeout_ms, max_records=max_records)
        if TOPICS[2] in got:  # fetched but lost: its position goes back
            broker.positions[TOPICS[2]] = 0
            del got[TOPICS[2]]
        await asyncio.sleep(0.005)
        return got

    broker.getmany = stalled  # type: ignore[method-assign]
    reader = BatchConsumer(broker, max_records=500, window_s=0.01, name="test", time_ordered=True, idle_s=0.1)
    handled: list[tuple[int, float]] = []
    stop = asyncio.Event()
    reader.assigned(set(logs))

    async def handle(records: list[Rec]) -> None:
        handled.extend((r.timestamp, asyncio.get_running_loop().time() - started) for r in records)
        stop.set()

    async def scenario() -> None:
        nonlocal started
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(reader.run(handle, stop), timeout=5)

    started = 0.0
    asyncio.run(scenario())
    [(timestamp, after)] = handled
    assert timestamp == 2_000 and 0.09 <= after < 2.0, "held for idle_s, then handed over"


def test_timestamps_that_go_back_within_a_partition_still_move() -> None:
    logs: dict[TopicPartition, list[Rec]] = {TOPICS[0]: [], TOPICS[1]: []}
    broker = FakeBroker(logs, per_fetch=10)
    for ts in (50, 10, 20):  # a producer whose clock went back
        broker.append(TOPICS[0], ts)
    for ts in (15, 16, 60):
        broker.append(TOPICS[1], ts)
    reader = BatchConsumer(broker, max_records=500, window_s=0.01, name="test", time_ordered=True)
    seen = asyncio.run(drain(broker, reader, 6))
    records = [r for batch in seen for r in batch]
    assert sorted((r.partition, r.offset) for r in records) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    for p in (0, 1):
        assert [r.offset for r in records if r.partition == p] == [0, 1, 2]


def test_what_is_held_at_a_rebalance_is_read_again_from_its_first_offset() -> None:
    logs = city(4)
    broker = FakeBroker(logs, per_fetch=20, partitions_per_fetch=4)
    reader = BatchConsumer(broker, max_records=5, window_s=0.01, name="test", time_ordered=True)
    seen: list[list[Rec]] = []
    stop = asyncio.Event()
    reader.assigned(set(logs))

    rebalance: list[asyncio.Task[None]] = []

    async def rebalanced() -> None:  # waits for the batch in hand (the reader's lock), as aiokafka's listener does
        await reader.revoked(set(logs))
        reader.assigned(set(logs))

    async def handle(records: list[Rec]) -> None:
        seen.append(list(records))
        if len(seen) == 2:  # a rebalance while records are held: the same partitions come back
            rebalance.append(asyncio.create_task(rebalanced()))
        if len(seen) == 3:
            stop.set()

    asyncio.run(asyncio.wait_for(reader.run(handle, stop), timeout=10))
    committed: dict[TopicPartition, int] = {}
    for commit in broker.commits[:2]:
        committed.update({tp: o.offset for tp, o in commit.items()})
    third = seen[2]
    for tp in TOPICS:  # the batch after the rebalance starts each partition where the committed offsets left it
        offsets = [r.offset for r in third if (r.topic, r.partition) == (tp.topic, tp.partition)]
        if offsets:
            assert offsets[0] == committed.get(tp, 0)
    assert not any(r.offset < committed.get(TopicPartition(r.topic, r.partition), 0) for r in third)
