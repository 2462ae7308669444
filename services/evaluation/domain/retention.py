"""Retention (保有の制限, docs/privacy.md): which of evaluation's cases have been closed longer than the city keeps
case records. Pure.

A case is past retention when its workflow ended in 終結 (domain/model.py's state machine: a closing step, or a
screening or assessment result that closes it) and its **last step** is older than the period — the same rule as
casework's purge of closed cases (the period counts from the last change). An open case is never past retention,
however old: its steps are still coming.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from services.evaluation.domain.model import CLOSED_STATE, Case


def closed_at(case: Case) -> datetime | None:
    """When the case last changed, if it is closed now; None while it is open."""
    steps = case.ordered_steps()
    if not steps:
        return None
    last = steps[-1].at
    return last if case.state_at(last) == CLOSED_STATE else None


def past_retention(cases: Iterable[Case], now: datetime, days: int) -> list[str]:
    """The ids of the closed cases whose last step is at least ``days`` before ``now``, oldest first."""
    cutoff = now - timedelta(days=days)
    closed = [(at, c.case_id) for c in cases if (at := closed_at(c)) is not None and at <= cutoff]
    return [case_id for _, case_id in sorted(closed)]
