"""The ingest use case: one source message in, one outcome out (record, dead letter or duplicate).

Pure apart from the injected dedup store and metrics, so the Faust agent, the benchmarks and the unit
tests all run exactly this code. ``IngestHandler`` is what the worker holds: ``process`` plus the
freshness per source system that it reports (``source_status.py``).
"""

from __future__ import annotations

import hashlib
import logging
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol

import orjson

from contracts.envelope import Envelope, envelope_dict
from contracts.sources import SYSTEM_BY_TOPIC
from contracts.sources._common import SourceData
from contracts.topics.ingest_deadletter import DeadLetterHeaders
from contracts.topics.ingest_records import EVENT_TYPE
from services.ingest.domain.errors import IngestRejected
from services.ingest.domain.freshness import ActivityTracker
from services.ingest.domain.intake import decode_event
from services.ingest.domain.records import record_key, record_payload
from services.ingest.metrics import BatchTally, IngestMetrics, intake_of
from services.ingest.service_layer.ports import NOT_SEEN, Clock, DedupStore
from services.ingest.service_layer.source_status import status_messages

log = logging.getLogger("tsunagu.ingest")

OUTPUT_SOURCE = "/tsunagu/ingest"
ORIGINAL_BYTES_HEADER = "tsunagu.dlq.original_bytes"  # a too_large dead letter carries its size, not its body


@dataclass(frozen=True)
class SourceMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    timestamp: float | None = None  # the Kafka timestamp (Unix seconds): when the source handed the event over


@dataclass(frozen=True)
class Accepted:
    key: bytes
    value: bytes
    dedup_key: tuple[str, str]
    system: str = ""
    source_time: float = 0.0  # Unix seconds, for end-to-end latency and freshness


@dataclass(frozen=True)
class Rejected:
    """The original key, value and headers plus the dead-letter headers, ready to publish."""

    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]
    error_class: str
    reason: str


@dataclass(frozen=True)
class Duplicate:
    dedup_key: tuple[str, str]
    system: str = ""  # a system that sends an event again is still heard from (freshness)
    source_time: float = 0.0


Outcome = Accepted | Rejected | Duplicate


class _Observer(Protocol):  # IngestMetrics (one event), or a BatchTally (a batch's, added to the metrics at once)
    def observe(self, outcome: str, error_class: str | None, seconds: float, intake: str = "kafka") -> None: ...
    def observe_source(self, system: str, source_time: float) -> None: ...
    def observe_rejected(self, system: str | None) -> None: ...


def process(message: SourceMessage, *, dedup: DedupStore, metrics: _Observer, max_event_bytes: int) -> Outcome:
    return finish(prepare(message, max_event_bytes), dedup=dedup, metrics=metrics)


def finish(prepared: Prepared, *, dedup: DedupStore, metrics: _Observer) -> Outcome:
    """The prepared event's outcome (``Prepared.resolve``), observed with the seconds of both steps."""
    started = time.perf_counter()
    outcome = prepared.resolve(dedup)
    seconds = prepared.seconds + time.perf_counter() - started
    message = prepared.message
    if isinstance(outcome, Accepted):
        metrics.observe("accepted", None, seconds)
        metrics.observe_source(outcome.system, outcome.source_time)
    elif isinstance(outcome, Duplicate):
        metrics.observe("duplicate", None, seconds)
    else:
        metrics.observe("rejected", outcome.error_class, seconds, intake_of(message.headers))
        source = SYSTEM_BY_TOPIC.get(message.topic)
        metrics.observe_rejected(source.system if source else None)
    return outcome


