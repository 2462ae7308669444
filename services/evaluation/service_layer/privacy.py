"""Deletion on request (削除) and opt-out (利用停止) in evaluation.

Deletion: evaluation deletes a child's rows and drops later messages about it.

Evaluation holds pseudonymous aggregates by child id (current flags, cases, workflow steps). A request on
privacy.deletions.v1 deletes the child's ``eval_children`` row, its ``eval_cases`` and their ``eval_steps``, and
records a SHA-256 of the child id in ``eval_deleted_children``; an alert, outcome or flags message about that child
arriving later (a replay, a message already in flight) is dropped (outcome ``deleted``). Idempotent: a second
delivery finds nothing to delete. Reports computed before the deletion are not recomputed.

Opt-out: casework publishes each child's opt-out state on privacy.optouts.v1 (compacted, key child id). While it
holds, the child's rows are **kept** (the opt-out is reversible; scoring and casework keep theirs too) but the
child, its cases and their steps are left out of **every figure** (the store's ``children()`` and ``cases()``,
which every report reads). A withdrawal brings them back from the next report on. A message not newer than the
state held (``changed_at``: a redelivery, a replay of the compacted topic) changes nothing (``stale``). A tombstone
(null value) comes with a deletion, which privacy.deletions.v1 carries and which removes the opt-out row with the
rest; it is counted and otherwise ignored. Reports already written are not recomputed.
"""

from __future__ import annotations

from datetime import datetime

from contracts.envelope import Envelope
from contracts.topics.privacy_deletions import DeletionRequestV1
from contracts.topics.privacy_optouts import EVENT_TYPE as OPT_OUT_EVENT
from contracts.topics.privacy_optouts import OptOutV1
from services.evaluation.domain.stored import to_utc_naive
from services.evaluation.service_layer.unit_of_work import AbstractUnitOfWork


def handle_deletion(event: Envelope[DeletionRequestV1], uow: AbstractUnitOfWork) -> str:
    key = f"deletion:{event.id}"
    if uow.store.processed(key):
        return "duplicate"
    uow.store.mark_processed(key)
    uow.store.forget(event.data.child_id)
    return "deleted"


def handle_opt_out(event: Envelope[OptOutV1], uow: AbstractUnitOfWork) -> str:
    """opted_out / withdrawn / stale, or skipped:<reason> for a message that can never apply."""
    if event.type != OPT_OUT_EVENT:
        return "skipped:unknown_type"
    opt = event.data
    try:
        changed_at = to_utc_naive(datetime.fromisoformat(opt.changed_at))
    except ValueError:
        return "skipped:invalid_schema"
    held = uow.store.opt_out(opt.child_id)
    if held is not None and held[1] >= changed_at:
        return "stale"
    uow.store.set_opt_out(opt.child_id, opt.active, changed_at)
    return "opted_out" if opt.active else "withdrawn"
