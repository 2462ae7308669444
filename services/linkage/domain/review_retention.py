"""Retention of decided clerical reviews (保有の制限, docs/privacy.md "Retention in casework and linkage"). Pure.

A review holds the record's identity fields (name, kana, birth date, address) beside the human decision; linkage
keeps a decided one so that a replayed record meets its decision again. Records are replayable only while
ingest.records.v1 holds them (90 days), and the processed-record index skips a record already applied, so a
decision is needed far less long than casework keeps its review cases (the city's 文書保存年限, 5 years by default):
a review **decided and applied** more than ``days`` ago (its ``decided_at``) goes, with the same period as casework's
decided review cases. A review still open, or decided but waiting for its record (not applied yet), is kept. The
decision's effects (bound keys, merges, cannot-link lists) are in the persons and stay.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from services.linkage.domain.state import LinkageState


def _decided_on(decision: dict[str, object] | None) -> date | None:
    text = str((decision or {}).get("decided_at") or "")
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        return None


def expired_reviews(state: LinkageState, days: int, today: date) -> list[str]:
    """Ids of the decided, applied reviews whose decision is at least ``days`` old (sorted)."""
    cutoff = today - timedelta(days=days)
    return sorted(review_id for review_id, review in state.reviews.items()
                  if review.decided is not None and (on := _decided_on(review.decision)) is not None and on <= cutoff)


def forget_reviews(state: LinkageState, review_ids: list[str]) -> int:
    """Removes the reviews from the state (marked dirty for the store); returns how many."""
    removed = 0
    for review_id in review_ids:
        review = state.reviews.pop(review_id, None)
        if review is None:
            continue
        state.deferred_by_record.get(review.record_id, set()).discard(review_id)
        if review.candidate_person_id in state.reviews_by_candidate:
            state.reviews_by_candidate[review.candidate_person_id].discard(review_id)
        state.touch("review", review_id)
        removed += 1
    return removed
