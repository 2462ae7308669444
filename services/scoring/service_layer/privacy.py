"""Deletion on request (削除): scoring forgets a child's whole state and publishes nothing about it.

Two ways in, both idempotent:

* a **deletion retraction** on linkage.facts.v1 — ``status="retracted"`` with ``record_id`` starting
  ``privacy-deletion:`` (linkage sends one for every fact id it ever sent the child, docs/linkage.md). It arrives on
  the child's own partition, after every earlier fact of the child, so it also reaches the instance that holds the
  child when two instances split the partitions;
* the **request itself** on privacy.deletions.v1 (3 partitions, not co-partitioned with the state): the instance
  that receives it forgets the child at once if it holds it, without waiting for linkage.

Forgetting deletes the child's table row (a changelog tombstone on the row's own partition) and the parsed copy
kept in memory. No flags message is published: casework has already deleted the child and drops late messages
about it (``no_alert:deleted``), and a "cleared" message would copy the child's last assessment (its ``before``,
with evidence) onto scoring.flags.v1 once more. A plain retraction would do exactly that, which is why linkage
marks these. Later facts for the child do not come: linkage refuses the deleted keys.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import ValidationError

from contracts.envelope import Envelope
from contracts.topics.privacy_deletions import DeletionRequestV1
from services.scoring.service_layer.messages import IncomingFact
from services.scoring.service_layer.state import WORKING

# linkage's marker for a deletion retraction (services/linkage/service_layer/privacy.py; services share contracts,
# not code, so the convention is repeated here and documented in docs/linkage.md and docs/scoring.md)
DELETION_RECORD_PREFIX = "privacy-deletion:"


class ForgettingStore(Protocol):
    def get(self, child_id: str) -> dict[str, Any] | None: ...

    def delete(self, child_id: str, partition: int | None) -> None: ...


def is_deletion(fact: IncomingFact) -> bool:
    """A retraction linkage sent because the child was deleted on request (not an ordinary withdrawal)."""
    return fact.status == "retracted" and str(fact.stored.get("record_id") or "").startswith(DELETION_RECORD_PREFIX)


def forget_child(child_id: str, store: ForgettingStore) -> bool:
    """Deletes the child's state; True when there was one. The changelog tombstone goes to the partition the
    state was written to (its ``p``), whichever topic the request came in on."""
    WORKING.take(child_id, None)  # drops the parsed copy, if any
    raw = store.get(child_id)
    if raw is None:
        return False
    store.delete(child_id, raw.get("p"))
    return True


def decode_deletion(value: bytes | None) -> DeletionRequestV1 | None:
    """A privacy.deletions.v1 message (CloudEvents envelope, or the plain request); None when it is neither."""
    if not value:
        return None
    try:
        return Envelope[DeletionRequestV1].model_validate_json(value).data
    except ValidationError:
        try:
            return DeletionRequestV1.model_validate_json(value)
        except ValidationError:
            return None
