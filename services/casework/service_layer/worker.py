"""The worker's decode → handle → commit step, with the explicit failure decisions and their metrics.

Invalid messages are counted with a reason and skipped (they can never become valid on retry);
database errors propagate so the message is retried after a restart (at-least-once, idempotent).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from contracts.envelope import Envelope
from contracts.topics.casework import ALERTS_TOPIC
from contracts.topics.evaluation_reports import MAX_MESSAGE_BYTES as MAX_REPORT_MESSAGE_BYTES
from contracts.topics.evaluation_reports import EvaluationReportV1
from contracts.topics.ingest_source_status import SourceStatusV1
from contracts.topics.linkage_children import ChildProfileV1
from contracts.topics.linkage_review import ReviewCaseV1
from contracts.topics.privacy_disclosures import DisclosureReplyV1
from contracts.topics.privacy_optouts import TOPIC as OPTOUTS_TOPIC
from contracts.topics.scoring_flags import ChildFlagsV1
from services.casework.domain.freshness import SourceHeard
from services.casework.domain.reports import ReportDocument, ReportInfo
from services.casework.metrics import observe_since
from services.casework.service_layer import held_listings
from services.casework.service_layer.intake import IntakeResult, handle_flags, handle_profile
from services.casework.service_layer.ports import Casework
from services.casework.service_layer.privacy_disclosure import store_reply
from services.casework.service_layer.reviews import handle_review_case
from services.casework.service_layer.unit_of_work import AbstractUnitOfWork, Conflict, OutboxEntry

log = logging.getLogger("tsunagu.casework.worker")
T = TypeVar("T")
MAX_MESSAGE_BYTES = 1_000_000

# Sends (topic, key, value) messages and returns once the broker acknowledged all of them (value None: a tombstone).
SendMany = Callable[[list[tuple[str, str, bytes | None]]], Awaitable[None]]


# (kind, raw value, topic-partition@offset): one input message of the worker
Item = tuple[str, bytes | None, str]
_INTAKE = ("flags", "profile")  # the kinds keyed by child and event id (preloaded per batch)
RELAY_ROUND = 500  # outbox rows sent and marked in one relay round (one transaction)


@dataclass
class Processed:
    outcome: str
    alert_ids: list[str]


class WorkerHandlers:
    def __init__(self, container: Casework) -> None:
        self.c = container
        self.alerts_topic = container.settings.topic(ALERTS_TOPIC.name)
        self.optouts_topic = container.settings.topic(OPTOUTS_TOPIC.name)
        self._relay_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="casework-relay")

    def process(self, kind: str, raw: bytes | None, *, where: str) -> Processed:
        """kind: flags / profile / review / source_status / report / disclosure_reply. ``where`` is
        topic-partition-offset, for logs (no personal data)."""
        return self.process_records([(kind, raw, where)])[0]

    def process_batch(self, kind: str, items: Sequence[tuple[bytes | None, str]]) -> list[Processed]:
        """Messages of one kind in one transaction."""
        return self.process_records([(kind, raw, where) for raw, where in items])

    def process_records(self, items: Sequence[Item]) -> list[Processed]:
        """Applies messages of any kinds, in the given order, in one transaction (the worker's batch: one commit per
        batch keeps up with bursts); returns one ``Processed`` per message, in order."""
        for attempt in range(3):
            try:
                return self._batch(items)
            except Conflict:
                # Another writer (a second instance, the web) created the same row at once: redo, one message per
                # transaction, now finding the row.
                if len(items) > 1:
                    return [self.process(kind, raw, where=where) for kind, raw, where in items]
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _batch(self, items: Sequence[Item]) -> list[Processed]:
        started = time.perf_counter()
        now = self.c.clock()
        decoded = [(kind, self._decode(kind, raw, where)) for kind, raw, where in items]
        results: list[IntakeResult | Processed] = []
        with self.c.uow() as uow:
            events = [(kind, d) for kind, d in decoded if not isinstance(d, Processed) and kind in _INTAKE]
            # Every batch reads what it touches up front and writes at commit (nothing is flushed in between).
            uow.preload([e.data.child_id for _, e in events], [f"{kind}:{e.id}" for kind, e in events])
            for kind, item in decoded:
                results.append(item if isinstance(item, Processed) else self._handle(kind, item, uow, now))
            uow.commit()
        committed = self.c.clock()
        elapsed = (time.perf_counter() - started) / max(1, len(items))
        processed = []
        metrics = self.c.metrics
        for result in results:
            metrics.processing_duration.observe(elapsed)
            if isinstance(result, Processed):
                processed.append(result)
                continue
            outcome = result.outcome.split(":")[0] if result.outcome.startswith("no_alert") else result.outcome
            metrics.flags_processed.labels(outcome=outcome).inc()
            for alert in result.alerts:
                metrics.alert_raised(alert.ward_code)
                observe_since(metrics.source_to_alert_committed, result.source_time, committed)
            processed.append(Processed(result.outcome, [a.alert_id for a in result.alerts]))
        return processed

    def _decode(self, kind: str, raw: bytes | None, where: str) -> Envelope[Any] | Processed:
        limit = MAX_REPORT_MESSAGE_BYTES if kind == "report" else MAX_MESSAGE_BYTES  # a report is a whole file
        if raw is None or len(raw) > limit:
            return self._skip("empty_or_oversized", where)
        model = {"flags": ChildFlagsV1, "profile": ChildProfileV1, "source_status": SourceStatusV1,
                 "report": EvaluationReportV1, "disclosure_reply": DisclosureReplyV1}.get(
            kind, ReviewCaseV1)
        try:
            return Envelope[model].model_validate_json(raw)  # type: ignore[valid-type]
        except ValidationError as exc:
            fields = sorted({".".join(map(str, err["loc"])) for err in exc.errors()})[:5]
            log.warning("skipped invalid %s message at %s: fields %s", kind, where, fields)
            return self._skip("invalid_schema", where)

    def _handle(self, kind: str, event: Envelope[Any], uow: AbstractUnitOfWork,
                now: datetime) -> IntakeResult | Processed:
        if kind == "source_status":  # データの鮮度: a system code, times and a count; no personal data
            data: SourceStatusV1 = event.data
            uow.source_status.save(SourceHeard(
                system=data.system, last_event_at=data.last_event_time, events_24h=data.events_24h,
                counted_since=data.counted_since, silence_allowed_s=data.silence_allowed_s, reported_at=event.time))
            return Processed("stored", [])
        if kind == "report":  # 報告書: aggregates only (docs/evaluation.md); the contract checked size and sha256
            report: EvaluationReportV1 = event.data
            info = ReportInfo(report_id=report.report_id, kind=report.kind, period_label=report.period_label,
                              scope=report.scope, generated_at=report.generated_at, format=report.format,
                              size=report.size, sha256=report.sha256)
            new = uow.reports.save(ReportDocument(info, report.document()), now)
            return Processed("stored" if new else "duplicate", [])
        if kind == "disclosure_reply":  # 開示: linkage's or scoring's answer, kept for the report
            outcome = store_reply(uow, event.data, now)
            if outcome != "stored":
                log.warning("disclosure reply not kept: %s", outcome)  # codes only
            return Processed(outcome, [])
        if kind == "flags":
            return handle_flags(event, event_key=f"flags:{event.id}", uow=uow, policy=self.c.policy, now=now,
                                alerts_topic=self.alerts_topic)
        if kind == "profile":
            return handle_profile(event, event_key=f"profile:{event.id}", uow=uow, policy=self.c.policy, now=now,
                                  alerts_topic=self.alerts_topic, optouts_topic=self.optouts_topic)
        return handle_review_case(event, uow=uow, now=now)

    def _skip(self, reason: str, where: str) -> Processed:
        self.c.metrics.flags_failed.labels(reason=reason).inc()
        log.warning("skipped message at %s: %s", where, reason)
        return Processed(f"skipped:{reason}", [])

    async def publish_outbox(self, send_many: SendMany) -> int:
        """Publishes queued events in order and marks them; a crash in between re-publishes (at-least-once). Rounds
        of ``RELAY_ROUND`` rows until one finds fewer: the outbox held no more when that round read it, and a row
        committed since is the next wake's (the batch that wrote it wakes the relay; the web's, the interval)."""
        published = 0
        while True:
            sent = await self._publish_round(send_many)
            published += sent
            if sent < RELAY_ROUND:
                return published

    async def _publish_round(self, send_many: SendMany) -> int:
        """One round in one transaction: claim the outbox (several workers on one database take turns, so no row
        goes out twice), read up to ``RELAY_ROUND`` rows, send them and await every acknowledgement, mark them,
        commit. The database work runs on the relay's own thread (one session, one thread): on the event loop it
        would stall Kafka fetches and heartbeats while the reader's batch holds the database."""
        uow = await self.on_relay_thread(self.c.uow().__enter__)
        try:
            pending = await self.on_relay_thread(self._claim_pending, uow)
            if not pending:
                self.c.metrics.outbox_pending.set(0)
                return 0
            # an empty payload is a tombstone (privacy_deletion.TOMBSTONE): published as a null value
            await send_many([(m.topic, m.key, m.payload.encode() or None) for m in pending])
            for m in pending:
                self.c.metrics.outbox_published.labels(topic=m.topic).inc()
            await self.on_relay_thread(self._mark_published, uow, [m.id for m in pending])
            return len(pending)
        finally:  # without the commit (a failed send) the rows stay unpublished and the claim is released
            await self.on_relay_thread(uow.__exit__, None, None, None)

    async def on_relay_thread(self, function: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._relay_thread, function, *args)

    def refresh_held_gauges(self) -> None:
        """区が未確定の対象者: the held-listing gauges from the case database (the worker's timer calls this)."""
        held_listings.refresh_gauges(self.c.uow(), self.c.metrics, self.c.clock())

    def _claim_pending(self, uow: AbstractUnitOfWork) -> list[OutboxEntry]:
        uow.outbox.claim()
        return uow.outbox.pending(RELAY_ROUND)

    def _mark_published(self, uow: AbstractUnitOfWork, ids: list[int]) -> None:
        uow.outbox.mark_published(ids, self.c.clock())
        uow.commit()