@dataclass
class IngestHandler:
    """The worker's use case: ``handle`` each source message; the systems heard from are kept for ``source_status``."""

    dedup: DedupStore
    metrics: IngestMetrics
    max_event_bytes: int
    clock: Clock
    activity: ActivityTracker = field(init=False)

    def __post_init__(self) -> None:
        self.activity = ActivityTracker(self.clock.now().timestamp())

    def handle(self, message: SourceMessage) -> Outcome:
        outcome = process(message, dedup=self.dedup, metrics=self.metrics, max_event_bytes=self.max_event_bytes)
        if isinstance(outcome, Accepted | Duplicate) and outcome.system:  # the source was heard from
            self.activity.record(outcome.system, outcome.source_time, self.clock.now().timestamp(),
                                 new_event=isinstance(outcome, Accepted))
        return outcome

    def handle_batch(self, messages: Sequence[SourceMessage]) -> list[Outcome]:
        """``handle`` for each message, in order, with what it counts put into the metrics and the freshness once
        for the batch: the same counts (the freshness's clock read once, at the batch's end). Every event is
        prepared first, then the dedup store reads the batch's ids at once (``prefetch``: one query instead of one
        per event), then each event is resolved in order: the same outcomes as one by one."""
        tally = BatchTally()
        prepared = [prepare(message, self.max_event_bytes) for message in messages]
        try:
            self.dedup.prefetch([event.dedup_key for event in prepared if event.dedup_key is not None])
        except Exception as exc:  # each lookup then asks the store itself, and fails or not as it would have
            log.warning("ingest: reading the batch's ids at once failed (%s); looked up one by one",
                        type(exc).__name__)
        outcomes = [finish(event, dedup=self.dedup, metrics=tally) for event in prepared]
        now = self.clock.now().timestamp()
        self.metrics.add(tally)
        for system, times in tally.source_times.items():  # accepted: new events, counted
            self.activity.record(system, max(times), now, events=len(times))
        for outcome in outcomes:  # a system that sends an event again is still heard from (rare)
            if isinstance(outcome, Duplicate) and outcome.system:
                self.activity.record(outcome.system, outcome.source_time, now, new_event=False)
        return outcomes

    def source_status(self) -> list[tuple[bytes, bytes]]:
        """Freshness per source system heard from, as (key, value) for ingest.source_status.v1."""
        return status_messages(self.activity, self.clock.now().timestamp())


def content_digest(envelope: Envelope[SourceData]) -> str:
    """What makes two events with one id "the same": every contract field, in the model's own order and form
    (so key order, whitespace and unknown fields do not count; any known field that differs does)."""
    # the bytes of ``model_dump_json()`` (which decodes them to a str), hashed without decoding and encoding again
    return hashlib.blake2b(envelope.__pydantic_serializer__.to_json(envelope), digest_size=16).hexdigest()


DUPLICATE_REASON = ("id: already used by this system for an event with different content; "
                    "a correction needs a new id")


@dataclass(slots=True)
class Prepared:
    """A source event taken as far as it goes without the dedup store (``prepare``): refused already (``outcome``),
    or its id, content digest and what it becomes if the id is new (``emit``: the record, or what building it
    raised). ``resolve`` finishes it. The envelope is not kept: a batch's prepared events stay small."""

    message: SourceMessage
    seconds: float = 0.0  # spent preparing it
    outcome: Rejected | None = None
    dedup_key: tuple[str, str] | None = None
    digest: str = ""
    source_time: float = 0.0
    emit: Accepted | Exception | None = None

    def resolve(self, dedup: DedupStore) -> Outcome:
        """A retry is dropped, an id re-used for other content refused, a new id's record (or refusal) returned and
        its id reserved — looked up when the outcome is needed, as if the event had been handled from the start."""
        if self.outcome is not None:
            return self.outcome
        assert self.dedup_key is not None
        system, event_id = self.dedup_key
        try:
            known = dedup.lookup(self.dedup_key)
            if known is not NOT_SEEN:
                if known is None or known == self.digest:
                    return Duplicate(self.dedup_key, system, self.source_time)  # a retry
                raise IngestRejected("duplicate_id_different_content", DUPLICATE_REASON, event_id)
            if isinstance(self.emit, Exception):
                raise self.emit
            assert self.emit is not None
            dedup.reserve(self.dedup_key, self.digest)
            return self.emit
        except Exception as exc:
            return _refused(self.message, exc, event_id, system)


