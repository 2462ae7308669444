"""Applying listings, workflow steps and flag changes to the store: idempotent, any arrival order.

Each handler takes a validated envelope and a session; an event id seen before changes nothing. A step may
arrive before its listing (two topics): the case row is then made from the step and completed by the alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from contracts.envelope import Envelope
from contracts.topics.casework import AlertV1, CaseOutcomeV1
from contracts.topics.scoring_flags import ChildFlagsV1
from services.evaluation.adapters.messages import to_utc_naive
from services.evaluation.adapters.orm import CaseRow, ChildRow, ProcessedEvent, StepRow, items_of, items_text


@dataclass(frozen=True)
class Applied:
    outcome: str  # listing / step / flags / flags_stale / duplicate


def _seen(session: Session, key: str) -> bool:
    if session.get(ProcessedEvent, key) is not None:
        return True
    session.add(ProcessedEvent(event_id=key))
    return False


def handle_alert(event: Envelope[AlertV1], session: Session) -> Applied:
    if _seen(session, f"alert:{event.id}"):
        return Applied("duplicate")
    alert = event.data
    row = session.get(CaseRow, alert.alert_id)
    if row is None:
        row = CaseRow(case_id=alert.alert_id, child_id=alert.child_id, ward_code=alert.ward_code)
        session.add(row)
    # The alert is the listing's own record: its items, tier and time win over what a step carried.
    row.listed_at, row.tier, row.items, row.reason = (
        to_utc_naive(alert.raised_at), alert.tier, items_text(alert.items), alert.reason)
    row.ward_code = alert.ward_code
    return Applied("listing")


def handle_outcome(event: Envelope[CaseOutcomeV1], session: Session) -> Applied:
    if _seen(session, f"outcome:{event.id}"):
        return Applied("duplicate")
    outcome = event.data
    if session.get(CaseRow, outcome.case_id) is None:
        session.add(CaseRow(case_id=outcome.case_id, child_id=outcome.child_id, ward_code=outcome.ward_code,
                            listed_at=None, tier=None, items=items_text(outcome.items_at_listing), reason=None))
    session.add(StepRow(event_id=event.id, case_id=outcome.case_id, step=outcome.step, result=outcome.result,
                        recorded_at=to_utc_naive(outcome.recorded_at)))
    return Applied("step")


def handle_flags(event: Envelope[ChildFlagsV1], session: Session) -> Applied:
    if _seen(session, f"flags:{event.id}"):
        return Applied("duplicate")
    flags = event.data
    items = frozenset(f.item for f in flags.after.flags)
    when = to_utc_naive(event.time)
    row = session.get(ChildRow, flags.child_id)
    if row is None:
        row = ChildRow(child_id=flags.child_id, ever_items="", as_of=flags.as_of, event_time=when)
        session.add(row)
    elif (row.as_of, row.event_time) > (flags.as_of, when):
        # An older assessment arriving late still tells which items the child has carried.
        row.ever_items = items_text(items_of(row.ever_items) | items)
        return Applied("flags_stale")
    row.ward_code = flags.ward_code or row.ward_code
    row.tier, row.score, row.items = flags.after.tier, flags.after.score, items_text(items)
    row.ever_items = items_text(items_of(row.ever_items) | items)
    row.as_of, row.event_time, row.weights_version = flags.as_of, when, flags.weights_version
    row.supported_by_child_guidance = flags.after.supported_by_child_guidance
    return Applied("flags")


HANDLERS: dict[str, Any] = {"alerts": handle_alert, "outcomes": handle_outcome, "flags": handle_flags}
