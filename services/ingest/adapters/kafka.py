"""Synchronous publishing with kafka-python, for the HTTP intake and the DLQ replay (the service layer's Publisher,
``service_layer/ports.py``); and one in memory for tests."""

from __future__ import annotations

from typing import Any

from kafka import KafkaProducer
from kafka.producer.future import FutureRecordMetadata


class KafkaPublisher:
    """acks=all and idempotence (kafka-python 3 defaults, stated here so they cannot drift)."""

    def __init__(self, bootstrap: str, client_id: str, max_request_bytes: int = 2_097_152,
                 linger_ms: int = 5, security: dict[str, Any] | None = None) -> None:
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap, client_id=client_id, acks="all", enable_idempotence=True,
            max_request_size=max_request_bytes, linger_ms=linger_ms, batch_size=256 * 1024, **(security or {}),
        )

    def publish(self, topic: str, key: bytes | None, value: bytes | None,
                headers: list[tuple[str, bytes]] | None = None) -> FutureRecordMetadata:
        return self._producer.send(topic, key=key, value=value, headers=headers or [])

    def flush(self, timeout_s: float = 60.0) -> None:
        self._producer.flush(timeout=timeout_s)

    def close(self) -> None:
        self._producer.close(timeout=10)


class MemoryPublisher:
    """Keeps what was published, for tests; ``fail`` makes every publish raise, as a broker outage would."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]] = []
        self.fail = False

    def publish(self, topic: str, key: bytes | None, value: bytes | None,
                headers: list[tuple[str, bytes]] | None = None) -> None:
        if self.fail:
            raise ConnectionError("broker unavailable")
        self.sent.append((topic, key, value, list(headers or [])))

    def flush(self, timeout_s: float = 60.0) -> None:
        if self.fail:
            raise ConnectionError("broker unavailable")

    def close(self) -> None:
        pass
