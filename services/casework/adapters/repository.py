"""Reads and writes of the case database, in the domain's words. The caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.casework.adapters.orm import Alert, CaseStep, Child, OutboxMessage, ProcessedEvent
from services.casework.domain.alert_policy import ChildHistory, OpenCase, RaiseAlert
from services.casework.domain.workflow import OPEN_STATES, CaseState, StepRecorded

SYSTEM_ACTOR = "system"


class CaseRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- idempotency -----------------------------------------------------------------------------
    def already_processed(self, event_key: str) -> bool:
        return self.session.get(ProcessedEvent, event_key) is not None

    def mark_processed(self, event_key: str, at: datetime) -> None:
        self.session.add(ProcessedEvent(event_key=event_key, processed_at=at))

    # --- children --------------------------------------------------------------------------------
    def child(self, child_id: str) -> Child | None:
        return self.session.get(Child, child_id)

    def child_or_new(self, child_id: str) -> Child:
        child = self.session.get(Child, child_id)
        if child is None:
            child = Child(child_id=child_id, current_items=[], flags=[], score=0.0, status="resident",
                          supported_by_child_guidance=False)
            self.session.add(child)
        return child

    # --- alerts and cases ------------------------------------------------------------------------
    def history(self, child_id: str) -> ChildHistory:
        open_alert = self.open_alert(child_id)
        last = self.session.scalars(
            select(Alert).where(Alert.child_id == child_id).order_by(Alert.raised_at.desc()).limit(1)
        ).first()
        return ChildHistory(
            open_case=OpenCase(open_alert.alert_id, open_alert.ward_code, frozenset(open_alert.items))
            if open_alert else None,
            last_alert_at=last.raised_at if last else None,
            last_alert_tier=last.tier if last else None,
        )

    def open_alert(self, child_id: str) -> Alert | None:
        return self.session.scalars(
            select(Alert).where(Alert.child_id == child_id, Alert.state.in_([s.value for s in OPEN_STATES]))
            .order_by(Alert.seq.desc()).limit(1)
        ).first()

    def alert(self, alert_id: str) -> Alert | None:
        return self.session.scalars(select(Alert).where(Alert.alert_id == alert_id)).first()

    def add_alert(self, decision: RaiseAlert, child_id: str, at: datetime, source_event_id: str) -> Alert | None:
        """Inserts the alert unless one with the same key exists; returns None for a duplicate."""
        if self.session.scalars(select(Alert.seq).where(Alert.alert_key == decision.alert_key)).first():
            return None
        alert = Alert(
            alert_id=decision.alert_id, alert_key=decision.alert_key, child_id=child_id,
            ward_code=decision.ward_code, tier=decision.tier, items=list(decision.items), reason=decision.reason,
            raised_at=at, state=CaseState.LISTED.value, state_changed_at=at, source_event_id=source_event_id,
        )
        try:
            with self.session.begin_nested():
                self.session.add(alert)
        except IntegrityError:
            return None  # another instance inserted the same situation meanwhile
        self.add_system_step(alert.alert_id, "一次スクリーニング", at, to_state=CaseState.LISTED.value,
                             details={"reason": decision.reason, "items": ",".join(map(str, decision.items))})
        return alert

    def add_system_step(self, alert_id: str, action: str, at: datetime, *, result: str | None = None,
                        details: dict[str, Any] | None = None, from_state: str | None = None,
                        to_state: str | None = None) -> None:
        self.session.add(CaseStep(alert_id=alert_id, action=action, result=result, reason="", details=details or {},
                                  from_state=from_state, to_state=to_state, actor_id=SYSTEM_ACTOR,
                                  actor_role=SYSTEM_ACTOR, at=at))

    def transfer(self, alert_id: str, to_ward: str, at: datetime) -> None:
        alert = self.alert(alert_id)
        if alert is None or alert.state not in {s.value for s in OPEN_STATES}:
            return
        self.add_system_step(alert_id, "移管", at, result=to_ward, from_state=alert.state,
                             to_state=CaseState.TRANSFERRED.value, details={"to_ward": to_ward})
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
        return list(self.session.scalars(select(Alert).where(Alert.child_id == child_id).order_by(Alert.seq)))

    def max_alert_seq(self) -> int:
        return int(self.session.scalar(select(func.coalesce(func.max(Alert.seq), 0))) or 0)

    # --- outbox ----------------------------------------------------------------------------------
    def add_outbox(self, topic: str, key: str, payload: str, at: datetime) -> None:
        self.session.add(OutboxMessage(topic=topic, key=key, payload=payload, created_at=at))

    def pending_outbox(self, limit: int = 500) -> list[OutboxMessage]:
        return list(self.session.scalars(
            select(OutboxMessage).where(OutboxMessage.published_at.is_(None)).order_by(OutboxMessage.id)
            .limit(limit).with_for_update(skip_locked=True)))
