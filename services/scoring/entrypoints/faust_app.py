"""Scoring worker: ``python -m services.scoring.entrypoints.faust_app`` (or ``faust -A … worker``)."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from typing import Any

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError

from services.scoring.adapters.faust_worker import build_app
from services.scoring.adapters.rulebook import RulebookError
from services.scoring.bootstrap import bootstrap

try:
    service = bootstrap()
except RulebookError as _exc:
    sys.exit(f"tsunagu-scoring: refusing to start: {_exc}")

app = build_app(service)
log = logging.getLogger("tsunagu.scoring")


def wait_for_broker(bootstrap: str, max_delay: float, options: dict[str, Any] | None = None) -> None:
    """Blocks until the broker answers a metadata request, retrying with backoff (0.5 s, doubling up to
    ``max_delay``) instead of exiting when the worker starts before its broker; SIGTERM or Ctrl-C stop it."""
    client_log = logging.getLogger("aiokafka")
    level, delay = client_log.level, 0.5
    client_log.setLevel(logging.CRITICAL)  # one line per attempt, ours, instead of the client's errors
    try:
        while True:
            try:
                asyncio.run(_bootstrap_once(bootstrap, options or {}))
                return
            except KafkaError as exc:
                log.warning("Kafka broker at %s not reachable (%s); retrying in %.1f s", bootstrap,
                            type(exc).__name__, delay)
            time.sleep(delay)
            delay = min(delay * 2, max_delay)
    finally:
        client_log.setLevel(level)


async def _bootstrap_once(bootstrap: str, options: dict[str, Any]) -> None:
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000, **options)
    try:
        await client.bootstrap()
    finally:
        await client.close()


def main() -> None:
    argv = sys.argv[1:] or ["worker", "--without-web", "-l", service.settings.log_level]
    if argv[0] == "worker":
        logging.basicConfig(level=logging.INFO,
                            format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s")
        wait_for_broker(service.settings.kafka_bootstrap, service.settings.kafka_retry_max_s,
                        service.settings.kafka_client_options())
    sys.argv = [sys.argv[0], *argv]
    app.main()


if __name__ == "__main__":
    main()
