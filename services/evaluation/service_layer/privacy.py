"""Deletion on request (削除): evaluation deletes a child's rows and drops later messages about it.

Evaluation holds pseudonymous aggregates by child id (current flags, cases, workflow steps). A request on
privacy.deletions.v1 deletes the child's ``eval_children`` row, its ``eval_cases`` and their ``eval_steps``, and
records a SHA-256 of the child id in ``eval_deleted_children``; an alert, outcome or flags message about that child
arriving later (a replay, a message already in flight) is dropped (outcome ``deleted``). Idempotent: a second
delivery finds nothing to delete. Reports computed before the deletion are not recomputed.
"""

from __future__ import annotations

from contracts.envelope import Envelope
from contracts.topics.privacy_deletions import DeletionRequestV1
from services.evaluation.service_layer.unit_of_work import AbstractUnitOfWork


def handle_deletion(event: Envelope[DeletionRequestV1], uow: AbstractUnitOfWork) -> str:
    key = f"deletion:{event.id}"
    if uow.store.processed(key):
        return "duplicate"
    uow.store.mark_processed(key)
    uow.store.forget(event.data.child_id)
    return "deleted"
