"""Kafka: one kafka-python producer, each system to its own topic, keyed by 宛名番号 or student id."""

from __future__ import annotations

from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from contracts.kafka_security import options_from_env
from simulator.events import SourceEvent
from simulator.sinks.base import SendReport


class KafkaSink:
    """``acks='all'`` and idempotence by default; for load runs the caller may pass faster settings."""

    def __init__(self, bootstrap: str, *, linger_ms: int = 20, batch_size: int = 256 * 1024,
                 compression: str | None = None, acks: str | int = "all", **producer_config: Any) -> None:
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap, client_id="tsunagu-simulator", acks=acks, linger_ms=linger_ms,
            batch_size=batch_size, compression_type=compression, max_in_flight_requests_per_connection=5,
            **{**options_from_env("TSUNAGU_SIMULATOR_"), **producer_config})
        self._report = SendReport()

    def send(self, event: SourceEvent) -> None:
        self.send_raw(event.topic, event.key.encode(), event.encode())

    def send_raw(self, topic: str, key: bytes, value: bytes) -> None:
        report = self._report

        def failed(exc: BaseException) -> None:
            report.fail(topic, type(exc).__name__)

        future = self._producer.send(topic, key=key, value=value)
        future.add_errback(failed)
        report.sent[topic] += 1

    def close(self) -> SendReport:
        try:
            self._producer.flush()
        except KafkaError as exc:
            self._report.fail("*", type(exc).__name__)
        finally:
            self._producer.close()
        # ``sent`` counted each event handed over; subtract those the broker refused
        for topic, n in self._report.failed.items():
            if topic in self._report.sent:
                self._report.sent[topic] -= n
        return self._report
