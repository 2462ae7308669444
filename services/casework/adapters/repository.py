"""Reads and writes of the case database, in the domain's words (service_layer/unit_of_work.py's CaseRepository).

The caller owns the transaction (adapters/unit_of_work.py)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from services.casework.adapters.orm import (
    Alert,
    CaseStep,
    Child,
    OutboxMessage,
    PrivacyDeletion,
    PrivacyHouseholdOptOut,
    PrivacyOptOut,
    ProcessedEvent,
)
from services.casework.domain.pseudonym import forgotten_hash
from services.casework.domain.workflow import OPEN_STATES
from services.casework.service_layer import audit_log
from services.casework.service_layer.unit_of_work import NewAlert, NewOptOut, NewStep

SYSTEM_AUDIT_ACTOR = audit_log.Actor("system", "system", "worker")


class SqlCaseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session
        # Filled by preload() for a batch of messages: three queries instead of several per message,
        # and one flush at commit (the caller runs the batch under no_autoflush).
        self._preloaded = False
        self._processed: set[str] = set()
        self._children: dict[str, Child] = {}
        self._alerts: dict[str, list[Alert]] = {}
        self._opted_out: set[str] = set()  # privacy (docs/privacy.md): 利用停止 and deleted children in the batch
        self._forgotten: set[str] = set()
        self._households_out: dict[str, PrivacyHouseholdOptOut] | None = None  # standing household opt-outs
        # In a preloaded batch, append-only rows are written with one executemany per table at the end.
        self._bulk: dict[type, list[dict[str, Any]]] = {ProcessedEvent: [], CaseStep: [], OutboxMessage: []}

    def preload(self, child_ids: Collection[str], event_keys: Collection[str]) -> None:
        ids, keys = list(set(child_ids)), list(set(event_keys))
        self._processed = set(self.session.scalars(
            select(ProcessedEvent.event_key).where(ProcessedEvent.event_key.in_(keys)))) if keys else set()
        self._children = {c.child_id: c for c in self.session.scalars(
            select(Child).where(Child.child_id.in_(ids)))} if ids else {}
        self._alerts = {child_id: [] for child_id in ids}
        if ids:
            for alert in self.session.scalars(select(Alert).where(Alert.child_id.in_(ids)).order_by(Alert.seq)):
                self._alerts[alert.child_id].append(alert)
            self._opted_out = set(self.session.scalars(select(PrivacyOptOut.child_id).where(
                PrivacyOptOut.child_id.in_(ids), PrivacyOptOut.active.is_(True))))
            hashes = {forgotten_hash(i): i for i in ids}
            self._forgotten = {hashes[h] for h in self.session.scalars(select(PrivacyDeletion.subject_hash).where(
                PrivacyDeletion.subject_hash.in_(list(hashes))))}
        self._preloaded = True

    # --- privacy ---------------------------------------------------------------------------------
    def opted_out(self, child_id: str) -> bool:
        """利用停止: no alert is raised for the child while this holds."""
        if self._preloaded and child_id in self._alerts:
            return child_id in self._opted_out
        row = self.session.get(PrivacyOptOut, child_id)
        return row is not None and row.active

    def household_opt_out(self, household_id: str) -> PrivacyHouseholdOptOut | None:
        if self._preloaded:  # a handful of rows at most: read once per batch, not once per profile message
            if self._households_out is None:
                self._households_out = {r.household_id: r for r in self.session.scalars(
                    select(PrivacyHouseholdOptOut).where(PrivacyHouseholdOptOut.active.is_(True)))}
            return self._households_out.get(household_id)
        row = self.session.get(PrivacyHouseholdOptOut, household_id)
        return row if row is not None and row.active else None

    def opt_out_of(self, child_id: str) -> PrivacyOptOut | None:
        return self.session.get(PrivacyOptOut, child_id)

    def add_opt_out(self, new: NewOptOut) -> None:
        row = self.session.get(PrivacyOptOut, new.child_id)
        if row is None:
            row = PrivacyOptOut(child_id=new.child_id)
            self.session.add(row)
        row.active, row.requested_by, row.reason, row.requested_on = True, new.requested_by, new.reason, \
            new.requested_on
        row.recorded_at, row.recorded_by, row.via_household = new.recorded_at, new.recorded_by, new.via_household
        row.withdrawn_at, row.withdrawn_by = None, None
        self._opted_out.add(new.child_id)

    def audit(self, action: str, at: datetime, *, child_id: str, ward_code: str | None, detail: str) -> None:
        audit_log.append(self.session, SYSTEM_AUDIT_ACTOR, action, at, child_id=child_id, ward_code=ward_code,
                         detail=detail)

    def forgotten(self, child_id: str) -> bool:
        """The child's data was deleted on request: late messages about the child are dropped, not re-stored."""
        if self._preloaded and child_id in self._alerts:
            return child_id in self._forgotten
        return self.session.scalars(select(PrivacyDeletion.request_id).where(
            PrivacyDeletion.subject_hash == forgotten_hash(child_id)).limit(1)).first() is not None

    # --- idempotency -----------------------------------------------------------------------------
    def already_processed(self, event_key: str) -> bool:
        if self._preloaded:
            return event_key in self._processed
        return self.session.get(ProcessedEvent, event_key) is not None

    def mark_processed(self, event_key: str, at: datetime) -> None:
        self._processed.add(event_key)
        self._append(ProcessedEvent, {"event_key": event_key, "processed_at": at})

    def _append(self, table: type, row: dict[str, Any]) -> None:
        if self._preloaded:
            self._bulk[table].append(row)
        else:
            self.session.add(table(**row))

    def write_appended(self) -> None:
        """Writes the batch's append-only rows (after the alerts they refer to)."""
        self.session.flush()
        for table in (ProcessedEvent, CaseStep, OutboxMessage):
            rows, self._bulk[table] = self._bulk[table], []
            if rows:
                self.session.execute(insert(table), rows)

    # --- children --------------------------------------------------------------------------------
    def child(self, child_id: str) -> Child | None:
        if self._preloaded and child_id in self._alerts:
            return self._children.get(child_id)
        return self.session.get(Child, child_id)

    def child_or_new(self, child_id: str) -> Child:
        child = self.child(child_id)
        if child is None:
            child = Child(child_id=child_id, current_items=[], flags=[], score=0.0, status="resident",
                          supported_by_child_guidance=False, alerts_purged=0)
            self.session.add(child)
            self._children[child_id] = child
        return child

    def held_children(self) -> list[Child]:
        # A listing once held and then raised is stored as JSON null, not SQL NULL (the JSON type's default).
        rows = self.session.scalars(select(Child).where(Child.pending_alert.is_not(None)))
        return [child for child in rows if child.pending_alert]

    # --- alerts and cases ------------------------------------------------------------------------
    def open_alert(self, child_id: str) -> Alert | None:
        if self._preloaded and child_id in self._alerts:
            open_states = {s.value for s in OPEN_STATES}
            return next((a for a in reversed(self._alerts[child_id]) if a.state in open_states), None)
        return self.session.scalars(
            select(Alert).where(Alert.child_id == child_id, Alert.state.in_([s.value for s in OPEN_STATES]))
            .order_by(Alert.seq.desc()).limit(1)
        ).first()

    def alert(self, alert_id: str) -> Alert | None:
        for alerts in self._alerts.values():
            for alert in alerts:
                if alert.alert_id == alert_id:
                    return alert
        return self.session.scalars(select(Alert).where(Alert.alert_id == alert_id)).first()

    def add_alert(self, new: NewAlert) -> Alert | None:
        """Inserts the alert unless one with the same key exists; returns None for a duplicate."""
        if self._preloaded and new.child_id in self._alerts:
            if any(a.alert_key == new.alert_key for a in self._alerts[new.child_id]):
                return None
        elif self.session.scalars(select(Alert.seq).where(Alert.alert_key == new.alert_key)).first():
            return None
        alert = Alert(**asdict(new), state_changed_at=new.raised_at)
        # A concurrent insert of the same key fails the whole transaction on the unique constraint;
        # the worker retries it and then sees the duplicate above (no savepoint on the hot path).
        self.session.add(alert)
        if new.child_id in self._alerts:
            self._alerts[new.child_id].append(alert)
        return alert

    def add_step(self, step: NewStep) -> None:
        self._append(CaseStep, asdict(step))

    def steps(self, alert_ids: Sequence[str]) -> list[CaseStep]:
        if not alert_ids:
            return []
        return list(self.session.scalars(
            select(CaseStep).where(CaseStep.alert_id.in_(alert_ids)).order_by(CaseStep.at, CaseStep.id)))

    def alerts_of_child(self, child_id: str) -> list[Alert]:
        if self._preloaded and child_id in self._alerts:
            return list(self._alerts[child_id])
        return list(self.session.scalars(select(Alert).where(Alert.child_id == child_id).order_by(Alert.seq)))

    def max_alert_seq(self) -> int:
        return int(self.session.scalar(select(func.coalesce(func.max(Alert.seq), 0))) or 0)

    # --- outbox ----------------------------------------------------------------------------------
    def add_outbox(self, topic: str, key: str, payload: str, at: datetime) -> None:
        self._append(OutboxMessage, {"topic": topic, "key": key, "payload": payload, "created_at": at})
