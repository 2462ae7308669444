"""The worker's decode → handle → commit step, with the explicit failure decisions and their metrics.

Invalid messages are counted with a reason and skipped (they can never become valid on retry);
database errors propagate so the message is retried after a restart (at-least-once, idempotent).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from contracts.envelope import Envelope
from contracts.topics.casework import ALERTS_TOPIC
from contracts.topics.linkage_children import ChildProfileV1
from contracts.topics.linkage_review import ReviewCaseV1
from contracts.topics.scoring_flags import ChildFlagsV1
from services.casework import metrics
from services.casework.bootstrap import Container
from services.casework.service_layer.intake import IntakeResult, handle_flags, handle_profile
from services.casework.service_layer.reviews import handle_review_case

log = logging.getLogger("tsunagu.casework.worker")
MAX_MESSAGE_BYTES = 1_000_000

Send = Callable[[str, str, bytes], Awaitable[None]]


@dataclass
class Processed:
    outcome: str
    alert_ids: list[str]


class WorkerHandlers:
    def __init__(self, container: Container) -> None:
        self.c = container
        self.alerts_topic = container.settings.topic(ALERTS_TOPIC.name)

    def process(self, kind: str, raw: bytes | None, *, where: str) -> Processed:
        """kind: flags / profile / review. ``where`` is topic-partition-offset, for logs (no personal data)."""
        started = time.perf_counter()
        try:
            if raw is None or len(raw) > MAX_MESSAGE_BYTES:
                return self._skip("empty_or_oversized", where)
            try:
                result = self._handle_with_retry(kind, raw)
            except ValidationError as exc:
                fields = sorted({".".join(map(str, err["loc"])) for err in exc.errors()})[:5]
                log.warning("skipped invalid %s message at %s: fields %s", kind, where, fields)
                return self._skip("invalid_schema", where)
            except ValueError:
                return self._skip("invalid_json", where)
            outcome = result.outcome.split(":")[0] if result.outcome.startswith("no_alert") else result.outcome
            metrics.FLAGS_PROCESSED.labels(outcome=outcome).inc()
            for alert in result.alerts:
                metrics.ALERTS_RAISED.labels(ward=metrics.ward_label(alert.ward_code)).inc()
            return Processed(result.outcome, [a.alert_id for a in result.alerts])
        finally:
            metrics.PROCESSING_SECONDS.observe(time.perf_counter() - started)

    def _handle_with_retry(self, kind: str, raw: bytes) -> IntakeResult:
        # The flags and profile agents may create the same child at once: the loser retries and then
        # finds the row. Other database errors propagate; the agent waits and tries again.
        for attempt in range(3):
            try:
                return self._handle(kind, raw)
            except IntegrityError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _handle(self, kind: str, raw: bytes) -> IntakeResult:
        now = self.c.clock()
        with self.c.sessions.begin() as session:
            if kind == "flags":
                flags = Envelope[ChildFlagsV1].model_validate_json(raw)
                return handle_flags(flags, event_key=f"flags:{flags.id}", session=session, policy=self.c.policy,
                                    now=now, alerts_topic=self.alerts_topic)
            if kind == "profile":
                profile = Envelope[ChildProfileV1].model_validate_json(raw)
                return handle_profile(profile, event_key=f"profile:{profile.id}", session=session,
                                      policy=self.c.policy, now=now, alerts_topic=self.alerts_topic)
            review = Envelope[ReviewCaseV1].model_validate_json(raw)
            return handle_review_case(review, session=session, now=now)

    @staticmethod
    def _skip(reason: str, where: str) -> Processed:
        metrics.FLAGS_FAILED.labels(reason=reason).inc()
        log.warning("skipped message at %s: %s", where, reason)
        return Processed(f"skipped:{reason}", [])

    async def publish_outbox(self, send: Send) -> int:
        """Publishes queued events in order and marks them; a crash in between re-publishes (at-least-once)."""
        from services.casework.adapters.orm import OutboxMessage
        from services.casework.adapters.repository import CaseRepository

        published = 0
        while True:
            with self.c.sessions() as session:
                pending = [(m.id, m.topic, m.key, m.payload) for m in CaseRepository(session).pending_outbox(200)]
            if not pending:
                metrics.OUTBOX_PENDING.set(0)
                return published
            for _id, topic, key, payload in pending:
                await send(topic, key, payload.encode())
                metrics.OUTBOX_PUBLISHED.labels(topic=topic).inc()
            now = self.c.clock()
            with self.c.sessions.begin() as session:
                for msg_id, *_ in pending:
                    row = session.get(OutboxMessage, msg_id)
                    if row is not None and row.published_at is None:
                        row.published_at = now
            published += len(pending)
