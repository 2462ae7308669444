"""Flag intake (scoring.flags.v1) through the unit-of-work port, on the in-memory fake: no database (issue 12)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.envelope import Envelope
from contracts.topics.linkage_children import ChildProfileV1
from contracts.topics.scoring_flags import ChildFlagsV1
from services.casework.domain.alert_policy import AlertPolicy
from services.casework.service_layer.intake import IntakeResult, handle_flags, handle_profile
from tests.unit.casework.factories import flags_event, profile_event
from tests.unit.casework.fakes import FakeUnitOfWork

pytestmark = pytest.mark.unit
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
POLICY = AlertPolicy(alert_items=frozenset({4, 15}))


def flags(uow: FakeUnitOfWork, event: dict[str, Any], now: datetime = NOW) -> IntakeResult:
    envelope = Envelope[ChildFlagsV1].model_validate(event)
    return handle_flags(envelope, event_key=f"flags:{envelope.id}", uow=uow, policy=POLICY, now=now,
                        alerts_topic="t.casework.alerts.v1")


def profile(uow: FakeUnitOfWork, event: dict[str, Any]) -> IntakeResult:
    envelope = Envelope[ChildProfileV1].model_validate(event)
    return handle_profile(envelope, event_key=f"profile:{envelope.id}", uow=uow, policy=POLICY, now=NOW)


def test_a_child_entering_a_tier_in_a_known_ward_is_listed_once_with_its_event_queued() -> None:
    uow = FakeUnitOfWork()
    event = flags_event("c-1", "40131", None, [3, 17], tier_after="予防", event_id="f-1", signals=["unenrolled"])
    event["data"]["source_time"] = "2026-06-01T08:59:59+00:00"

    result = flags(uow, event)

    assert result.outcome == "alert_raised" and result.source_time == "2026-06-01T08:59:59+00:00"
    [alert] = uow.cases.alerts
    assert (alert.child_id, alert.ward_code, alert.tier, alert.items, alert.reason, alert.state) == (
        "c-1", "40131", "予防", [3, 17], "entered_tier", "一次スクリーニング")
    assert alert.signals_at_raise == ["unenrolled"] and alert.source_event_id == "f-1"
    [step] = uow.cases.steps([alert.alert_id])
    assert (step.action, step.actor_id, step.to_state) == ("一次スクリーニング", "system", "一次スクリーニング")
    [queued] = uow.cases.outbox
    assert (queued.topic, queued.key) == ("t.casework.alerts.v1", "c-1")
    sent = json.loads(queued.payload)
    assert sent["id"] == alert.alert_id and sent["type"] == "casework.alert.raised"
    assert sent["data"]["items"] == [3, 17] and sent["data"]["source_time"] == "2026-06-01T08:59:59+00:00"
    child = uow.cases.child("c-1")
    assert child is not None and (child.tier, child.current_items, child.current_signals) == (
        "予防", [3, 17], ["unenrolled"])
    assert "flags:f-1" in uow.cases.processed
    assert uow.committed == 0  # the caller owns the transaction (the worker commits a whole batch)


def test_a_redelivered_message_changes_nothing() -> None:
    uow = FakeUnitOfWork()
    event = flags_event("c-1", "40131", None, [3], tier_after="見守り", event_id="f-1")
    flags(uow, event)
    assert flags(uow, event).outcome == "duplicate"
    assert len(uow.cases.alerts) == 1 and len(uow.cases.outbox) == 1


def test_without_a_ward_the_listing_waits_on_the_child_until_a_profile_names_one() -> None:
    uow = FakeUnitOfWork()
    assert flags(uow, flags_event("c-1", None, None, [15], event_id="f-1")).outcome == "no_alert:no_ward"
    child = uow.cases.child("c-1")
    assert child is not None and child.pending_alert == {"reason": "high_weight_flag", "tier": None, "items": [15],
                                                         "tier_now": None, "held_since": NOW.isoformat()}
    assert uow.cases.alerts == [] and uow.cases.outbox == []

    assert profile(uow, profile_event("c-1", "40133", event_id="p-1")).outcome == "alert_raised"
    [alert] = uow.cases.alerts
    assert (alert.ward_code, alert.items, alert.reason) == ("40133", [15], "high_weight_flag")
    assert alert.name_kanji_at_raise == "福岡 花子" and child.pending_alert is None


def test_a_child_deleted_on_request_is_not_stored_again() -> None:
    uow = FakeUnitOfWork()
    uow.cases.forgotten_ids.add("c-1")
    assert flags(uow, flags_event("c-1", "40131", None, [3], tier_after="重点", event_id="f-1")).outcome == (
        "no_alert:deleted")
    assert uow.cases.child("c-1") is None and uow.cases.alerts == []
    assert "flags:f-1" in uow.cases.processed


def test_an_opted_out_child_is_stored_but_not_listed() -> None:
    uow = FakeUnitOfWork()
    uow.cases.opted_out_ids.add("c-1")
    assert flags(uow, flags_event("c-1", "40131", None, [3], tier_after="重点", event_id="f-1")).outcome == (
        "no_alert:opted_out")
    child = uow.cases.child("c-1")
    assert child is not None and child.tier == "重点"
    assert uow.cases.alerts == [] and uow.cases.outbox == []


def test_an_open_case_follows_the_childs_items_and_tier() -> None:
    uow = FakeUnitOfWork()
    flags(uow, flags_event("c-1", "40131", None, [3], tier_after="見守り", event_id="f-1"))
    result = flags(uow, flags_event("c-1", "40131", [3], [3, 9], tier_before="見守り", tier_after="重点",
                                    event_id="f-2", as_of="2026-05-02"))
    assert result.outcome == "case_updated"
    [alert] = uow.cases.alerts
    assert alert.tier == "重点"
    update = uow.cases.steps([alert.alert_id])[-1]
    assert update.action == "フラグ変化" and update.details == {"gained": "9", "cleared": "", "tier": "見守り→重点"}
    assert len(uow.cases.outbox) == 1  # an update is not a new alert


def test_a_move_transfers_the_open_case_to_the_new_ward() -> None:
    uow = FakeUnitOfWork()
    flags(uow, flags_event("c-1", "40131", None, [3], tier_after="見守り", event_id="f-1",
                           ward_since="2025-04-01"))
    result = flags(uow, flags_event("c-1", "40135", [3], [3], tier_before="見守り", tier_after="見守り",
                                    event_id="f-2", ward_since="2026-05-10", as_of="2026-05-11"))
    assert result.outcome == "alert_raised"
    old, new = uow.cases.alerts
    assert (old.ward_code, old.state) == ("40131", "移管")
    assert (new.ward_code, new.state, new.reason, new.items) == ("40135", "一次スクリーニング", "moved_ward", [3])
    moved = [s for s in uow.cases.steps([old.alert_id]) if s.action == "移管"]
    assert [(s.result, s.from_state, s.to_state, s.details) for s in moved] == [
        ("40135", "一次スクリーニング", "移管", {"to_ward": "40135"})]
