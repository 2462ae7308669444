"""Deletion on request (削除): evaluation deletes a child's rows and drops later messages about it.

Evaluation holds pseudonymous aggregates by child id (current flags, cases, workflow steps). A request on
privacy.deletions.v1 deletes the child's ``eval_children`` row, its ``eval_cases`` and their ``eval_steps``, and
records a SHA-256 of the child id in ``eval_deleted_children``; an alert, outcome or flags message about that child
arriving later (a replay, a message already in flight) is dropped (outcome ``deleted``). Idempotent: a second
delivery finds nothing to delete. Reports computed before the deletion are not recomputed.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from contracts.envelope import Envelope
from contracts.topics.privacy_deletions import DeletionRequestV1
from services.evaluation.adapters.orm import CaseRow, ChildRow, DeletedChild, ProcessedEvent, StepRow


def child_hash(child_id: str) -> str:
    return hashlib.sha256(child_id.encode()).hexdigest()


def forgotten(session: Session, child_id: str) -> bool:
    return session.get(DeletedChild, child_hash(child_id)) is not None


def handle_deletion(event: Envelope[DeletionRequestV1], session: Session) -> str:
    child_id = event.data.child_id
    if session.get(ProcessedEvent, f"deletion:{event.id}") is not None:
        return "duplicate"
    session.add(ProcessedEvent(event_id=f"deletion:{event.id}"))
    cases = select(CaseRow.case_id).where(CaseRow.child_id == child_id)
    session.execute(delete(StepRow).where(StepRow.case_id.in_(cases)))
    session.execute(delete(CaseRow).where(CaseRow.child_id == child_id))
    session.execute(delete(ChildRow).where(ChildRow.child_id == child_id))
    if not forgotten(session, child_id):
        session.add(DeletedChild(child_hash=child_hash(child_id)))
    return "deleted"
