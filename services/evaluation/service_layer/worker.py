"""The worker's decode → handle → commit step for a batch, with the explicit failure decisions and metrics.

Invalid messages are counted with a reason and skipped (they can never become valid on retry); database errors
propagate, and the Faust agent retries the same batch (at-least-once; the handlers are idempotent).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from contracts.envelope import Envelope
from services.evaluation.service_layer.handlers import HANDLERS
from services.evaluation.service_layer.ports import Skipped, Store
from services.evaluation.service_layer.privacy import handle_deletion, handle_opt_out

TOMBSTONE = "tombstone"  # a null value on compacted privacy.optouts.v1: the deletion itself forgets the child


def process_batch(container: Store, kind: str, items: Sequence[tuple[bytes | None, str]]) -> list[str]:
    """``items``: (raw value, topic-partition@offset). Returns each message's outcome, in order."""
    started = time.perf_counter()
    metrics = container.metrics
    decoded: list[Envelope[Any] | Skipped | str] = [
        TOMBSTONE if kind == "optouts" and raw is None else container.decode(kind, raw, where) for raw, where in items]
    outcomes: list[str] = []
    with container.uow() as uow:
        for event in decoded:
            if isinstance(event, Skipped):
                outcomes.append(f"skipped:{event.reason}")
                continue
            if isinstance(event, str):
                outcomes.append(TOMBSTONE)
                continue
            if kind == "deletions":
                outcomes.append(handle_deletion(event, uow))
            elif uow.store.forgotten(event.data.child_id):  # deleted on request: a late message must not revive it
                outcomes.append("deleted")
            elif kind == "optouts":
                outcomes.append(handle_opt_out(event, uow))
            else:
                outcomes.append(HANDLERS[kind](event, uow).outcome)
            uow.flush()  # the next message of the batch sees this one's rows (duplicates within a batch)
        uow.commit()
    elapsed = (time.perf_counter() - started) / max(1, len(items))
    for outcome in outcomes:
        metrics.processing_duration.observe(elapsed)
        if outcome.startswith("skipped:"):
            metrics.events_failed.labels(kind=kind, reason=outcome.split(":", 1)[1]).inc()
        else:
            metrics.events_processed.labels(kind=kind, outcome=outcome).inc()
    return outcomes
