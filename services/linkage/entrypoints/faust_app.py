"""The linkage worker: ingest.records.v1 and linkage.decisions.v1 in; facts, child profiles, reviews out.

    python -m services.linkage.entrypoints.faust_app          # worker (metrics on TSUNAGU_LINKAGE_METRICS_PORT)
    faust -A services.linkage.entrypoints.faust_app worker --without-web -l info
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import faust
from prometheus_client import start_http_server

from contracts.kafka_security import wait_for_broker
from contracts.lazy_app import lazy_app
from contracts.topics.privacy_deletions import TOPIC as DELETIONS
from services.linkage.bootstrap import Container, bootstrap
from services.linkage.service_layer.handlers import Incoming
from services.linkage.service_layer.ports import Message
from services.linkage.service_layer.privacy import handle_deletions

log = logging.getLogger("tsunagu.linkage")


def _incoming(event: Any) -> Incoming:
    msg = event.message
    return Incoming(msg.value, msg.key, msg.topic, msg.partition, msg.offset)


def create_app(container: Container) -> faust.App:
    settings = container.settings
    service = container.linkage_service()
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        broker_credentials=settings.faust_broker_credentials(),
        datadir=str(settings.data_dir / "faust"),
        value_serializer="raw",
        key_serializer="raw",
        topic_allow_declare=True,
        topic_disable_leader=False,
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        processing_guarantee="at_least_once",
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.kafka_session_timeout_s / 5),
        consumer_group_instance_id=settings.kafka_group_instance_id,
    )
    records_topic = app.topic(settings.records_topic, value_type=bytes, key_type=bytes)
    decisions_topic = app.topic(settings.decisions_topic, value_type=bytes, key_type=bytes)
    deletions_topic = app.topic(DELETIONS.name, value_type=bytes, key_type=bytes)
    send_lock = asyncio.Lock()

    async def publish(entries: list[tuple[int, Message]]) -> None:
        """Sends outbox entries, waits for the broker's acknowledgement, then clears them from the outbox."""
        if not entries:
            return
        async with send_lock:
            futures = []
            for _, (topic, key, value, headers) in entries:
                futures.append(await app.producer.send(topic, key, value, partition=None, timestamp=None,
                                                       headers=[(k, v.encode()) for k, v in headers.items()]))
            await asyncio.gather(*futures)
            if service.store is not None:
                service.store.acknowledge([seq for seq, _ in entries])

    @app.agent(records_topic, concurrency=1)
    async def link_records(stream: Any) -> None:
        async for events in stream.take_events(settings.batch_size, within=settings.batch_window_s):
            await publish(service.handle_records([_incoming(e) for e in events]))

    @app.agent(decisions_topic, concurrency=1)
    async def apply_decisions(stream: Any) -> None:
        async for events in stream.take_events(50, within=settings.batch_window_s):
            await publish(service.handle_decisions([_incoming(e) for e in events]))

    @app.agent(deletions_topic, concurrency=1)
    async def forget_persons(stream: Any) -> None:
        """Deletion requests (削除): the child leaves the state; retractions and tombstones go out (docs/privacy.md)."""
        async for events in stream.take_events(50, within=settings.batch_window_s):
            await publish(handle_deletions(service, [_incoming(e) for e in events]))

    @app.task
    async def purge_expired_facts() -> None:
        """Retention (docs/privacy.md): source facts past their kind's period go, a minute after start and then
        every interval. Runs on the event loop like the agents, so it never interleaves with a batch."""
        if not settings.fact_retention_years:
            return
        await asyncio.sleep(min(60.0, settings.retention_purge_interval_s))
        while True:
            try:
                await publish(service.purge_expired(settings.fact_retention_years, service.clock.now().date()))
            except Exception as exc:  # the transaction rolled back; the next run retries
                service.metrics.retention_runs.labels("failed").inc()
                log.error("retention purge failed (%s)", type(exc).__name__)
            await asyncio.sleep(settings.retention_purge_interval_s)

    @app.task
    async def quiet_client_logs() -> None:
        # Faust's worker leaves the root logger at DEBUG (its handlers filter), so aiokafka and Faust build a
        # debug record for every message sent and received (~8 % of the worker's CPU in a profile; ingest too).
        level = {"crit": "CRITICAL", "warn": "WARNING"}.get(settings.log_level, settings.log_level.upper())
        for name in ("", "aiokafka", "faust", "mode"):
            logging.getLogger(name).setLevel(level)

    @app.task
    async def resend_outbox() -> None:
        """Messages committed before a crash but not acknowledged by the broker are sent now."""
        if service.store is not None:
            await publish(service.store.pending())

    return app


__getattr__ = lazy_app(lambda: create_app(bootstrap()))  # ``faust -A``'s ``app``, built on first use


def main() -> None:
    container = bootstrap()
    settings = container.settings
    level = {"crit": "CRITICAL", "warn": "WARNING"}.get(settings.log_level, settings.log_level.upper())
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    wait_for_broker(settings.kafka_bootstrap, settings.kafka_retry_max_s, settings.kafka_client_options(),
                    logger="tsunagu.linkage")
    app = create_app(container)
    start_http_server(settings.metrics_port, addr="127.0.0.1")
    if len(sys.argv) == 1:
        sys.argv += ["worker", "--without-web", "-l", settings.log_level]
    app.main()


if __name__ == "__main__":
    main()
