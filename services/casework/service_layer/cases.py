"""The ward's use cases on its cases: the child page, workflow steps (the inbox read model is views.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.envelope import envelope_dict
from contracts.topics.casework import OUTCOMES_TOPIC, CaseOutcomeV1
from services.casework.domain.access import AccessDenied, Permission, Principal
from services.casework.domain.workflow import CaseState, StepCommand, StepRecorded, apply_step
from services.casework.service_layer.intake import SOURCE
from services.casework.service_layer.unit_of_work import (
    AbstractUnitOfWork,
    AlertRecord,
    ChildRecord,
    NewStep,
    StepRecord,
)


@dataclass
class ChildView:
    child: ChildRecord
    alerts: Sequence[AlertRecord]
    steps: dict[str, list[StepRecord]]

    @property
    def open_alert(self) -> AlertRecord | None:
        return next((a for a in reversed(self.alerts)
                     if a.state not in (CaseState.CLOSED.value, CaseState.TRANSFERRED.value)), None)


def visible_child(uow: AbstractUnitOfWork, principal: Principal, child_id: str) -> ChildView:
    """The child with the alerts this user may see; AccessDenied when none of it is in their scope."""
    if not principal.can(Permission.VIEW_CASES):
        raise AccessDenied("view_cases")
    repo = uow.cases
    child = repo.child(child_id)
    if child is None:
        raise AccessDenied("unknown_child")  # same answer as another ward's child: existence is not leaked
    # The ward of residence decides: after a move the old ward keeps its (移管) alert in its list but no
    # longer sees the child's current address or flags.
    if not principal.sees_ward(child.ward_code):
        raise AccessDenied("other_ward")
    alerts = [a for a in repo.alerts_of_child(child_id) if principal.sees_ward(a.ward_code)]
    steps: dict[str, list[StepRecord]] = {a.alert_id: [] for a in alerts}
    for step in repo.steps([a.alert_id for a in alerts]):
        steps[step.alert_id].append(step)
    return ChildView(child=child, alerts=alerts, steps=steps)


def child_api(view: ChildView) -> dict[str, Any]:
    c = view.child
    return {
        "child_id": c.child_id,
        "profile": {"name_kanji": c.name_kanji, "name_kana": c.name_kana, "birth_date": c.birth_date, "sex": c.sex,
                    "ward_code": c.ward_code, "address": c.address, "household_id": c.household_id,
                    "status": c.status},
        "tier": c.tier, "score": c.score, "current_items": c.current_items, "flags": c.flags,
        "signals": c.signals,  # 行政とのつながり (SignalV1 JSON); null = none received yet
        "flags_as_of": c.flags_as_of, "supported_by_child_guidance": c.supported_by_child_guidance,
        "alerts": [{
            "alert_id": a.alert_id, "ward_code": a.ward_code, "tier": a.tier, "items": a.items, "reason": a.reason,
            "raised_at": a.raised_at.isoformat(), "status": a.state, "lead_division": a.lead_division,
            "timeline": [{"action": s.action, "result": s.result, "reason": s.reason, "details": s.details,
                          "from_state": s.from_state, "to_state": s.to_state, "actor_id": s.actor_id,
                          "actor_role": s.actor_role, "at": s.at.isoformat()} for s in view.steps[a.alert_id]],
        } for a in view.alerts],
    }


def case_for_step(uow: AbstractUnitOfWork, principal: Principal, alert_id: str) -> AlertRecord:
    if not principal.can(Permission.RECORD_STEP):
        raise AccessDenied("record_step")
    alert = uow.cases.alert(alert_id)
    if alert is None or not principal.sees_ward(alert.ward_code):
        raise AccessDenied("other_ward" if alert else "unknown_case")
    return alert


def record_step(uow: AbstractUnitOfWork, principal: Principal, alert: AlertRecord, command: StepCommand,
                now: datetime, outcomes_topic: str = OUTCOMES_TOPIC.name) -> StepRecorded:
    """Records a person's workflow step on the case (case_for_step found it) and queues the outcome."""
    step = apply_step(CaseState(alert.state), command, actor_id=principal.user_id,
                      actor_role=principal.role.value, at=now)
    repo = uow.cases
    repo.add_step(NewStep(alert_id=alert.alert_id, action=step.action.value, at=step.at, actor_id=step.actor_id,
                          actor_role=step.actor_role, result=step.result, reason=step.reason, details=step.details,
                          from_state=step.from_state.value, to_state=step.to_state.value))
    alert.state, alert.state_changed_at = step.to_state.value, step.at
    if "lead_division" in step.details:
        alert.lead_division = step.details["lead_division"]
    outcome = CaseOutcomeV1(case_id=alert.alert_id, child_id=alert.child_id, ward_code=alert.ward_code,
                            step=step.action.value, result=step.result, items_at_listing=list(alert.items),
                            recorded_at=now.isoformat(), actor_role=principal.role.value)
    event = envelope_dict(data=outcome, type_="casework.step.recorded", source=SOURCE, subject=alert.alert_id,
                          time=now)
    repo.add_outbox(outcomes_topic, alert.alert_id, json.dumps(event, ensure_ascii=False), now)
    return step
