"""A source system's own dead letters, for its vendor: what was refused and why, never what it held.

ingest.deadletter.v1 holds every system's dead letters with their original bytes (school rows with names,
birth dates, addresses). A vendor gets only the letters whose ``tsunagu.dlq.system`` is its own system, and
of each only the offset, time, error class, reason, event id and where it was read: no value, key or other
header. The topic has one partition (contracts/topics/ingest_deadletter.py), so an offset orders it.

Also the replay's reader (``read_dead_letters``): every dead letter with its bytes, for ``replay_deadletters``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

from kafka import KafkaConsumer, TopicPartition

from contracts.topics import ingest_deadletter
from contracts.topics.ingest_deadletter import DeadLetterHeaders
from services.ingest.service_layer.replay import DeadLetter

MAX_SCANNED = 100_000  # dead letters read per request at most; the answer says where to go on


class DeadLetterSource(Protocol):
    def scan(self, after: int) -> Iterable[tuple[int, int | None, list[tuple[str, bytes]]]]:
        """(offset, timestamp in ms, headers) of the dead letters after ``after``, up to the end as it is now."""
        ...


def own_dead_letters(source: DeadLetterSource, system: str, after: int, limit: int,
                     max_scanned: int = MAX_SCANNED) -> tuple[list[dict[str, Any]], int]:
    """Up to ``limit`` of ``system``'s dead letters after offset ``after``, and the offset to continue after."""
    found: list[dict[str, Any]] = []
    last = after
    for scanned, (offset, timestamp_ms, headers) in enumerate(source.scan(after), start=1):
        last = offset
        view = _view(offset, timestamp_ms, headers, system)
        if view is not None:
            found.append(view)
        if len(found) >= limit or scanned >= max_scanned:
            break
    return found, last


def _view(offset: int, timestamp_ms: int | None, headers: list[tuple[str, bytes]],
          system: str) -> dict[str, Any] | None:
    try:
        dlq = DeadLetterHeaders.from_kafka(headers)
    except (UnicodeDecodeError, ValueError):
        return None  # not a dead letter of ours (no readable headers)
    if dlq.system != system:
        return None
    intake = {"ingest-http": "http", "ingest-csv": "csv"}.get(dlq.service, "kafka")
    return {
        "offset": offset,
        "time": datetime.fromtimestamp(timestamp_ms / 1000, UTC).isoformat() if timestamp_ms else None,
        "error_class": dlq.error_class, "reason": dlq.reason, "event_id": dlq.event_id, "intake": intake,
        # Kafka: where the worker read the event; CSV: the line in the file; HTTP: -1 (it had no offset).
        "source_topic": dlq.topic, "source_partition": dlq.partition, "source_offset": dlq.offset,
    }


class KafkaDeadLetters:
    """Reads the dead-letter topic by hand-assigned partition (no consumer group) up to its end at the call."""

    def __init__(self, bootstrap: str, security: dict[str, Any] | None = None) -> None:
        self._bootstrap, self._security = bootstrap, security or {}

    def scan(self, after: int) -> Iterator[tuple[int, int | None, list[tuple[str, bytes]]]]:
        tp = TopicPartition(ingest_deadletter.TOPIC.name, 0)
        consumer = KafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False,
                                 client_id="tsunagu-ingest-deadletters", fetch_max_bytes=8 * 1024 * 1024,
                                 max_partition_fetch_bytes=8 * 1024 * 1024, **self._security)
        try:
            consumer.assign([tp])
            end = consumer.end_offsets([tp])[tp]
            start = max(after + 1, consumer.beginning_offsets([tp])[tp])
            if start >= end:
                return
            consumer.seek(tp, start)
            while consumer.position(tp) < end:
                for message in consumer.poll(timeout_ms=1000).get(tp, []):
                    if message.offset >= end:
                        return
                    yield message.offset, message.timestamp, list(message.headers)
        finally:
            consumer.close()


class PublishedDeadLetters:
    """The dead letters a MemoryPublisher holds (offset = their place among them), for tests."""

    def __init__(self, sent: list[tuple[str, bytes | None, bytes | None, list[tuple[str, bytes]]]]) -> None:
        self._sent = sent

    def scan(self, after: int) -> Iterator[tuple[int, int | None, list[tuple[str, bytes]]]]:
        letters = [headers for topic, _k, _v, headers in self._sent if topic == ingest_deadletter.TOPIC.name]
        for offset, headers in enumerate(letters):
            if offset > after:
                yield offset, None, headers


def read_dead_letters(bootstrap: str, from_offset: int | None,
                      security: dict[str, Any] | None = None) -> Iterator[DeadLetter]:
    topic = ingest_deadletter.TOPIC.name
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, client_id="tsunagu-replay",
                             fetch_max_bytes=4 * 1024 * 1024, max_partition_fetch_bytes=4 * 1024 * 1024,
                             **(security or {}))
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        ends = consumer.end_offsets(partitions)
        for tp in partitions:
            if from_offset is None:
                consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, from_offset)
        remaining = {tp for tp in partitions if consumer.position(tp) < ends[tp]}
        while remaining:  # up to the end as it was at start, so replays that fail again are not re-read
            for tp, batch in consumer.poll(timeout_ms=1000).items():
                for m in batch:
                    if m.offset < ends[tp]:
                        yield DeadLetter(m.partition, m.offset, m.key, m.value, list(m.headers))
                if consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        consumer.close()
