"""区が未確定の対象者: held listings counted for the gauges and listed for HQ, from the in-memory fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from contracts.envelope import Envelope
from contracts.topics.linkage_children import ChildProfileV1
from contracts.topics.scoring_flags import ChildFlagsV1
from services.casework.domain.alert_policy import AlertPolicy
from services.casework.metrics import CaseworkMetrics
from services.casework.service_layer import held_listings
from services.casework.service_layer.intake import handle_flags, handle_profile
from tests.unit.casework.factories import flags_event, profile_event
from tests.unit.casework.fakes import FakeUnitOfWork

pytestmark = pytest.mark.unit
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
POLICY = AlertPolicy(alert_items=frozenset({4, 15}))


def flags(uow: FakeUnitOfWork, event: dict[str, Any], now: datetime) -> str:
    envelope = Envelope[ChildFlagsV1].model_validate(event)
    return handle_flags(envelope, event_key=f"flags:{envelope.id}", uow=uow, policy=POLICY, now=now).outcome


def profile(uow: FakeUnitOfWork, event: dict[str, Any], now: datetime) -> str:
    envelope = Envelope[ChildProfileV1].model_validate(event)
    return handle_profile(envelope, event_key=f"profile:{envelope.id}", uow=uow, policy=POLICY, now=now).outcome


def gauges(uow: FakeUnitOfWork, now: datetime) -> tuple[float, float]:
    registry = CollectorRegistry()
    held_listings.refresh_gauges(uow, CaseworkMetrics(registry), now)
    count = registry.get_sample_value("tsunagu_casework_listings_held")
    oldest = registry.get_sample_value("tsunagu_casework_listing_held_oldest_seconds")
    assert count is not None and oldest is not None
    return count, oldest


def test_nothing_held_reads_zero() -> None:
    uow = FakeUnitOfWork()
    assert flags(uow, flags_event("c-1", "40131", None, [15], event_id="f-1"), T0) == "alert_raised"
    assert gauges(uow, T0 + timedelta(days=9)) == (0.0, 0.0)


def test_held_children_are_counted_and_the_oldest_keeps_its_first_hold_time() -> None:
    uow = FakeUnitOfWork()
    assert flags(uow, flags_event("c-old", None, None, [15], event_id="f-1"), T0) == "no_alert:no_ward"
    # the same child's tier rises a day later: still held, but held since the first time
    assert flags(uow, flags_event("c-old", None, [15], [15, 4], tier_after="予防", event_id="f-2"),
                 T0 + timedelta(days=1)) == "no_alert:no_ward"
    assert flags(uow, flags_event("c-new", None, None, [4], event_id="f-3"),
                 T0 + timedelta(days=2)) == "no_alert:no_ward"
    assert flags(uow, flags_event("c-none", None, None, [7], event_id="f-4"), T0) == "no_alert:no_trigger"
    now = T0 + timedelta(days=4)
    assert gauges(uow, now) == (2.0, timedelta(days=4).total_seconds())

    [old, new] = held_listings.held_listings(uow, now)
    assert (old.child_id, old.tier, old.items, old.reason) == ("c-old", "予防", (15,), "high_weight_flag")
    assert old.held_since == T0 and new.held_since == T0 + timedelta(days=2)
    assert old.sources == ("maternal_child_health",) and not old.has_profile and old.age_months is None


def test_a_ward_arriving_releases_the_listing_from_the_count() -> None:
    uow = FakeUnitOfWork()
    flags(uow, flags_event("c-1", None, None, [15], event_id="f-1"), T0)
    flags(uow, flags_event("c-2", None, None, [15], event_id="f-2"), T0 + timedelta(hours=1))
    # a profile without a ward (linkage knows the child, 住民記録 does not): still held, birth date now known
    assert profile(uow, profile_event("c-2", None, event_id="p-0", birth_date="2026-05-20"),
                   T0 + timedelta(hours=2)) == "profile_updated"
    [_, second] = held_listings.held_listings(uow, T0 + timedelta(days=1))
    assert second.has_profile and second.age_months == 0 and second.age_label() == "0歳0か月"
    assert profile(uow, profile_event("c-1", "40133", event_id="p-1"), T0 + timedelta(days=3)) == "alert_raised"
    assert gauges(uow, T0 + timedelta(days=3)) == (1.0, timedelta(days=3, hours=-1).total_seconds())


def test_a_listing_held_before_its_start_was_recorded_falls_back_to_the_last_flags_update() -> None:
    uow = FakeUnitOfWork()
    flags(uow, flags_event("c-1", None, None, [15], event_id="f-1"), T0)
    child = uow.cases.child("c-1")
    assert child is not None and child.pending_alert is not None
    del child.pending_alert["held_since"]  # as stored by casework before held_since was kept
    assert gauges(uow, T0 + timedelta(days=1)) == (1.0, 86400.0)
