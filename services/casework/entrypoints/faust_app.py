"""The casework worker: scoring.flags.v1 and linkage.children.v1 in, alerts (and the outbox) out.

    python -m services.casework.entrypoints.faust_app        # = faust worker --without-web -l info
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

import faust
from prometheus_client import start_http_server

from contracts.topics.linkage_children import TOPIC as CHILDREN_TOPIC
from contracts.topics.linkage_review import REVIEW_TOPIC
from contracts.topics.scoring_flags import TOPIC as FLAGS_TOPIC
from services.casework import metrics
from services.casework.bootstrap import Container, bootstrap
from services.casework.config import CaseworkSettings
from services.casework.service_layer.worker import Processed, WorkerHandlers

log = logging.getLogger("tsunagu.casework.worker")


def create_app(container: Container) -> faust.App:
    settings = container.settings
    handlers = WorkerHandlers(container)
    app = faust.App(
        settings.app_id, broker=f"kafka://{settings.kafka_bootstrap}", value_serializer="raw",
        key_serializer="raw", topic_allow_declare=True, datadir=str(settings.data_dir),
        web_enabled=False, processing_guarantee="at_least_once", consumer_auto_offset_reset="earliest",
        producer_acks=-1, broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.kafka_session_timeout_s / 3),
    )
    lock = asyncio.Lock()

    async def send(topic: str, key: str, value: bytes) -> None:
        fut = await app.topic(topic, value_type=bytes, key_type=bytes).send(key=key.encode(), value=value)
        await fut

    async def publish() -> None:
        async with lock:  # one publisher at a time keeps the outbox order
            await handlers.publish_outbox(send)

    async def process_until_done(kind: str, value: bytes | None, where: str) -> Processed:
        # Invalid input is skipped inside process(); anything raised here is infrastructure (database
        # down, lock timeout): wait and retry the same message rather than skip it or crash the agent.
        delay = 0.5
        while True:
            try:
                return await asyncio.to_thread(handlers.process, kind, value, where=where)
            except Exception as exc:
                metrics.FLAGS_FAILED.labels(reason="retrying").inc()
                log.error("processing %s at %s failed (%s); retrying in %.1fs", kind, where,
                          type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def make_agent(topic_name: str, kind: str) -> None:
        topic = app.topic(settings.topic(topic_name), value_type=bytes, key_type=bytes)

        async def consume(stream: Any) -> None:
            async for event in stream.events():
                message = event.message
                where = f"{message.topic}-{message.partition}@{message.offset}"
                processed = await process_until_done(kind, event.value, where)
                if processed.alert_ids:
                    try:
                        await publish()
                    except Exception:  # the alert is in the outbox: the timer publishes it later
                        log.exception("alert publish failed; left in the outbox")

        app.agent(topic, name=f"casework-{kind}", concurrency=1)(consume)

    make_agent(FLAGS_TOPIC.name, "flags")
    make_agent(CHILDREN_TOPIC.name, "profile")
    make_agent(REVIEW_TOPIC.name, "review")

    @app.timer(interval=settings.outbox_interval_s)
    async def relay_outbox() -> None:
        try:
            await publish()
        except Exception:  # the next tick retries; the outbox keeps the events
            log.exception("outbox publish failed")

    @app.task
    async def serve_metrics() -> None:
        start_http_server(settings.metrics_port, addr="127.0.0.1")
        log.info("metrics on 127.0.0.1:%s/metrics", settings.metrics_port)

    return app


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    container = bootstrap(CaseworkSettings())
    app = create_app(container)
    args = argv if argv is not None else sys.argv[1:]
    sys.argv = [sys.argv[0], *(args or ["worker", "--without-web", "-l", "info"])]
    app.main()


if __name__ == "__main__":
    main()
