"""The casework worker: flags, profiles, review cases, source status, evaluation's reports and the answers to
disclosure requests in; alerts (and the rest of the outbox) out.

    python -m services.casework.entrypoints.worker          # metrics on 127.0.0.1:TSUNAGU_CASEWORK_METRICS_PORT

A consumer group member (``APP_ID``) reading batches of records with aiokafka (``contracts/kafka_batches.py``), not
Faust agents: casework keeps no Faust table (its state is the case database), and Faust's per-message stream machinery
and idle wake-ups were most of the worker's CPU (docs/scaling.md). Each batch — records of all six input topics, in
Faust's delivery order; after a fetch that brought few, what arrives within ``BATCH_LINGER_S`` joins it (input that
trickles in is applied tens of records per transaction, not a few) — goes through ``WorkerHandlers.process_records`` in
**one** transaction of the case database (PostgreSQL, or SQLite for one instance), the alerts and other events it raises
written to the outbox in the same transaction; then the batch's offsets are committed. The outbox relay publishes from
the database on its own (woken by a batch that raised alerts, and every ``OUTBOX_INTERVAL_S`` for the web's outcomes and
decisions), so a kill anywhere is safe: a batch not committed is handled again (every effect is keyed by its input
event: a no-op), and outbox rows not marked published are sent again (alert ids are kept; consumers dedupe).

The worker's other duties run as tasks that end with it: the held-listing gauges (区が未確定の対象者) and the
retention purge. SIGTERM/SIGINT: the batch in hand is finished and committed, the outbox relayed once more, the
group left, the producer flushed.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from contracts import kafka_batches
from contracts.kafka_batches import BatchConsumer, Record
from contracts.topics.evaluation_reports import TOPIC as REPORTS_TOPIC
from contracts.topics.ingest_source_status import TOPIC as SOURCE_STATUS_TOPIC
from contracts.topics.linkage_children import TOPIC as CHILDREN_TOPIC
from contracts.topics.linkage_review import REVIEW_TOPIC
from contracts.topics.privacy_disclosures import REPLY_TOPIC as DISCLOSURE_REPLIES_TOPIC
from contracts.topics.scoring_flags import TOPIC as FLAGS_TOPIC
from services.casework.adapters import kafka_consumer
from services.casework.bootstrap import Container, bootstrap
from services.casework.config import CaseworkSettings
from services.casework.service_layer import retention
from services.casework.service_layer.worker import Item, Processed, WorkerHandlers

log = logging.getLogger("tsunagu.casework.worker")
# input topic (without the prefix) → the kind WorkerHandlers knows it by
KINDS = {FLAGS_TOPIC.name: "flags", CHILDREN_TOPIC.name: "profile", REVIEW_TOPIC.name: "review",
         SOURCE_STATUS_TOPIC.name: "source_status",  # データの鮮度 (ingest's reports per source system)
         REPORTS_TOPIC.name: "report",  # 報告書 (evaluation's weekly and period reports, for HQ)
         DISCLOSURE_REPLIES_TOPIC.name: "disclosure_reply"}  # 開示: linkage's and scoring's answers


class Stopped(Exception):
    """The worker was asked to stop while a batch could not be applied (database down): the batch stays
    uncommitted and is read again at the next start."""


class CaseworkBatch:
    """One batch of records through ``WorkerHandlers.process_records`` in one transaction; returns when it is
    committed (then the caller commits the offsets). A failure that is not the message's fault (database down, lock
    timeout) is retried with a growing pause, the same records, until it succeeds or the worker is stopped; invalid
    messages are counted and skipped inside ``process_records``."""

    def __init__(self, handlers: WorkerHandlers, kinds: dict[str, str], outbox_ready: asyncio.Event,
                 stop: asyncio.Event, *, apply: Callable[[Sequence[Item]], Awaitable[list[Processed]]] | None = None,
                 max_delay_s: float = 30.0) -> None:
        self.handlers = handlers
        self.kinds = kinds  # topic as subscribed → kind
        self.outbox_ready = outbox_ready
        self.stop = stop
        self.apply = apply or self._in_thread
        self.max_delay_s = max_delay_s

    async def _in_thread(self, items: Sequence[Item]) -> list[Processed]:
        # On the event loop the transaction would stall fetches, heartbeats and the relay while it holds the database.
        return await asyncio.to_thread(self.handlers.process_records, items)

    async def __call__(self, records: Sequence[Record]) -> None:
        items = [(self.kinds[r.topic], r.value, f"{r.topic}-{r.partition}@{r.offset}") for r in records]
        delay = 0.5
        while True:
            try:
                processed = await self.apply(items)
                break
            except Exception as exc:
                self.handlers.c.metrics.flags_failed.labels(reason="retrying").inc()
                log.error("processing a batch of %d message(s) failed (%s); retrying in %.1fs", len(items),
                          type(exc).__name__, delay)
                try:
                    await asyncio.wait_for(self.stop.wait(), timeout=delay)
                except TimeoutError:
                    delay = min(delay * 2, self.max_delay_s)
                    continue
                raise Stopped from exc
        if any(p.alert_ids for p in processed):
            self.outbox_ready.set()  # the relay publishes; the reader goes on with the next batch


def send_many_with(producer: Any) -> Callable[[list[tuple[str, str, bytes | None]]], Awaitable[None]]:
    """The relay's sender: every message queued, then every acknowledgement awaited (acks=all) before the outbox
    rows are marked published. A value None is a tombstone."""

    async def send_many(batch: list[tuple[str, str, bytes | None]]) -> None:
        sent = [await producer.send(topic, value, key=key.encode()) for topic, key, value in batch]
        await asyncio.gather(*sent)

    return send_many


async def relay_outbox(handlers: WorkerHandlers, send_many: Any, ready: asyncio.Event, stop: asyncio.Event,
                       interval_s: float) -> None:
    """One publisher, in outbox order: woken by new alerts, and every interval for the web's outcomes and clerical
    decisions (the web process never talks to Kafka). After ``stop`` it publishes once more and ends."""
    while True:
        if not ready.is_set() and not stop.is_set():
            waits = [asyncio.ensure_future(ready.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waits, timeout=interval_s, return_when=asyncio.FIRST_COMPLETED)
            for w in waits:
                w.cancel()
        ready.clear()
        last = stop.is_set()
        try:
            await handlers.publish_outbox(send_many)
        except Exception:  # the outbox keeps the events; the next round (or the next start) retries
            log.exception("outbox publish failed")
            if not last:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=1.0)
                except TimeoutError:
                    pass
        if last:
            return


def duties(container: Container, handlers: WorkerHandlers,
           stop: asyncio.Event) -> list[Callable[[], Coroutine[Any, Any, None]]]:
    """The worker's periodic duties besides the relay, each a coroutine function running until ``stop``."""
    settings = container.settings

    async def count_held_listings() -> None:
        # 区が未確定の対象者 (docs/casework.md): a child whose ward never comes must show on the gauges and alert.
        try:
            await asyncio.to_thread(handlers.refresh_held_gauges)
        except Exception:  # the gauges keep their last value; the next round retries
            log.exception("counting held listings failed")

    policy = retention.RetentionPolicy(settings.closed_case_retention_days, settings.outbox_retention_days)

    async def purge_past_retention() -> None:
        # 保有の制限 (docs/privacy.md): closed cases past the city's retention period, decided review cases and
        # published outbox rows go. Counts only in the log.
        try:
            await asyncio.to_thread(retention.purge, container.sessions, policy, container.clock(),
                                    metrics=container.metrics)
        except Exception as exc:  # nothing half-done stays: each batch is one transaction; the next run retries
            container.metrics.retention_runs.labels(outcome="failed").inc()
            log.error("retention purge failed (%s); next run in %.0fs", type(exc).__name__,
                      settings.retention_purge_interval_s)

    async def held() -> None:
        await kafka_batches.every(settings.held_gauge_interval_s, count_held_listings, stop, name="held listings",
                                  first_after_s=0)

    async def purge() -> None:
        if settings.retention_purge_enabled:  # a minute after start, then every interval
            interval = settings.retention_purge_interval_s
            await kafka_batches.every(interval, purge_past_retention, stop, name="retention purge",
                                      first_after_s=min(60.0, interval))

    return [held, purge]


