"""Applying listings, workflow steps and flag changes to the store: idempotent, any arrival order.

Each handler takes a validated envelope and a unit of work; an event id seen before changes nothing. A step may
arrive before its listing (two topics): the case row is then made from the step and completed by the alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from contracts.envelope import Envelope
from contracts.topics.casework import AlertV1, CaseOutcomeV1
from contracts.topics.scoring_flags import ChildFlagsV1
from services.evaluation.domain.stored import codes_text, items_of, items_text, to_utc_naive
from services.evaluation.service_layer.unit_of_work import AbstractUnitOfWork


@dataclass(frozen=True)
class Applied:
    outcome: str  # listing / step / flags / flags_stale / duplicate


def _seen(uow: AbstractUnitOfWork, key: str) -> bool:
    if uow.store.processed(key):
        return True
    uow.store.mark_processed(key)
    return False


def handle_alert(event: Envelope[AlertV1], uow: AbstractUnitOfWork) -> Applied:
    if _seen(uow, f"alert:{event.id}"):
        return Applied("duplicate")
    alert = event.data
    row = uow.store.case(alert.alert_id) or uow.store.add_case(alert.alert_id, alert.child_id, alert.ward_code, "")
    # The alert is the listing's own record: its items, tier and time win over what a step carried.
    row.listed_at, row.tier, row.items, row.reason = (
        to_utc_naive(alert.raised_at), alert.tier, items_text(alert.items), alert.reason)
    row.ward_code = alert.ward_code
    return Applied("listing")


def handle_outcome(event: Envelope[CaseOutcomeV1], uow: AbstractUnitOfWork) -> Applied:
    if _seen(uow, f"outcome:{event.id}"):
        return Applied("duplicate")
    outcome = event.data
    if uow.store.case(outcome.case_id) is None:
        uow.store.add_case(outcome.case_id, outcome.child_id, outcome.ward_code, items_text(outcome.items_at_listing))
    uow.store.add_step(event.id, outcome.case_id, outcome.step, outcome.result, to_utc_naive(outcome.recorded_at))
    return Applied("step")


def handle_flags(event: Envelope[ChildFlagsV1], uow: AbstractUnitOfWork) -> Applied:
    if _seen(uow, f"flags:{event.id}"):
        return Applied("duplicate")
    flags = event.data
    items = frozenset(f.item for f in flags.after.flags)
    when = to_utc_naive(event.time)
    row = uow.store.child(flags.child_id)
    if row is None:
        row = uow.store.add_child(flags.child_id, flags.as_of, when)
    elif (row.as_of, row.event_time) > (flags.as_of, when):
        # An older assessment arriving late still tells which items the child has carried.
        row.ever_items = items_text(items_of(row.ever_items) | items)
        return Applied("flags_stale")
    row.ward_code = flags.ward_code or row.ward_code
    row.tier, row.score, row.items = flags.after.tier, flags.after.score, items_text(items)
    row.ever_items = items_text(items_of(row.ever_items) | items)
    row.as_of, row.event_time, row.weights_version = flags.as_of, when, flags.weights_version
    row.supported_by_child_guidance = flags.after.supported_by_child_guidance
    uow.store.set_signals(flags.child_id, codes_text(s.code for s in flags.after.signals))  # for what-if's tiers
    return Applied("flags")


HANDLERS: dict[str, Any] = {"alerts": handle_alert, "outcomes": handle_outcome, "flags": handle_flags}
