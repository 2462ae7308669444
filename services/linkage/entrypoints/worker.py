"""The linkage worker: ingest.records.v1, linkage.decisions.v1, privacy.deletions.v1 and privacy.disclosures.v1 in;
facts, child profiles, reviews and disclosure replies out.

    python -m services.linkage.entrypoints.worker          # metrics on TSUNAGU_LINKAGE_METRICS_PORT

A consumer group member (``APP_ID``, one active instance: docs/linkage.md) reading batches of records with aiokafka
(``contracts/kafka_batches.py``), not Faust agents: linkage's state is SQLite, not a Faust table, and Faust's
per-message stream machinery cost as much CPU as a record's matching (docs/scaling.md). Each batch: the records of
one topic in a row handed to their use case, which applies them and writes state and outbox in one SQLite
transaction; the outbox entries sent and acknowledged (acks=all), then cleared; then the offsets committed — the
acknowledgement, clearing and commit of one batch while the next is applied (``LinkageBatch.apply``). A kill
anywhere in between is safe: records already applied are skipped by id, outbox entries not yet cleared are sent
again at start. SIGTERM/SIGINT: the batch in hand is finished and committed, the group left.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

from contracts import kafka_batches, progress
from contracts.kafka_batches import BatchConsumer
from contracts.topics import ingest_records
from contracts.topics.linkage_facts import PROGRESS_KEY_PREFIX
from contracts.topics.linkage_facts import TOPIC as FACTS_TOPIC
from contracts.topics.privacy_deletions import TOPIC as DELETIONS
from contracts.topics.privacy_disclosures import REQUEST_TOPIC as DISCLOSURES
from services.linkage.adapters import kafka_consumer
from services.linkage.adapters.store import WRITE_WAIT_S
from services.linkage.bootstrap import Container, bootstrap
from services.linkage.service_layer.disclosure import handle_disclosures
from services.linkage.service_layer.handlers import Incoming, LinkageService
from services.linkage.service_layer.messages import progress_messages
from services.linkage.service_layer.ports import Message
from services.linkage.service_layer.privacy import handle_deletions

log = logging.getLogger("tsunagu.linkage")
FACTS = FACTS_TOPIC.name
INGEST_PROGRESS = ingest_records.PROGRESS_KEY_PREFIX.encode()
UseCase = Callable[[Sequence[Incoming]], list[tuple[int, Message]]]


class LinkageBatch:
    """One batch of records through the use cases; returns when their outbox entries are on the broker and cleared
    (then the caller commits the offsets). Records of one topic in a row go to their use case together (one SQLite
    transaction); the order of the batch is kept."""

    def __init__(self, service: LinkageService, producer: Any, *, records_topic: str, decisions_topic: str) -> None:
        self.service = service
        self.producer = producer
        # each entry keyed by child, so the partition the producer would pick: handed over as record batches per
        # partition, not one send each (contracts' ProduceBatch, as ingest and scoring do; docs/scaling.md)
        self.out = kafka_batches.ProduceBatch(producer)
        self.records = records_topic
        self.use_cases: dict[str, UseCase] = {
            records_topic: service.handle_records, decisions_topic: service.handle_decisions,
            DELETIONS.name: lambda batch: handle_deletions(service, batch),
            DISCLOSURES.name: lambda batch: handle_disclosures(service, batch)}
        self.lock = asyncio.Lock()  # a batch and the retention purge never interleave
        self._progress_keys: dict[int, list[str]] = {}  # partitions of linkage.facts.v1 → a key landing on each
        # the records of the input not handled yet, for the progress reports (the reader's ``unread``; run sets it)
        self.unread: Callable[[], int | None] = lambda: None
        # the last batch's messages on their way to the producer once its transaction is written (``_send_in_order``)
        self._sending: asyncio.Future[list[asyncio.Future[Any]]] | None = None

    async def __call__(self, records: Sequence[Any]) -> None:
        await (await self.apply(records))

    async def apply(self, records: Sequence[Any]) -> Awaitable[None]:
        """The batch applied (state and outbox committed to SQLite) and its outbox handed to the producer; returns
        its finish: the broker's acknowledgements awaited, then the entries cleared from the outbox. The worker's
        reader (``BatchConsumer``) applies the next batch while this one's finish runs and commits its offsets
        after it; the producer keeps each partition's order across the two batches."""
        async with self.lock:
            entries: list[tuple[int, Message]] = []
            run: list[Incoming] = []
            topic = ""
            for record in records:
                if record.key is not None and record.key.startswith(INGEST_PROGRESS) and record.topic == self.records:
                    self._upstream(record)  # ingest's report of its backlog, not a record
                    continue
                if record.topic != topic and run:
                    entries += self.use_cases[topic](run)
                    run = []
                topic = record.topic
                run.append(Incoming(record.value, record.key, record.topic, record.partition, record.offset))
            if run:
                entries += self.use_cases[topic](run)
            extra = await self._progress()
            written = self.service.store.durable() if self.service.store is not None else None
            if written is None and (self._sending is None or self._sending.done()):
                return self._finish(await self._send(entries, extra), entries)
            return self._finish_after(self._send_in_order(written, entries, extra), entries)

    def _upstream(self, record: Any) -> None:
        """Ingest's progress report, read in order with the records it wrote (contracts/progress.py): what it had not
        handled then is not through linkage now. A malformed one is counted and skipped (no values logged)."""
        try:
            envelope = progress.decode(record.value, ingest_records.PROGRESS_EVENT_TYPE, ValueError)
        except ValueError as exc:
            self.service.metrics.records_failed.labels(reason="invalid_progress").inc()
            log.warning("skipped ingest's progress report at p%s@%s: %s", record.partition, record.offset, exc)
            return
        self.service.progress.heard(envelope.data, time.monotonic(), envelope.time.timestamp())

    async def _progress(self) -> list[Message]:
        """Progress reports to every partition of linkage.facts.v1 when one is due (contracts/progress.py): not
        in the outbox — a report lost in a crash is only a report, and the next batch writes another."""
        service = self.service
        report = service.progress.report(service.clock.now(), time.monotonic(), self.unread)
        if report is None:
            return []
        await self.out.topics(FACTS)
        partitions = self.out.partitions(FACTS)
        keys = self._progress_keys.get(partitions)
        if keys is None:
            keys = self._progress_keys[partitions] = kafka_batches.keys_for_partitions(PROGRESS_KEY_PREFIX, partitions)
        return progress_messages(report, keys, service.source_uri, service.clock.now())

    async def publish(self, entries: list[tuple[int, Message]]) -> None:
        """Sends outbox entries, waits for the broker's acknowledgement, then clears them from the outbox."""
        written = self.service.store.durable() if self.service.store is not None else None
        await self._finish_after(self._send_in_order(written, entries), entries)

    def _send_in_order(self, written: concurrent.futures.Future[None] | None, entries: list[tuple[int, Message]],
                       extra: Sequence[Message] = ()) -> asyncio.Future[list[asyncio.Future[Any]]]:
        """The entries handed to the producer once their transaction is in the database (``written``: the store's
        writer thread has it, ``SqliteStore.durable``) and the batch before them was handed over: an outbox entry
        never leaves before its commit, and the producer gets the batches in their order. Meanwhile the reader
        applies the next batch."""
        before = self._sending

        async def send() -> list[asyncio.Future[Any]]:
            if before is not None:
                await before
            if written is not None:
                try:
                    await asyncio.wait_for(asyncio.wrap_future(written), WRITE_WAIT_S)
                except TimeoutError:
                    log.error("a batch's transaction not committed by the writer thread within %.0f s: its messages "
                              "are not sent and the worker stops", WRITE_WAIT_S)
                    raise
            return await self._send(entries, extra)

        sending = self._sending = asyncio.ensure_future(send())
        return sending

    async def _finish_after(self, sending: Awaitable[list[asyncio.Future[Any]]],
                            entries: list[tuple[int, Message]]) -> None:
        await self._finish(await sending, entries)

    async def _send(self, entries: list[tuple[int, Message]],
                    extra: Sequence[Message] = ()) -> list[asyncio.Future[Any]]:
        """The outbox entries, then ``extra`` (messages not in the outbox), handed to the producer."""
        if not entries and not extra:
            return []
        out = self.out
        await out.topics(*{entry[1][0] for entry in entries}, *{message[0] for message in extra})
        for topic, key, value, headers in [message for _, message in entries] + list(extra):
            out.add(topic, value, key=key, headers=[(k, v.encode()) for k, v in headers.items()])
        return [future for future, _, _ in await out.send()]

    async def _finish(self, sent: list[asyncio.Future[Any]], entries: list[tuple[int, Message]]) -> None:
        if not sent:
            return
        await asyncio.gather(*sent)
        if self.service.store is not None and entries:
            self.service.store.acknowledge([seq for seq, _ in entries])


