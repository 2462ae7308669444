"""Retention (保有の制限, docs/privacy.md): evaluation's copy of closed cases (``eval_cases`` with their
``eval_steps``) goes when the city's period for case records has passed since the case's last step, as in casework.

One transaction per run; the log line and the metrics carry counts only (no case or child id). Reports already
written are not recomputed; a later report over an old period no longer counts the purged cases, as casework's
pages no longer show them. The processed-event ids stay (they hold no personal data), so a replayed listing or step
of a purged case is recognised and not stored again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from services.evaluation.domain.retention import past_retention
from services.evaluation.metrics import EvaluationMetrics
from services.evaluation.service_layer.unit_of_work import AbstractUnitOfWork

log = logging.getLogger("tsunagu.evaluation.retention")


@dataclass(frozen=True)
class Purged:
    cases: int
    steps: int


def purge(uow: AbstractUnitOfWork, now: datetime, days: int, *, metrics: EvaluationMetrics | None = None,
          dry_run: bool = False) -> Purged:
    """Removes (or, ``dry_run``, counts) the closed cases past ``days``; commits unless ``dry_run``."""
    with uow:
        expired = past_retention(uow.store.case_histories(), now, days)
        steps = uow.store.count_steps(expired)
        if dry_run or not expired:
            return Purged(len(expired), steps)
        uow.store.purge_cases(expired)
        uow.commit()
    if metrics is not None:
        metrics.retention_purged.labels(store="cases").inc(len(expired))
        metrics.retention_purged.labels(store="steps").inc(steps)
    log.info("retention purge: %d closed case(s) and %d step(s) older than %d days removed", len(expired), steps,
             days)
    return Purged(len(expired), steps)