def tune_gc(young_threshold: int) -> None:
    """Runs the cyclic garbage collector's youngest generation less often (``GC_YOUNG_THRESHOLD``; the older ones'
    thresholds unchanged): what a batch allocates is freed by reference counting when the batch ends, and what
    does form cycles (aiokafka's futures, tracebacks) waits a little longer to be collected."""
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(young_threshold, older, oldest)


async def run(container: Container, stop: asyncio.Event) -> None:
    """The worker until ``stop`` is set (or a send or the reader fails: then it raises, the batch uncommitted)."""
    settings: CaseworkSettings = container.settings
    tune_gc(settings.gc_young_threshold)
    handlers = WorkerHandlers(container)
    kinds = {settings.topic(name): kind for name, kind in KINDS.items()}
    producer = kafka_consumer.producer(settings)
    consumer = kafka_consumer.consumer(settings)
    reader = BatchConsumer(consumer, max_records=settings.batch_max, window_s=settings.batch_window_s,
                           linger_s=settings.batch_linger_s, name="casework")
    consumer.subscribe(list(kinds), listener=reader.listener())
    outbox_ready = asyncio.Event()
    outbox_ready.set()  # what a stopped worker left unpublished goes out at once
    await producer.start()
    tasks: list[asyncio.Task[None]] = []
    try:
        relay = asyncio.create_task(relay_outbox(handlers, send_many_with(producer), outbox_ready, stop,
                                                 settings.outbox_interval_s))
        tasks = [relay, *(asyncio.create_task(duty()) for duty in duties(container, handlers, stop))]
        await consumer.start()
        try:
            await reader.run(CaseworkBatch(handlers, kinds, outbox_ready, stop), stop)
        except Stopped:
            log.warning("casework: stopped while the batch in hand could not be applied; it was not committed")
        finally:
            stop.set()
            await consumer.stop()  # leaves the group: its partitions go to the other members at once
            try:
                await asyncio.wait_for(asyncio.shield(relay), timeout=30)  # the last round of the relay
            except Exception:
                log.warning("casework: the outbox relay did not finish; the rest goes out at the next start")
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await producer.stop()


def main() -> None:
    settings = CaseworkSettings()
    kafka_batches.worker_logging(settings.log_level)
    kafka_batches.worker_priority(settings.cpu_nice)  # 0 unless set: docs/scaling.md, One machine
    built: list[Container] = []  # bootstrapped once the broker answers (kafka_batches.serve's ``ready``)
    kafka_batches.serve("casework", lambda stop: run(built[0], stop), bootstrap=settings.kafka_bootstrap,
                        retry_max_s=settings.kafka_retry_max_s, client_options=settings.kafka_client_options(),
                        metrics_port=settings.metrics_port, ready=lambda: built.append(bootstrap(settings)))


if __name__ == "__main__":
    main()
