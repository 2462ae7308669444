"""Reads and writes of the case database, in the domain's words. The caller owns the transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
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
    PrivacyOptOut,
    ProcessedEvent,
)
from services.casework.domain.alert_policy import ChildHistory, OpenCase, RaiseAlert
from services.casework.domain.pseudonym import forgotten_hash
from services.casework.domain.workflow import OPEN_STATES, CaseState, StepRecorded

SYSTEM_ACTOR = "system"


class CaseRepository:
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
                          supported_by_child_guidance=False)
            self.session.add(child)
            self._children[child_id] = child
        return child

    # --- alerts and cases ------------------------------------------------------------------------
    def history(self, child_id: str) -> ChildHistory:
        # One query: a child has a handful of alerts at most.
        alerts = self.alerts_of_child(child_id)
        open_states = {s.value for s in OPEN_STATES}
        open_alert = next((a for a in reversed(alerts) if a.state in open_states), None)
        last = max(alerts, key=lambda a: a.raised_at, default=None)
        return ChildHistory(
            open_case=OpenCase(open_alert.alert_id, open_alert.ward_code, frozenset(open_alert.items), open_alert.tier)
            if open_alert else None,
            last_alert_at=last.raised_at if last else None,
            last_alert_tier=last.tier if last else None,
            alerts_raised=len(alerts),
        )

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

    def add_alert(self, decision: RaiseAlert, child_id: str, at: datetime, source_event_id: str) -> Alert | None:
        """Inserts the alert unless one with the same key exists; returns None for a duplicate."""
        if self._preloaded and child_id in self._alerts:
            if any(a.alert_key == decision.alert_key for a in self._alerts[child_id]):
                return None
        elif self.session.scalars(select(Alert.seq).where(Alert.alert_key == decision.alert_key)).first():
            return None
        alert = Alert(
            alert_id=decision.alert_id, alert_key=decision.alert_key, child_id=child_id,
            ward_code=decision.ward_code, tier=decision.tier, items=list(decision.items), reason=decision.reason,
            raised_at=at, state=CaseState.LISTED.value, state_changed_at=at, source_event_id=source_event_id,
        )
        child = self.child(child_id)
        if child is not None:  # what this alert shows its ward for good, whatever the child's record becomes
            alert.name_kanji_at_raise, alert.name_kana_at_raise = child.name_kanji, child.name_kana
            alert.birth_date_at_raise = child.birth_date
            alert.signals_at_raise = None if child.current_signals is None else list(child.current_signals)
        # A concurrent insert of the same key fails the whole transaction on the unique constraint;
        # the worker retries it and then sees the duplicate above (no savepoint on the hot path).
        self.session.add(alert)
        if child_id in self._alerts:
            self._alerts[child_id].append(alert)
        self.add_system_step(alert.alert_id, "一次スクリーニング", at, to_state=CaseState.LISTED.value,
                             details={"reason": decision.reason, "items": ",".join(map(str, decision.items))})
        return alert

    def add_system_step(self, alert_id: str, action: str, at: datetime, *, result: str | None = None,
                        details: dict[str, Any] | None = None, from_state: str | None = None,
                        to_state: str | None = None) -> None:
        self._append(CaseStep, {"alert_id": alert_id, "action": action, "result": result, "reason": "",
                                "details": details or {}, "from_state": from_state, "to_state": to_state,
                                "actor_id": SYSTEM_ACTOR, "actor_role": SYSTEM_ACTOR, "at": at})

    def transfer(self, alert_id: str, to_ward: str, at: datetime) -> None:
        alert = self.alert(alert_id)
        if alert is None or alert.state not in {s.value for s in OPEN_STATES}:
            return
        self.add_system_step(alert_id, "移管", at, result=to_ward, from_state=alert.state,
                             to_state=CaseState.TRANSFERRED.value, details={"to_ward": to_ward})
        alert.state, alert.state_changed_at = CaseState.TRANSFERRED.value, at

    def close_as_merged(self, alert_id: str, merged_into: str | None, at: datetime) -> None:
        """Linkage found the child to be a duplicate record: the case continues under the surviving child."""
        alert = self.alert(alert_id)
        if alert is None or alert.state not in {s.value for s in OPEN_STATES}:
            return
        self.add_system_step(alert_id, "名寄せ統合", at, result="統合", from_state=alert.state,
                             to_state=CaseState.TRANSFERRED.value, details={"merged_into": merged_into or ""})
        alert.state, alert.state_changed_at = CaseState.TRANSFERRED.value, at

    def record_step(self, alert: Alert, step: StepRecorded) -> None:
        self.session.add(CaseStep(
            alert_id=alert.alert_id, action=step.action.value, result=step.result, reason=step.reason,
            details=step.details, from_state=step.from_state.value, to_state=step.to_state.value,
            actor_id=step.actor_id, actor_role=step.actor_role, at=step.at,
        ))
        alert.state, alert.state_changed_at = step.to_state.value, step.at
        if "lead_division" in step.details:
            alert.lead_division = step.details["lead_division"]

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

    def pending_outbox(self, limit: int = 500) -> list[OutboxMessage]:
        # Two worker instances may both publish a row before either marks it: at-least-once, and every
        # event keeps its id, so consumers dedupe.
        return list(self.session.scalars(
            select(OutboxMessage).where(OutboxMessage.published_at.is_(None)).order_by(OutboxMessage.id)
            .limit(limit)))
