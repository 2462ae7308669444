"""The Faust wiring of deletions (service_layer/privacy.py): the state table's delete, and the agent on
privacy.deletions.v1. ``build_app`` calls ``wire_deletions`` once and asks ``forget_if_deletion`` for each fact."""

from __future__ import annotations

import logging
from typing import Any

import faust
from faust.types import StreamT

from contracts.topics.privacy_deletions import TOPIC as DELETIONS
from services.scoring.adapters.faust_privacy import TableForgetter
from services.scoring.metrics import ScoringMetrics
from services.scoring.service_layer.clock_duties import ClockDuties
from services.scoring.service_layer.messages import IncomingFact
from services.scoring.service_layer.privacy import decode_deletion, forget_child, is_deletion

log = logging.getLogger("tsunagu.scoring")


class Deletions:
    def __init__(self, table: Any, metrics: ScoringMetrics, duties: ClockDuties) -> None:
        self.store = TableForgetter(table)
        self.metrics = metrics
        self.duties = duties

    def forget(self, child_id: str, via: str) -> None:
        self.duties.stop_settling(child_id)
        held = forget_child(child_id, self.store)
        self.metrics.deletions.labels(via=via, outcome="deleted" if held else "not_held").inc()

    def forget_if_deletion(self, fact: IncomingFact) -> bool:
        """True when the fact was a deletion retraction (handled here: nothing else is to be done with it)."""
        if not is_deletion(fact):
            return False
        self.forget(fact.child_id, "fact")
        return True


def wire_deletions(app: faust.App, table: Any, metrics: ScoringMetrics, duties: ClockDuties) -> Deletions:
    deletions = Deletions(table, metrics, duties)
    topic = app.topic(DELETIONS.name, key_type=bytes, value_type=bytes)

    @app.agent(topic, name="scoring-forget-children", concurrency=1)
    async def forget_children(stream: StreamT) -> None:
        async for event in stream.events():
            request = decode_deletion(event.value)
            if request is None:
                metrics.facts_failed.labels(reason="invalid_deletion").inc()
                log.warning("skipped an undecodable deletion request at p%s@%s", event.message.partition,
                            event.message.offset)
                continue
            deletions.forget(request.child_id, "request")

    return deletions
