"""Retention (保有の制限, docs/privacy.md "Retention in casework"): what casework no longer needs is removed on a
schedule.

* **Closed cases** (終結 or 移管) whose last state change is older than the retention period (the city's
  文書保存年限, ``closed_case_retention_days``): the alert, its timeline (case steps: reasons, hearing notes, support
  content) and nothing else. The child's row stays (it follows linkage's profile and scoring's flags, like every
  child) and counts the purged cases (``alerts_purged``), so the alert policy still knows the child was alerted.
  Open cases, on hold included, are never purged, however old.
* **Decided review cases** decided before the same cut-off: their payload holds both records' identities.
* **Disclosure requests** (開示) made before the same cut-off, with the answers linkage and scoring gave (copies of
  what they held about the child, kept as the record of what was disclosed for the city's period).
* **Published outbox rows** older than ``outbox_retention_days``: the outbox is a relay, not a record; once the
  broker acknowledged a row it is only a copy of what the topic holds (until the topic's own retention).
  Unpublished rows are never removed.

The audit trail is kept: each purge transaction appends one ``retention_purge`` entry with the cut-off and the
counts per store, without a child id, alert id or any content. Metrics count what went, per store; the log says
counts only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.casework.adapters.orm import (
    Alert,
    CaseStep,
    Child,
    OutboxMessage,
    PrivacyDisclosureReply,
    PrivacyDisclosureRequest,
    ReviewCase,
)
from services.casework.domain.workflow import TERMINAL
from services.casework.metrics import CaseworkMetrics
from services.casework.service_layer import audit_log
from services.casework.service_layer.audit_log import Actor

log = logging.getLogger("tsunagu.casework.retention")
ACTION = "retention_purge"
WORKER_ACTOR = Actor("system", "system", "worker")  # the worker's scheduled purge
STORES = ("alerts", "case_steps", "review_cases", "outbox", "disclosures", "disclosure_replies")
_CLOSED = tuple(s.value for s in TERMINAL)


@dataclass(frozen=True)
class RetentionPolicy:
    closed_case_days: int
    outbox_days: int

    def __post_init__(self) -> None:
        if self.closed_case_days < 1 or self.outbox_days < 1:
            raise ValueError("retention periods are whole days, at least 1")

    def case_cutoff(self, now: datetime) -> datetime:
        return now - timedelta(days=self.closed_case_days)

    def outbox_cutoff(self, now: datetime) -> datetime:
        return now - timedelta(days=self.outbox_days)


@dataclass
class Purged:
    """What one purge removed (or, in a dry run, would remove), per store: counts only."""

    case_cutoff: datetime
    outbox_cutoff: datetime
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STORES, 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _closed_cases(cutoff: datetime) -> ColumnElement[bool]:
    return and_(Alert.state.in_(_CLOSED), Alert.state_changed_at < cutoff)


def _decided_reviews(cutoff: datetime) -> ColumnElement[bool]:
    return and_(ReviewCase.status != "open", ReviewCase.decided_at.is_not(None), ReviewCase.decided_at < cutoff)


def _published(cutoff: datetime) -> ColumnElement[bool]:
    return and_(OutboxMessage.published_at.is_not(None), OutboxMessage.published_at < cutoff)


def plan(session: Session, policy: RetentionPolicy, now: datetime) -> Purged:
    """What a purge at ``now`` would remove (nothing is changed)."""
    result = Purged(policy.case_cutoff(now), policy.outbox_cutoff(now))
    cases = select(Alert.alert_id).where(_closed_cases(result.case_cutoff))
    result.counts["alerts"] = _count(session, select(func.count()).select_from(Alert)
                                     .where(_closed_cases(result.case_cutoff)))
    result.counts["case_steps"] = _count(session, select(func.count()).select_from(CaseStep)
                                         .where(CaseStep.alert_id.in_(cases)))
    result.counts["review_cases"] = _count(session, select(func.count()).select_from(ReviewCase)
                                           .where(_decided_reviews(result.case_cutoff)))
    result.counts["outbox"] = _count(session, select(func.count()).select_from(OutboxMessage)
                                     .where(_published(result.outbox_cutoff)))
    disclosures = select(PrivacyDisclosureRequest.request_id).where(
        PrivacyDisclosureRequest.requested_at < result.case_cutoff)
    result.counts["disclosures"] = _count(session, select(func.count()).select_from(PrivacyDisclosureRequest)
                                          .where(PrivacyDisclosureRequest.requested_at < result.case_cutoff))
    result.counts["disclosure_replies"] = _count(session, select(func.count()).select_from(PrivacyDisclosureReply)
                                                 .where(PrivacyDisclosureReply.request_id.in_(disclosures)))
    return result


def _count(session: Session, query: Any) -> int:
    return int(session.scalar(query) or 0)


def purge(sessions: sessionmaker[Session], policy: RetentionPolicy, now: datetime, *,
          metrics: CaseworkMetrics | None = None, actor: Actor = WORKER_ACTOR, batch: int = 1000) -> Purged:
    """Removes what the policy no longer keeps, ``batch`` rows of each kind per transaction (each transaction with
    its own audit entry), until nothing is left; safe to run while the worker and the web write."""
    result = Purged(policy.case_cutoff(now), policy.outbox_cutoff(now))
    while True:
        with sessions.begin() as session:
            counts, more = _purge_batch(session, result, batch)
            if any(counts.values()):
                detail = " ".join([f"closed_case_days={policy.closed_case_days}",
                                   f"case_cutoff={result.case_cutoff.date().isoformat()}",
                                   f"outbox_days={policy.outbox_days}",
                                   *(f"{store}={n}" for store, n in counts.items())])
                audit_log.append(session, actor, ACTION, now, detail=detail)
        for store, n in counts.items():
            result.counts[store] += n
            if metrics is not None and n:
                metrics.retention_purged.labels(store=store).inc(n)
        if not more:
            break
    if metrics is not None:
        metrics.retention_runs.labels(outcome="ok").inc()
        metrics.retention_last_run.set(now.timestamp())
    log.info("retention purge: %s (closed cases before %s, published outbox before %s)",
             " ".join(f"{store}={n}" for store, n in result.counts.items()),
             result.case_cutoff.date().isoformat(), result.outbox_cutoff.date().isoformat())
    return result


def _purge_batch(session: Session, result: Purged, batch: int) -> tuple[dict[str, int], bool]:
    """One transaction's share; True when a kind filled its batch (more may be left)."""
    counts = dict.fromkeys(STORES, 0)
    cases = session.execute(select(Alert.alert_id, Alert.child_id).where(_closed_cases(result.case_cutoff))
                            .order_by(Alert.seq).limit(batch)).all()
    if cases:
        alert_ids = [alert_id for alert_id, _ in cases]
        counts["case_steps"] = _deleted(session, delete(CaseStep).where(CaseStep.alert_id.in_(alert_ids)))
        counts["alerts"] = _deleted(session, delete(Alert).where(Alert.alert_id.in_(alert_ids)))
        per_child: dict[str, int] = {}
        for _, child_id in cases:
            per_child[child_id] = per_child.get(child_id, 0) + 1
        for child_id, n in per_child.items():
            session.execute(update(Child).where(Child.child_id == child_id)
                            .values(alerts_purged=func.coalesce(Child.alerts_purged, 0) + n))
    reviews = list(session.scalars(select(ReviewCase.review_id).where(_decided_reviews(result.case_cutoff))
                                   .limit(batch)))
    if reviews:
        counts["review_cases"] = _deleted(session, delete(ReviewCase).where(ReviewCase.review_id.in_(reviews)))
    rows = list(session.scalars(select(OutboxMessage.id).where(_published(result.outbox_cutoff))
                                .order_by(OutboxMessage.id).limit(batch)))
    if rows:
        counts["outbox"] = _deleted(session, delete(OutboxMessage).where(OutboxMessage.id.in_(rows)))
    asked = list(session.scalars(select(PrivacyDisclosureRequest.request_id).where(
        PrivacyDisclosureRequest.requested_at < result.case_cutoff).limit(batch)))
    if asked:
        counts["disclosure_replies"] = _deleted(session, delete(PrivacyDisclosureReply).where(
            PrivacyDisclosureReply.request_id.in_(asked)))
        counts["disclosures"] = _deleted(session, delete(PrivacyDisclosureRequest).where(
            PrivacyDisclosureRequest.request_id.in_(asked)))
    return counts, batch in (len(cases), len(reviews), len(rows), len(asked))


def _deleted(session: Session, statement: Any) -> int:
    return int(getattr(session.execute(statement), "rowcount", 0) or 0)
