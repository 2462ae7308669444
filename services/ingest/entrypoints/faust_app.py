"""The ingest worker: every ``source.*.v1`` topic in, ``ingest.records.v1`` and ``ingest.deadletter.v1`` out.

    python -m services.ingest.entrypoints.faust_app            # = worker --without-web -l <log_level>
    faust -A services.ingest.entrypoints.faust_app worker --without-web -l info
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Mapping
from functools import partial
from typing import Any, cast

import faust
from prometheus_client import start_http_server

from contracts.kafka_security import wait_for_broker
from contracts.lazy_app import lazy_app
from contracts.sources import SOURCE_SYSTEMS
from contracts.topics import ingest_deadletter, ingest_records, ingest_source_status
from contracts.topics.ingest_deadletter import H_ERROR_CLASS, H_SERVICE
from services.ingest.bootstrap import Container, bootstrap
from services.ingest.service_layer.handlers import Accepted, Duplicate, Rejected, SourceMessage
from services.ingest.service_layer.school_import import CSV_SERVICE

log = logging.getLogger("tsunagu.ingest")
_LEVELS = {"crit": logging.CRITICAL, "error": logging.ERROR, "warn": logging.WARNING, "info": logging.INFO,
           "debug": logging.DEBUG}


def _headers(raw: Any) -> list[tuple[str, bytes]]:
    if not raw:
        return []
    items = raw.items() if isinstance(raw, Mapping) else raw
    return [(str(k), bytes(v) if v is not None else b"") for k, v in items]


def create_app(container: Container) -> faust.App:
    settings = container.settings
    handler = container.ingest_handler()
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        broker_credentials=settings.faust_broker_credentials(),
        key_serializer="raw",
        value_serializer="raw",
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        producer_max_request_size=settings.producer_max_request_bytes,
        # Without linger every record is its own produce request (one socket write per event).
        producer_linger_ms=5,
        web_enabled=False,
        store="memory://",
        datadir=str(settings.data_dir / "faust"),
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.kafka_session_timeout_s / 5),
        consumer_group_instance_id=settings.kafka_group_instance_id,
    )
    sources = app.topic(*(s.topic for s in SOURCE_SYSTEMS.values()), key_type=bytes, value_type=bytes)
    records_name = ingest_records.TOPIC.name
    deadletters = app.topic(ingest_deadletter.TOPIC.name, key_type=bytes, value_type=bytes)

    def confirmed(dedup_key: tuple[str, str], sent: asyncio.Future[Any]) -> None:
        if not sent.cancelled() and sent.exception() is None:
            handler.dedup.confirm(dedup_key)

    # concurrency=1: with more, Faust can commit past an event still in flight (faust-streaming #606).
    # Batches: a batch's records are all queued before the loop runs again, so the producer sends them in a
    # few produce requests (one event at a time, nearly every record was a request of its own); take_events
    # acks a batch only once the next is asked for, after its sends were queued.
    @app.agent(sources, concurrency=1)
    async def ingest(stream: Any) -> None:  # take_events is not on StreamT
        async for events in stream.take_events(settings.batch_max, within=settings.batch_window_s):
            for event in events:
                await handle(event.message)

    async def handle(message: Any) -> None:
        outcome = handler.handle(SourceMessage(
            topic=message.topic, partition=message.partition, offset=message.offset,
            key=message.key, value=message.value, headers=_headers(message.headers),
            timestamp=message.timestamp,
        ))
        # Sends are buffered; Faust flushes the producer before it commits the source offset, so an
        # event is never committed before its record or dead letter is on the broker.
        if isinstance(outcome, Accepted):
            # Straight to the app's producer: Topic.send adds a FutureMessage and sensor calls per
            # record. The producer is the one Faust flushes before it commits, so nothing changes there.
            sent = await app.producer.send(records_name, outcome.key, outcome.value, None, None, None)
            cast(asyncio.Future[Any], sent).add_done_callback(partial(confirmed, outcome.dedup_key))
        elif isinstance(outcome, Rejected):
            log.warning("ingest: dead letter %s from %s[%d]@%d: %s", outcome.error_class, message.topic,
                        message.partition, message.offset, outcome.reason)
            await deadletters.send(key=outcome.key, value=outcome.value, headers=outcome.headers)
        elif isinstance(outcome, Duplicate):
            log.debug("ingest: duplicate event id from %s[%d]@%d", message.topic, message.partition,
                      message.offset)

    # The school importer is a short command no Prometheus scrapes: the worker counts its dead letters, so
    # tsunagu_ingest_events_failed_total holds the refusals of all three ways in (HTTP counts its own).
    @app.agent(deadletters, concurrency=1)
    async def count_import_refusals(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            headers = _headers(event.message.headers)
            if (H_SERVICE, CSV_SERVICE.encode()) in headers:
                error_class = next((v.decode("ascii", "replace") for k, v in headers if k == H_ERROR_CLASS), "")
                handler.metrics.refused(error_class, "csv")

    # Acknowledged ids reach disk within this interval; after a kill -9 only events acknowledged in the
    # last interval and not yet committed are emitted again (same record_id; downstream drops them).
    @app.timer(interval=0.25)
    async def flush_dedup() -> None:
        handler.dedup.flush()

    # Freshness per source system (docs/ingest.md): only systems heard from since start; casework shows it to staff.
    status_name = ingest_source_status.TOPIC.name

    @app.timer(interval=settings.source_status_interval_s)
    async def report_source_status() -> None:
        for key, value in handler.source_status():
            await app.producer.send(status_name, key, value, None, None, None)

    @app.task
    async def on_start() -> None:
        # Faust's worker leaves the root logger at DEBUG (its handlers filter), so aiokafka and Faust build
        # a debug record for every message sent and received (about 7 % of the worker's CPU in a profile).
        level = _LEVELS[settings.log_level]
        for name in ("", "aiokafka", "faust", "mode"):
            logging.getLogger(name).setLevel(level)
        start_http_server(settings.metrics_port, addr=settings.metrics_host)
        log.info("ingest: metrics on %s:%d/metrics", settings.metrics_host, settings.metrics_port)

    return app


__getattr__ = lazy_app(lambda: create_app(bootstrap()))  # ``faust -A``'s ``app``, built on first use


def main(argv: list[str] | None = None) -> None:
    container = bootstrap()
    settings = container.settings
    args = argv if argv is not None else sys.argv[1:]
    if not args:
        args = ["worker", "--without-web", "-l", settings.log_level]
    if args[0] == "worker":
        logging.basicConfig(level=_LEVELS[settings.log_level],
                            format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s")
        wait_for_broker(settings.kafka_bootstrap, settings.kafka_retry_max_s, settings.kafka_client_options(),
                        logger="tsunagu.ingest")
    try:
        app = create_app(container)
        sys.argv = [sys.argv[0], *args]  # faust's App.main reads its command line from sys.argv
        app.main()
    finally:
        container.close()


if __name__ == "__main__":
    main()