async def purge_expired_facts(container: Container, service: LinkageService, batch: LinkageBatch,
                              stop: asyncio.Event) -> None:
    """Retention (docs/privacy.md): source facts past their kind's period, decided reviews past theirs and children
    who left long ago go, a minute after start and then every interval, between batches. A worker-lifetime duty: it
    ends with ``stop``."""
    settings = container.settings
    if not (settings.fact_retention_years or settings.review_retention_days or settings.person_retention_years):
        return

    async def purge() -> None:
        try:
            await purge_in_steps(batch, service.purge_steps(
                settings.fact_retention_years, service.clock.now().date(), settings.review_retention_days,
                settings.person_retention_years, settings.retention_purge_slice))
        except Exception:  # the step's transaction rolled back; the next run retries (every() logs it)
            service.metrics.retention_runs.labels("failed").inc()
            raise

    await kafka_batches.every(settings.retention_purge_interval_s, purge, stop, name="retention purge",
                              first_after_s=min(60.0, settings.retention_purge_interval_s))


async def purge_in_steps(batch: LinkageBatch, steps: Iterator[list[tuple[int, Message]]]) -> None:
    """Each step of the purge under the batch lock, its outbox sent; between two steps the lock is let go, so a
    batch waiting for it runs first (asyncio's lock is first come, first served): a purge over the whole state
    holds the records (and the alerts behind them) up for one step at most, not for the whole run."""
    while True:
        async with batch.lock:
            entries = next(steps, None)
            if entries is None:
                return
            await batch.publish(entries)
        await asyncio.sleep(0)


