"""Records handed to the producer in record batches, one per partition, instead of one ``send`` each.

``AIOKafkaProducer.send`` costs a coroutine, a metadata wait, a partition lookup and a delivery future per record
(≈ 5 µs of the worker's CPU per fact, docs/scoring.md "CPU"). The changelog's records carry their partition (the
partition of the fact that changed the child: docs/kafka.md), so contracts' ``ProduceBatch``, which partitions by
key, does not fit them; this builds the batches (``create_batch`` / ``send_batch``) for partitions given. Each
partition's records keep their order. Idempotence and acks are the producer's (its accumulator numbers these
batches as its own).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Protocol


class BatchProducer(Protocol):  # the part of AIOKafkaProducer used here
    def create_batch(self) -> Any: ...

    async def send_batch(self, batch: Any, topic: str, *, partition: int) -> asyncio.Future[Any]: ...

    async def send(self, topic: str, value: bytes | None = None, *, key: bytes | None = None,
                   partition: int | None = None) -> asyncio.Future[Any]: ...


async def send_partitioned(producer: BatchProducer, topic: str,
                           records: Iterable[tuple[int, bytes | None, bytes | None]]) -> list[asyncio.Future[Any]]:
    """Hands ``records`` (partition, key, value; a value ``None`` is a tombstone) to the producer in record batches
    per partition; returns the delivery futures to wait for. A record that does not fit an empty batch (larger than
    the producer's batch size) goes alone through ``send``, after what its partition held before it."""
    open_: dict[int, Any] = {}
    futures: list[asyncio.Future[Any]] = []
    for partition, key, value in records:
        builder = open_.get(partition)
        if builder is not None and builder.append(key=key, value=value, timestamp=None, headers=[]) is not None:
            continue
        if builder is not None:  # full: send it, start another
            builder.close()  # (aiokafka's closes itself when full; said here for any builder)
            futures.append(await producer.send_batch(builder, topic, partition=partition))
            del open_[partition]
        builder = producer.create_batch()
        if builder.append(key=key, value=value, timestamp=None, headers=[]) is None:
            futures.append(await producer.send(topic, value, key=key, partition=partition))
            continue
        open_[partition] = builder
    for partition, builder in open_.items():
        builder.close()  # complete: sent at the producer's next drain, not after its linger (5 ms)
        futures.append(await producer.send_batch(builder, topic, partition=partition))
    return futures
