"""The scoring worker's record batches for partitions given (adapters/record_batches.py): the changelog's records
reach the partitions named, in order per partition, in as few requests as the batches allow; a record larger than
a batch goes alone, after what its partition held before it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from services.scoring.adapters.record_batches import send_partitioned

pytestmark = pytest.mark.unit


class Builder:
    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes, self.records = capacity_bytes, []  # type: ignore[var-annotated]

    def append(self, *, key: bytes | None, value: bytes | None, timestamp: None, headers: Any) -> object | None:
        size = len(key or b"") + len(value or b"")
        if sum(len(k or b"") + len(v or b"") for k, v in self.records) + size > self.capacity_bytes:
            return None
        self.records.append((key, value))
        return object()

    def close(self) -> None:
        self.closed = True


class Producer:
    def __init__(self, capacity_bytes: int) -> None:
        self.capacity_bytes = capacity_bytes
        self.handed: list[tuple[str, str, int | None, list[tuple[bytes | None, bytes | None]]]] = []
        self.open_handed = 0  # record batches handed over open (the producer would linger on them)

    def create_batch(self) -> Builder:
        return Builder(self.capacity_bytes)

    async def _ack(self) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    async def send_batch(self, batch: Builder, topic: str, *, partition: int) -> asyncio.Future[None]:
        self.handed.append(("batch", topic, partition, batch.records))
        self.open_handed += not getattr(batch, "closed", False)
        return await self._ack()

    async def send(self, topic: str, value: bytes | None = None, *, key: bytes | None = None,
                   partition: int | None = None) -> asyncio.Future[None]:
        self.handed.append(("send", topic, partition, [(key, value)]))
        return await self._ack()

    def in_partition(self, partition: int) -> list[tuple[bytes | None, bytes | None]]:
        return [record for _, _, p, records in self.handed if p == partition for record in records]


def test_records_reach_their_partitions_in_order_in_few_batches() -> None:
    producer = Producer(capacity_bytes=12)
    records = [(n % 3, f"k{n}".encode(), None if n == 4 else b"v" * 2) for n in range(10)]

    async def go() -> int:
        return len(await send_partitioned(producer, "t", records))

    futures = asyncio.run(go())
    assert futures == len(producer.handed)
    for partition in range(3):
        assert producer.in_partition(partition) == [(k, v) for p, k, v in records if p == partition]
    assert all(kind == "batch" and topic == "t" for kind, topic, *_ in producer.handed)
    assert len(producer.handed) < len(records)  # several records per request (each batch holds two or three)
    assert producer.open_handed == 0  # closed: sent at the producer's next drain, not after its 5 ms linger


def test_a_record_larger_than_a_batch_goes_alone_after_what_its_partition_held() -> None:
    producer = Producer(capacity_bytes=8)
    records = [(1, b"a", b"1"), (1, b"big", b"x" * 20), (1, b"b", b"2"), (2, b"big2", b"y" * 20)]
    asyncio.run(send_partitioned(producer, "t", records))
    assert producer.in_partition(1) == [(b"a", b"1"), (b"big", b"x" * 20), (b"b", b"2")]
    assert [(kind, p) for kind, _, p, _ in producer.handed] == [("batch", 1), ("send", 1), ("send", 2), ("batch", 1)]
