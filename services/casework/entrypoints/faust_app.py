"""The casework worker: flags, profiles, review cases, source status and evaluation's reports in;
alerts (and the outbox) out.

    python -m services.casework.entrypoints.faust_app        # = faust worker --without-web -l info
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import faust
from prometheus_client import start_http_server

from contracts.kafka_security import wait_for_broker
from contracts.topics.evaluation_reports import TOPIC as REPORTS_TOPIC
from contracts.topics.ingest_source_status import TOPIC as SOURCE_STATUS_TOPIC
from contracts.topics.linkage_children import TOPIC as CHILDREN_TOPIC
from contracts.topics.linkage_review import REVIEW_TOPIC
from contracts.topics.scoring_flags import TOPIC as FLAGS_TOPIC
from services.casework.bootstrap import Container, bootstrap
from services.casework.config import CaseworkSettings
from services.casework.service_layer import retention
from services.casework.service_layer.worker import Processed, WorkerHandlers

log = logging.getLogger("tsunagu.casework.worker")


def create_app(container: Container) -> faust.App:
    settings = container.settings
    handlers = WorkerHandlers(container)
    app = faust.App(
        settings.app_id, broker=f"kafka://{settings.kafka_bootstrap}", value_serializer="raw",
        broker_credentials=settings.faust_broker_credentials(),
        key_serializer="raw", topic_allow_declare=True, datadir=str(settings.data_dir),
        web_enabled=False, processing_guarantee="at_least_once", consumer_auto_offset_reset=settings.auto_offset_reset,
        producer_acks=-1, broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.kafka_session_timeout_s / 5),
        consumer_group_instance_id=settings.kafka_group_instance_id,
    )
    outbox_ready = asyncio.Event()
    topics: dict[str, Any] = {}

    async def send_many(batch: list[tuple[str, str, bytes | None]]) -> None:
        futures = []
        for name, key, value in batch:
            if value is None:  # a tombstone: the raw codec cannot serialise None, so past the topic's codec
                futures.append(await app.producer.send(name, key.encode(), None, partition=None, timestamp=None,
                                                       headers=None))
                continue
            topic = topics.get(name) or topics.setdefault(name, app.topic(name, value_type=bytes, key_type=bytes))
            futures.append(await topic.send(key=key.encode(), value=value))
        await asyncio.gather(*futures)  # every message acknowledged before the outbox rows are marked

    async def process_until_done(kind: str, items: list[tuple[bytes | None, str]]) -> list[Processed]:
        # Invalid input is skipped inside process_batch(); anything raised here is infrastructure (database
        # down, lock timeout): wait and retry the same messages rather than skip them or crash the agent.
        delay = 0.5
        while True:
            try:
                return await asyncio.to_thread(handlers.process_batch, kind, items)
            except Exception as exc:
                container.metrics.flags_failed.labels(reason="retrying").inc()
                log.error("processing %d %s message(s) failed (%s); retrying in %.1fs", len(items), kind,
                          type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def make_agent(topic_name: str, kind: str) -> None:
        topic = app.topic(settings.topic(topic_name), value_type=bytes, key_type=bytes)

        async def consume(stream: Any) -> None:
            # Small batches (one transaction each) keep up with bursts; take_events acks only after the
            # batch was handed back, so a crash mid-batch replays it (at-least-once, idempotent).
            async for events in stream.take_events(settings.batch_max, within=settings.batch_window_s):
                items = [(e.value, f"{e.message.topic}-{e.message.partition}@{e.message.offset}") for e in events]
                processed = await process_until_done(kind, items)
                if any(p.alert_ids for p in processed):
                    outbox_ready.set()  # the relay publishes; the agent goes on with the next batch

        app.agent(topic, name=f"casework-{kind}", concurrency=1)(consume)

    make_agent(FLAGS_TOPIC.name, "flags")
    make_agent(CHILDREN_TOPIC.name, "profile")
    make_agent(REVIEW_TOPIC.name, "review")
    make_agent(SOURCE_STATUS_TOPIC.name, "source_status")  # データの鮮度 (ingest's reports per source system)
    make_agent(REPORTS_TOPIC.name, "report")  # 報告書 (evaluation's weekly and period reports, for HQ)

    @app.task
    async def relay_outbox() -> None:
        # One publisher, in outbox order: woken by new alerts, and every interval for the web's outcomes
        # and clerical decisions (the web process never talks to Kafka).
        while True:
            try:
                await asyncio.wait_for(outbox_ready.wait(), timeout=settings.outbox_interval_s)
            except TimeoutError:
                pass
            outbox_ready.clear()
            try:
                await handlers.publish_outbox(send_many)
            except Exception:  # the outbox keeps the events; the next round retries
                log.exception("outbox publish failed")
                await asyncio.sleep(1.0)

    @app.task
    async def count_held_listings() -> None:
        # 区が未確定の対象者 (docs/casework.md): a child whose ward never comes must show on the gauges and alert.
        # A duty for the worker's lifetime (no deadline by design): it ends when the worker stops.
        while True:
            try:
                await asyncio.to_thread(handlers.refresh_held_gauges)
            except Exception:  # the gauges keep their last value; the next round retries
                log.exception("counting held listings failed")
            await asyncio.sleep(settings.held_gauge_interval_s)

    @app.task
    async def purge_past_retention() -> None:
        # 保有の制限 (docs/privacy.md): closed cases past the city's retention period, decided review cases and
        # published outbox rows go, once a minute after start and then every interval. Counts only in the log.
        if not settings.retention_purge_enabled:
            return
        policy = retention.RetentionPolicy(settings.closed_case_retention_days, settings.outbox_retention_days)
        await asyncio.sleep(min(60.0, settings.retention_purge_interval_s))
        while True:
            try:
                await asyncio.to_thread(retention.purge, container.sessions, policy, container.clock(),
                                        metrics=container.metrics)
            except Exception as exc:  # nothing half-done stays: each batch is one transaction; the next run retries
                container.metrics.retention_runs.labels(outcome="failed").inc()
                log.error("retention purge failed (%s); next run in %.0fs", type(exc).__name__,
                          settings.retention_purge_interval_s)
            await asyncio.sleep(settings.retention_purge_interval_s)

    @app.task
    async def quiet_client_logs() -> None:
        # Faust's worker leaves the root logger at DEBUG (its handlers filter), so aiokafka and Faust build a
        # debug record for every message sent and received (~8 % of the worker's CPU in a profile; ingest too).
        for name in ("", "aiokafka", "faust", "mode"):
            logging.getLogger(name).setLevel(logging.INFO)  # the worker runs with -l info

    @app.task
    async def serve_metrics() -> None:
        start_http_server(settings.metrics_port, addr="127.0.0.1")
        log.info("metrics on 127.0.0.1:%s/metrics", settings.metrics_port)

    return app


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = CaseworkSettings()
    wait_for_broker(settings.kafka_bootstrap, settings.kafka_retry_max_s, settings.kafka_client_options(),
                    logger="tsunagu.casework")
    container = bootstrap(settings)
    app = create_app(container)
    args = argv if argv is not None else sys.argv[1:]
    sys.argv = [sys.argv[0], *(args or ["worker", "--without-web", "-l", "info"])]
    app.main()


if __name__ == "__main__":
    main()
