"""Scoring worker: ``python -m services.scoring.entrypoints.faust_app`` (or ``faust -A … worker``)."""

from __future__ import annotations

import sys

from services.scoring.adapters.faust_worker import build_app
from services.scoring.adapters.rulebook import RulebookError
from services.scoring.bootstrap import bootstrap

try:
    service = bootstrap()
except RulebookError as _exc:
    sys.exit(f"tsunagu-scoring: refusing to start: {_exc}")

app = build_app(service)


def main() -> None:
    argv = sys.argv[1:] or ["worker", "--without-web", "-l", service.settings.log_level]
    sys.argv = [sys.argv[0], *argv]
    app.main()


if __name__ == "__main__":
    main()
