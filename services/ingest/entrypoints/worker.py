"""The ingest worker: every ``source.*.v1`` topic in, ``ingest.records.v1`` and ``ingest.deadletter.v1`` out.

    python -m services.ingest.entrypoints.worker

A consumer group member (``APP_ID``) reading batches of records with aiokafka (``contracts/kafka_batches.py``), not
a Faust agent: ingest keeps no table, and Faust's per-message stream machinery cost more CPU than ingest's own
validation (docs/scaling.md). Each batch: every source record through the handler, its record or dead letter
sent, all sends acknowledged (acks=all), the ids confirmed in the dedup store, then the offsets committed. The
worker also reads ``ingest.deadletter.v1`` in the same group, to count the school importer's refusals.
SIGTERM/SIGINT: the batch in hand is finished and committed, the group left, the producer flushed.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from contracts import kafka_batches
from contracts.kafka_batches import BatchConsumer, ProduceBatch, Record
from contracts.progress import Progress, progress_messages
from contracts.sources import SOURCE_SYSTEMS
from contracts.topics import ingest_deadletter, ingest_records, ingest_source_status
from contracts.topics.ingest_deadletter import H_ERROR_CLASS, H_SERVICE
from services.ingest.adapters import kafka_consumer
from services.ingest.bootstrap import Container, bootstrap
from services.ingest.config import IngestSettings
from services.ingest.service_layer.handlers import (
    OUTPUT_SOURCE,
    Accepted,
    Duplicate,
    IngestHandler,
    Rejected,
    SourceMessage,
)
from services.ingest.service_layer.school_import import CSV_SERVICE

log = logging.getLogger("tsunagu.ingest")
SOURCE_TOPICS = tuple(s.topic for s in SOURCE_SYSTEMS.values())
_CSV = CSV_SERVICE.encode()


class IngestBatch:
    """One batch of records through the handler; returns when every record or dead letter it sent is on the broker
    (then, and only then, the caller commits the batch's offsets). ``send`` is the producer's (an awaitable that
    queues the message and gives the future of its acknowledgement)."""

    def __init__(self, handler: IngestHandler, producer: Any, *, after: Callable[[], None] | None = None,
                 progress: Progress | None = None, unread: Callable[[], int | None] = lambda: None) -> None:
        self.handler = handler
        self.producer = producer
        self.after = after  # called when a batch's records are on the broker (the source-status reports' news)
        self.records_topic = ingest_records.TOPIC.name
        self.deadletter_topic = ingest_deadletter.TOPIC.name
        # while behind, a progress report to every partition of ingest.records.v1 (contracts/progress.py), with the
        # source events not handled yet (the reader's ``unread`` over the source topics)
        self.progress, self.unread = progress, unread
        self._progress_keys: dict[int, list[str]] = {}  # partitions of ingest.records.v1 → a key landing on each

    async def __call__(self, records: Sequence[Record]) -> None:
        out = ProduceBatch(self.producer)
        await out.topics(self.records_topic, self.deadletter_topic)
        messages: list[SourceMessage] = []
        for record in records:  # nothing awaited in here: the records go to the producer after the loop
            headers = [(str(k), bytes(v) if v is not None else b"") for k, v in record.headers] \
                if record.headers else []
            if record.topic == self.deadletter_topic:
                self._count_import_refusal(headers)
                continue
            messages.append(SourceMessage(
                topic=record.topic, partition=record.partition, offset=record.offset, key=record.key,
                value=record.value, headers=headers,
                timestamp=record.timestamp / 1000 if record.timestamp is not None and record.timestamp >= 0 else None,
            ))
        confirm: list[tuple[str, str]] = []
        for message, outcome in zip(messages, self.handler.handle_batch(messages), strict=True):
            if isinstance(outcome, Accepted):
                out.add(self.records_topic, outcome.value, key=outcome.key)
                confirm.append(outcome.dedup_key)
            elif isinstance(outcome, Rejected):
                log.warning("ingest: dead letter %s from %s[%d]@%d: %s", outcome.error_class, message.topic,
                            message.partition, message.offset, outcome.reason)
                out.add(self.deadletter_topic, outcome.value, key=outcome.key, headers=outcome.headers)
            elif isinstance(outcome, Duplicate):
                log.debug("ingest: duplicate event id from %s[%d]@%d", message.topic, message.partition,
                          message.offset)
        if self.progress is not None and messages:
            self._progress(out, messages[-1].timestamp, len(messages))
        sent: list[tuple[asyncio.Future[Any], str, int]] = []
        try:
            sent = await out.send()
            await asyncio.gather(*(future for future, _, _ in sent))
        except BaseException:
            if sent:
                await asyncio.wait([future for future, _, _ in sent])
            self.handler.metrics.deadletter_publish_failures.inc(sum(
                count for future, topic, count in sent if topic == self.deadletter_topic and not future.cancelled()
                and future.exception() is not None))
            for key in confirm:  # not on the broker: the batch is read again and these ids are new again
                self.handler.dedup.release(key)
            raise
        self.handler.dedup.confirm_all(confirm)
        if self.after is not None:
            self.after()

    def _progress(self, out: ProduceBatch, timestamp: float | None, handled: int) -> None:
        """A progress report to every partition of ingest.records.v1 when one is due: with the batch's records, not
        acknowledged on its own (a report lost in a crash is only a report)."""
        progress = self.progress
        assert progress is not None
        progress.handled(handled, datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp else None)
        report = progress.report(datetime.now(UTC), time.monotonic(), self.unread)
        if report is None:
            return
        partitions = out.partitions(self.records_topic)
        keys = self._progress_keys.get(partitions)
        if keys is None:
            keys = self._progress_keys[partitions] = kafka_batches.keys_for_partitions(
                ingest_records.PROGRESS_KEY_PREFIX, partitions)
        for topic, key, value in progress_messages(self.records_topic, ingest_records.PROGRESS_EVENT_TYPE, report,
                                                   keys, OUTPUT_SOURCE, datetime.now(UTC)):
            out.add(topic, value, key=key)

    def _count_import_refusal(self, headers: list[tuple[str, bytes]]) -> None:
        # The school importer is a short command no Prometheus scrapes: the worker counts its dead letters, so
        # tsunagu_ingest_events_failed_total holds the refusals of all three ways in (HTTP counts its own).
        if (H_SERVICE, _CSV) in headers:
            error_class = next((v.decode("ascii", "replace") for k, v in headers if k == H_ERROR_CLASS), "")
            self.handler.metrics.refused(error_class, "csv")


class SourceStatusReports:
    """ingest.source_status.v1 (freshness per source system, docs/operations.md): a report as soon as a batch heard
    from a system not yet reported — so the first comes right after the first batch, not one interval after the
    start (casework's freshness panel showed every system 「受信記録なし／要確認」 until then) — and every
    ``interval_s`` after the last. ``send`` is the producer's."""

    def __init__(self, handler: IngestHandler, send: Callable[..., Awaitable[Any]], topic: str,
                 interval_s: float) -> None:
        self.handler, self.send, self.topic, self.interval_s = handler, send, topic, interval_s
        self.news = asyncio.Event()
        self.reported = 0  # systems in the last report

    def batch_done(self) -> None:
        if self.handler.activity.heard() > self.reported:
            self.news.set()

    async def report(self) -> None:
        messages = self.handler.source_status()
        for key, value in messages:
            await self.send(self.topic, value, key=key)
        self.reported = len(messages)

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set; a failed report is logged (its type only) and made again at the next occasion."""
        while not stop.is_set():
            waits = [asyncio.ensure_future(self.news.wait()), asyncio.ensure_future(stop.wait())]
            try:
                await asyncio.wait(waits, timeout=self.interval_s, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()
            if stop.is_set():
                return
            self.news.clear()
            try:
                await self.report()
            except Exception as exc:
                log.error("source status report failed (%s); tried again in %.0f s", type(exc).__name__,
                          self.interval_s)


async def run(container: Container, stop: asyncio.Event) -> None:
    """The worker until ``stop`` is set (or a send fails: then it raises, with the batch uncommitted)."""
    settings: IngestSettings = container.settings
    handler = container.ingest_handler()
    producer: AIOKafkaProducer = kafka_consumer.producer(settings)
    consumer = kafka_consumer.consumer(settings)
    reader = BatchConsumer(consumer, max_records=settings.batch_max, window_s=settings.batch_window_s, name="ingest",
                           time_ordered=settings.time_order, idle_s=settings.time_order_idle_s)
    consumer.subscribe([*SOURCE_TOPICS, ingest_deadletter.TOPIC.name], listener=reader.listener())
    status_topic = ingest_source_status.TOPIC.name

    async def flush_dedup() -> None:
        # Acknowledged ids reach disk within this interval; after a kill -9 only events acknowledged in the
        # last interval are emitted again when a source retries them (same record_id; downstream drops them).
        handler.dedup.flush()

    reports = SourceStatusReports(handler, producer.send, status_topic, settings.source_status_interval_s)

    await producer.start()
    duties: list[asyncio.Task[None]] = []
    try:
        await consumer.start()
        try:
            duties = [asyncio.create_task(kafka_batches.every(0.25, flush_dedup, stop, name="dedup flush")),
                      asyncio.create_task(reports.run(stop))]
            # The garbage collector: what start-up built lives as long as the worker, so no full collection scans
            # it again; and the young generation is collected every 10 000 new objects, not 700 — a batch's events
            # are freed by their reference counts, and at 700 the collector ran every few events, scanning the
            # batch in hand and promoting it towards the full collections.
            gc.freeze()
            gc.set_threshold(10_000, 10, 10)
            progress = Progress(settings.progress_interval_s, settings.progress_after_s, stage="ingest")
            await reader.run(IngestBatch(handler, producer, after=reports.batch_done, progress=progress,
                                         unread=lambda: reader.unread(*SOURCE_TOPICS)), stop)
        finally:
            stop.set()
            for duty in duties:
                duty.cancel()
            await asyncio.gather(*duties, return_exceptions=True)
            await consumer.stop()  # leaves the group: its partitions go to the other members at once
    finally:
        await producer.stop()  # sends what is queued (source status)
        handler.dedup.flush()


def main(argv: list[str] | None = None) -> None:
    del argv  # no options: settings come from the environment (TSUNAGU_INGEST_*)
    container = bootstrap()
    settings = container.settings
    kafka_batches.worker_logging(settings.log_level)
    kafka_batches.worker_priority(settings.cpu_nice)  # 0 unless set: docs/scaling.md, One machine
    try:
        kafka_batches.serve("ingest", lambda stop: run(container, stop), bootstrap=settings.kafka_bootstrap,
                            retry_max_s=settings.kafka_retry_max_s, client_options=settings.kafka_client_options(),
                            metrics_port=settings.metrics_port, metrics_host=settings.metrics_host)
    finally:
        container.close()


if __name__ == "__main__":
    main(sys.argv[1:])