def prepare(message: SourceMessage, max_event_bytes: int) -> Prepared:
    """Decodes and validates the event, digests its content and builds its record (``Prepared``)."""
    started = time.perf_counter()
    prepared = Prepared(message)
    event_id: str | None = None
    system = SYSTEM_BY_TOPIC.get(message.topic)
    try:
        if system is None:
            raise IngestRejected("unknown_system", "topic is not a source topic")
        envelope = decode_event(system, message.value, max_event_bytes)
        event_id = envelope.id
        prepared.dedup_key = (system.system, envelope.id)
        prepared.digest = content_digest(envelope)
        prepared.source_time = message.timestamp or envelope.time.timestamp()
        prepared.emit = _emit(message, system.system, envelope, prepared.dedup_key)
    except Exception as exc:
        prepared.outcome = _refused(message, exc, event_id, system.system if system else None)
    prepared.seconds = time.perf_counter() - started
    return prepared


def _emit(message: SourceMessage, system: str, envelope: Envelope[SourceData],
          dedup_key: tuple[str, str]) -> Accepted | Exception:
    """The event's record, if its id turns out to be new; or what building it raised (the refusal then)."""
    try:
        record = record_payload(system, envelope)
        source_time = message.timestamp if message.timestamp else envelope.time.timestamp()
        record["source_time"] = _utc_iso(source_time)
        key = record_key(record)
        body = envelope_dict(data=record, type_=EVENT_TYPE, source=OUTPUT_SOURCE, subject=key,
                             event_id=envelope.id, time=record["occurred_at"])  # the event's time, as text once
        try:
            value = orjson.dumps(body)
        except orjson.JSONEncodeError:
            # JSON allows "\ud800" escapes that decode to lone surrogates; they cannot be stored as UTF-8.
            raise IngestRejected("invalid_encoding", "a string holds an unpaired UTF-16 surrogate") from None
        return Accepted(key=key.encode("utf-8"), value=value, dedup_key=dedup_key, system=system,
                        source_time=source_time)
    except Exception as exc:
        return exc


@lru_cache(maxsize=256)
def _utc_iso(timestamp: float) -> str:
    # Kafka timestamps are milliseconds, and a producer stamps the records of one send alike: in a backlog runs of
    # events share one (≈ 1.5 µs each to format; a hit ≈ 0.1)
    return datetime.fromtimestamp(timestamp, UTC).isoformat()


def _refused(message: SourceMessage, exc: Exception, event_id: str | None, system: str | None) -> Rejected:
    if isinstance(exc, IngestRejected):
        return _rejected(message, exc.error_class, exc.reason, event_id or exc.event_id, system)
    # a bug must not stop the stream: dead-letter it, replay after the fix
    log.error("ingest: unexpected %s while processing %s[%d]@%d\n%s", type(exc).__name__, message.topic,
              message.partition, message.offset, "".join(traceback.format_tb(exc.__traceback__)))
    return _rejected(message, "internal_error", f"unexpected {type(exc).__name__}", event_id, system)


def _rejected(message: SourceMessage, error_class: str, reason: str, event_id: str | None,
              system: str | None) -> Rejected:
    dlq = DeadLetterHeaders(reason=reason, error_class=error_class, topic=message.topic,
                            partition=message.partition, offset=message.offset, event_id=event_id, system=system)
    # A replayed dead letter that fails again must not carry two sets of reasons.
    original = [(k, v) for k, v in message.headers if not k.startswith("tsunagu.dlq.")]
    value = message.value
    if error_class == "too_large" and value is not None:
        # Up to the broker's 2 MiB plus our headers would not fit the dead-letter topic; the size says enough.
        original.append((ORIGINAL_BYTES_HEADER, str(len(value)).encode()))
        value = None
    return Rejected(key=message.key, value=value, headers=original + dlq.to_kafka(),
                    error_class=error_class, reason=reason)
