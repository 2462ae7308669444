"""The evaluation worker: casework.alerts.v1, casework.outcomes.v1 and scoring.flags.v1 in, the store updated.

    python -m services.evaluation.entrypoints.faust_app        # = faust worker --without-web -l info
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from typing import Any

import faust
from prometheus_client import start_http_server

from contracts.topics.casework import ALERTS_TOPIC, OUTCOMES_TOPIC
from contracts.topics.privacy_deletions import TOPIC as DELETIONS_TOPIC
from contracts.topics.privacy_optouts import TOPIC as OPTOUTS_TOPIC
from contracts.topics.scoring_flags import TOPIC as FLAGS_TOPIC
from services.evaluation.bootstrap import Container, bootstrap
from services.evaluation.config import EvaluationSettings
from services.evaluation.domain.schedule import next_due
from services.evaluation.service_layer import retention
from services.evaluation.service_layer.scheduled import run_due
from services.evaluation.service_layer.worker import process_batch

log = logging.getLogger("tsunagu.evaluation.worker")
INPUTS = {"alerts": ALERTS_TOPIC.name, "outcomes": OUTCOMES_TOPIC.name, "flags": FLAGS_TOPIC.name,
          "deletions": DELETIONS_TOPIC.name, "optouts": OPTOUTS_TOPIC.name}  # 削除, 利用停止: docs/privacy.md


def create_app(container: Container) -> faust.App:
    settings = container.settings
    app = faust.App(
        settings.app_id, broker=f"kafka://{settings.kafka_bootstrap}", value_serializer="raw",
        broker_credentials=settings.faust_broker_credentials(),
        key_serializer="raw", topic_allow_declare=True, datadir=str(settings.data_dir),
        web_enabled=False, processing_guarantee="at_least_once", consumer_auto_offset_reset=settings.auto_offset_reset,
        broker_session_timeout=settings.kafka_session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.kafka_session_timeout_s / 3),
    )
    # One writer at a time: a step and its listing arrive on two agents and may create the same case row.
    store_lock = asyncio.Lock()

    async def apply_until_done(kind: str, items: list[tuple[bytes | None, str]]) -> None:
        # Invalid input is skipped inside process_batch(); anything raised here is infrastructure (database
        # down, locked): wait and retry the same messages rather than skip them or crash the agent.
        delay = 0.5
        while True:
            try:
                async with store_lock:
                    await asyncio.to_thread(process_batch, container, kind, items)
                return
            except Exception as exc:
                container.metrics.events_failed.labels(kind=kind, reason="retrying").inc()
                log.error("applying %d %s message(s) failed (%s); retrying in %.1fs", len(items), kind,
                          type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    def make_agent(kind: str, topic_name: str) -> None:
        topic = app.topic(topic_name, value_type=bytes, key_type=bytes)

        async def consume(stream: Any) -> None:
            # take_events acks only after the batch was handed back: a crash mid-batch replays it.
            async for events in stream.take_events(settings.batch_max, within=settings.batch_window_s):
                items = [(e.value, f"{e.message.topic}-{e.message.partition}@{e.message.offset}") for e in events]
                await apply_until_done(kind, items)

        app.agent(topic, name=f"evaluation-{kind}", concurrency=1)(consume)

    for kind, topic_name in INPUTS.items():
        make_agent(kind, topic_name)

    @app.task
    async def scheduled_reports() -> None:
        """週次報告書 (city and each ward), the period report and the interim/final reports on the schedule, once per
        period (service_layer/scheduled.py)."""
        if not settings.schedule_enabled:
            return
        owner = f"{socket.gethostname()}:{os.getpid()}"[:120]
        log.info("scheduled reports: every %s %s JST; next due %s", settings.schedule_weekday,
                 settings.schedule_time.strftime("%H:%M"), next_due(container.clock(), container.schedule).isoformat())
        for milestone in container.schedule.milestones:
            covers = milestone.covers()
            log.info("scheduled reports: %s report on %s, covering %s..%s", milestone.kind, milestone.on.isoformat(),
                     covers.start.isoformat(), covers.last.isoformat())
        while True:  # a duty for the worker's lifetime (no deadline by design): it ends when the worker stops
            try:
                for done in await asyncio.to_thread(run_due, container, owner):
                    if done.outcome not in ("done", "busy"):
                        log.info("scheduled %s report %s: %s %s", done.kind, done.key, done.outcome, done.detail)
            except Exception as exc:  # the store is away: the next check tries again
                log.error("scheduled reports: check failed (%s)", type(exc).__name__)
            await asyncio.sleep(settings.schedule_check_s)

    @app.task
    async def purge_past_retention() -> None:
        """保有の制限 (docs/privacy.md): closed cases past CASE_RETENTION_DAYS go, a minute after start and then every
        interval (service_layer/retention.py). Counts only in the log."""
        if not settings.retention_purge_enabled:
            return
        wait = min(60.0, settings.retention_purge_interval_s)
        while True:  # a duty for the worker's lifetime: it ends when the worker stops
            await asyncio.sleep(wait)
            wait = settings.retention_purge_interval_s
            try:
                await asyncio.to_thread(retention.purge, container.uow(), container.clock(),
                                        settings.case_retention_days, metrics=container.metrics)
                container.metrics.retention_runs.labels(outcome="ok").inc()
            except Exception as exc:  # one transaction: nothing half-done; the next run retries
                container.metrics.retention_runs.labels(outcome="failed").inc()
                log.error("retention purge failed (%s)", type(exc).__name__)

    @app.task
    async def serve_metrics() -> None:
        if settings.metrics_port:
            start_http_server(settings.metrics_port, addr="127.0.0.1")
            log.info("metrics on 127.0.0.1:%s/metrics", settings.metrics_port)

    return app


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app(bootstrap(EvaluationSettings()))
    args = argv if argv is not None else sys.argv[1:]
    sys.argv = [sys.argv[0], *(args or ["worker", "--without-web", "-l", "info"])]
    app.main()


if __name__ == "__main__":
    main()
