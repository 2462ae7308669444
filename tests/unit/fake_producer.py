"""A producer fake for the workers' batch tests: takes ``send`` and record batches (``create_batch`` /
``send_batch``, as ``contracts.kafka_batches.ProduceBatch`` hands them) and acknowledges them only when told, as
the broker would later."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any


async def until(condition: Callable[[], bool], what: str, timeout_s: float = 5.0) -> None:
    """Yields to the event loop until ``condition`` holds; fails, saying ``what`` it waited for, after
    ``timeout_s`` (a test never hangs on a step that did not come)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, f"not within {timeout_s} s: {what}"
        await asyncio.sleep(0)


class FakeBuilder:
    def __init__(self) -> None:
        self.records: list[tuple[bytes | None, bytes | None, Any]] = []

    def append(self, *, key: bytes | None, value: bytes | None, timestamp: None, headers: Any) -> object:
        self.records.append((key, value, headers))
        return object()

    def close(self) -> None:
        self.closed = True


class FakeProducer:
    """Queues sends and record batches; ``sent`` holds (topic, key, value, headers) per record."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, Any]] = []
        self.acks: list[asyncio.Future[Any]] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return {0, 1, 2}

    def create_batch(self) -> FakeBuilder:
        return FakeBuilder()

    async def send_batch(self, batch: FakeBuilder, topic: str, *, partition: int) -> asyncio.Future[Any]:
        self.sent += [(topic, key, value, headers or None) for key, value, headers in batch.records]
        ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        return ack

    async def send(self, topic: str, value: bytes | None = None, key: bytes | None = None,
                   headers: Any = None) -> asyncio.Future[Any]:
        self.sent.append((topic, key, value, headers))
        ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        return ack

    def acknowledge_all(self, error: Exception | None = None) -> None:
        for ack in self.acks:
            if not ack.done():
                ack.set_exception(error) if error else ack.set_result(None)
