"""Scoring worker: ``python -m services.scoring.entrypoints.faust_app`` (or ``faust -A … worker``)."""

from __future__ import annotations

import logging
import sys

from contracts.kafka_security import wait_for_broker
from services.scoring.adapters.rulebook import RulebookError
from services.scoring.bootstrap import bootstrap
from services.scoring.entrypoints.faust_worker import build_app

try:
    service = bootstrap()
except RulebookError as _exc:
    sys.exit(f"tsunagu-scoring: refusing to start: {_exc}")

app = build_app(service)
log = logging.getLogger("tsunagu.scoring")


def main() -> None:
    argv = sys.argv[1:] or ["worker", "--without-web", "-l", service.settings.log_level]
    if argv[0] == "worker":
        logging.basicConfig(level=logging.INFO,
                            format="[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s")
        wait_for_broker(service.settings.kafka_bootstrap, service.settings.kafka_retry_max_s,
                        service.settings.kafka_client_options(), logger="tsunagu.scoring")
    sys.argv = [sys.argv[0], *argv]
    app.main()


if __name__ == "__main__":
    main()
