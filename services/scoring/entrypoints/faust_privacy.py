"""The Faust wiring of deletions (service_layer/privacy.py): the state table's delete, and the agent on
privacy.deletions.v1. ``faust_app.create_app`` calls ``wire_deletions`` once and asks ``forget_if_deletion`` for
each fact. And of opt-outs (service_layer/opt_out.py): the agent on privacy.optouts.v1 (``wire_opt_outs``). And of
disclosures (service_layer/disclosure.py): the agent on privacy.disclosures.v1 (``wire_disclosures``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import StreamT

from contracts.topics.privacy_deletions import TOPIC as DELETIONS
from contracts.topics.privacy_disclosures import REPLY_TOPIC as DISCLOSURE_REPLIES
from contracts.topics.privacy_disclosures import REQUEST_TOPIC as DISCLOSURES
from contracts.topics.privacy_disclosures import decode_request
from contracts.topics.privacy_optouts import TOPIC as OPTOUTS
from services.scoring.adapters.faust_privacy import TableForgetter
from services.scoring.bootstrap import Container
from services.scoring.metrics import ScoringMetrics
from services.scoring.service_layer.clock_duties import ClockDuties
from services.scoring.service_layer.disclosure import reply as disclosure_reply
from services.scoring.service_layer.handlers import Published
from services.scoring.service_layer.messages import IncomingFact
from services.scoring.service_layer.opt_out import InvalidOptOut, decode_opt_out, handle_opt_out
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


def wire_opt_outs(app: faust.App, table: Any, container: Container, duties: ClockDuties,
                  publish: Callable[[Published, str], Awaitable[None]],
                  admitted: Callable[[Any], Awaitable[bool]]) -> None:
    """The agent on privacy.optouts.v1 (6 partitions, co-partitioned with linkage.facts.v1 and the table, so the
    instance that holds a child reads its opt-out). ``admitted``: whether to apply the message now — not while the
    state table is being restored (it is held out of the commit and comes again), as for a fact
    (faust_app.admitted)."""
    store, metrics = TableForgetter(table), container.metrics
    topic = app.topic(OPTOUTS.name, key_type=bytes, value_type=bytes)

    @app.agent(topic, name="scoring-opt-outs", concurrency=1)
    async def opt_outs(stream: StreamT) -> None:
        async for event in stream.events():
            message = event.message
            if not await admitted(message):
                continue
            try:
                child_id, opt = decode_opt_out(event.key, event.value)
            except InvalidOptOut as exc:
                metrics.facts_failed.labels(reason=f"opt_out_{exc.reason}").inc()
                log.warning("skipped a privacy.optouts.v1 message at p%s@%s: %s", message.partition,
                            message.offset, exc.reason)
                continue
            today = container.clock.today()
            try:
                outcome, published = handle_opt_out(child_id, opt, partition=message.partition, store=store,
                                                     rulebook=container.rulebook, today=today,
                                                     hold=duties.holding(today))
            except Exception as exc:  # a rule bug on withdrawal: count, log (no values), skip
                metrics.facts_failed.labels(reason="evaluation_error").inc()
                log.error("could not apply an opt-out at p%s@%s: %s", message.partition, message.offset,
                          type(exc).__name__)
                continue
            if published is not None:
                await publish(published, "opt_out")
            metrics.opt_outs.labels(outcome=outcome).inc()


def wire_disclosures(app: faust.App, table: Any, metrics: ScoringMetrics,
                     admitted: Callable[[Any], Awaitable[bool]]) -> None:
    """The agent on privacy.disclosures.v1 (開示; 6 partitions, co-partitioned with linkage.facts.v1 and the table, so
    the instance that holds a child answers for it): service_layer/disclosure.py's reply, sent on
    privacy.disclosure_replies.v1. ``admitted`` as for opt-outs: a request read while the table is being restored
    waits (it comes again), so a child being restored is never answered "not held"."""
    store = TableForgetter(table)
    requests = app.topic(DISCLOSURES.name, key_type=bytes, value_type=bytes)
    replies = app.topic(DISCLOSURE_REPLIES.name, key_type=bytes, value_type=bytes)

    @app.agent(requests, name="scoring-disclosures", concurrency=1)
    async def disclosures(stream: StreamT) -> None:
        async for event in stream.events():
            message = event.message
            if not await admitted(message):
                continue
            request = decode_request(event.value)
            if request is None:
                metrics.disclosures.labels(outcome="invalid").inc()
                log.warning("skipped an undecodable disclosure request at p%s@%s", message.partition,
                            message.offset)
                continue
            outcome, key, value = disclosure_reply(request, store, now=datetime.now(UTC))
            await replies.send(key=key, value=value)
            metrics.disclosures.labels(outcome=outcome).inc()
            log.info("disclosure request %s answered (%s)", request.request_id, outcome)  # ids only