async def run(container: Container, stop: asyncio.Event) -> None:
    """The worker until ``stop`` is set (or a send fails: then it raises, with the batch uncommitted)."""
    settings = container.settings
    service = container.linkage_service()
    producer = kafka_consumer.producer(settings)
    consumer = kafka_consumer.consumer(settings)
    reader = BatchConsumer(consumer, max_records=settings.batch_size, window_s=settings.batch_window_s,
                           name="linkage", time_ordered=settings.time_order, idle_s=settings.time_order_idle_s)
    consumer.subscribe([settings.records_topic, settings.decisions_topic, DELETIONS.name, DISCLOSURES.name],
                       listener=reader.listener())
    batch = LinkageBatch(service, producer, records_topic=settings.records_topic,
                         decisions_topic=settings.decisions_topic)
    batch.unread = lambda: reader.unread(settings.records_topic)
    await producer.start()
    try:
        if service.store is not None:  # committed before a crash but not acknowledged by the broker: sent now
            await batch.publish(service.store.pending())
        await consumer.start()
        purge = asyncio.create_task(purge_expired_facts(container, service, batch, stop))
        try:
            await reader.run(batch.apply, stop)
        finally:
            purge.cancel()
            await consumer.stop()  # leaves the group
    finally:
        await producer.stop()
        if service.store is not None:
            service.store.close()  # its checkpoint thread ends after the round in hand


def main() -> None:
    container = bootstrap()
    settings = container.settings
    kafka_batches.worker_logging(settings.log_level)
    kafka_batches.worker_priority(settings.cpu_nice)  # 0 unless set: docs/scaling.md, One machine
    kafka_batches.serve("linkage", lambda stop: run(container, stop), bootstrap=settings.kafka_bootstrap,
                        retry_max_s=settings.kafka_retry_max_s, client_options=settings.kafka_client_options(),
                        metrics_port=settings.metrics_port)


if __name__ == "__main__":
    main()
