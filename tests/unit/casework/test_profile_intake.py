"""Profile intake (linkage.children.v1) through the unit-of-work port, on the in-memory fake (issue 12)."""

from __future__ import annotations

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
POLICY = AlertPolicy()


def profile(uow: FakeUnitOfWork, event: dict[str, Any]) -> IntakeResult:
    envelope = Envelope[ChildProfileV1].model_validate(event)
    return handle_profile(envelope, event_key=f"profile:{envelope.id}", uow=uow, policy=POLICY, now=NOW)


def flags(uow: FakeUnitOfWork, event: dict[str, Any]) -> IntakeResult:
    envelope = Envelope[ChildFlagsV1].model_validate(event)
    return handle_flags(envelope, event_key=f"flags:{envelope.id}", uow=uow, policy=POLICY, now=NOW)


def test_a_profile_is_stored_without_an_alert_when_the_child_carries_nothing() -> None:
    uow = FakeUnitOfWork()
    assert profile(uow, profile_event("c-1", "40131", event_id="p-1", ward_since="2024-10-01",
                                      version=3)).outcome == "profile_updated"
    child = uow.cases.child("c-1")
    assert child is not None
    assert (child.name_kanji, child.birth_date, child.ward_code, child.profile_version) == (
        "福岡 花子", "2024-10-01", "40131", 3)
    assert child.profile_updated_at == NOW and uow.cases.alerts == []
    assert profile(uow, profile_event("c-1", "40131", event_id="p-1")).outcome == "duplicate"


def test_an_older_version_of_the_profile_is_ignored() -> None:
    uow = FakeUnitOfWork()
    profile(uow, profile_event("c-1", "40131", name="新しい 名前", event_id="p-2", version=5))
    assert profile(uow, profile_event("c-1", "40132", name="古い 名前", event_id="p-1", version=4)).outcome == (
        "profile_stale")
    child = uow.cases.child("c-1")
    assert child is not None and (child.name_kanji, child.ward_code) == ("新しい 名前", "40131")
    assert "profile:p-1" in uow.cases.processed


def test_a_merged_record_closes_its_open_case_as_transferred() -> None:
    uow = FakeUnitOfWork()
    flags(uow, flags_event("c-dup", "40131", None, [3], tier_after="予防", event_id="f-1"))
    merged = profile_event("c-dup", "40131", event_id="p-1")
    merged["data"].update(status="merged", merged_into="c-1")
    assert profile(uow, merged).outcome == "case_merged"
    [alert] = uow.cases.alerts
    assert alert.state == "移管"
    last = uow.cases.steps([alert.alert_id])[-1]
    assert (last.action, last.result, last.details) == ("名寄せ統合", "統合", {"merged_into": "c-1"})
    child = uow.cases.child("c-dup")
    assert child is not None and child.pending_alert is None


def test_a_profile_for_a_child_deleted_on_request_is_dropped() -> None:
    uow = FakeUnitOfWork()
    uow.cases.forgotten_ids.add("c-1")
    assert profile(uow, profile_event("c-1", "40131", event_id="p-1")).outcome == "no_alert:deleted"
    assert uow.cases.child("c-1") is None
