"""The alert policy decides, from one flags change and what casework knows, whether a ward gets an alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.casework.domain.alert_policy import (
    AlertPolicy,
    ChildHistory,
    FlagsChange,
    NoAlert,
    OpenCase,
    RaiseAlert,
    UpdateOpenCase,
)

pytestmark = pytest.mark.unit
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
policy = AlertPolicy(alert_items=frozenset({1, 2, 4}), cooldown=timedelta(days=90))


def change(before: set[int], after: set[int], tier_before: str | None = None, tier_after: str | None = None,
           ward: str | None = "40131", guidance: bool = False, as_of: str = "2026-06-01") -> FlagsChange:
    return FlagsChange(child_id="c-1", ward_code=ward, as_of=as_of, tier_before=tier_before, tier_after=tier_after,
                       items_before=frozenset(before), items_after=frozenset(after),
                       supported_by_child_guidance=guidance)


def test_entering_a_tier_raises_one_alert_for_the_ward_of_residence() -> None:
    decision = policy.decide(change(set(), {17}, None, "見守り"), ChildHistory(), NOW)
    assert isinstance(decision, RaiseAlert)
    assert (decision.ward_code, decision.tier, decision.items, decision.reason) == ("40131", "見守り", (17,),
                                                                                    "entered_tier")


def test_gaining_a_high_weight_item_raises_even_without_a_tier_change() -> None:
    decision = policy.decide(change({17}, {17, 4}, "予防", "予防"), ChildHistory(), NOW)
    assert isinstance(decision, RaiseAlert) and decision.reason == "high_weight_flag"


def test_a_low_weight_item_without_a_tier_change_is_not_an_alert() -> None:
    assert policy.decide(change({17}, {17, 18}, "予防", "予防"), ChildHistory(), NOW) == NoAlert("no_trigger")


def test_falling_to_a_lower_tier_is_not_an_alert() -> None:
    assert policy.decide(change({17, 18}, {17}, "予防", "見守り"), ChildHistory(), NOW) == NoAlert("no_trigger")


def test_the_same_situation_always_gets_the_same_alert_id() -> None:
    first = policy.decide(change(set(), {17}, None, "見守り"), ChildHistory(), NOW)
    again = policy.decide(change(set(), {17}, None, "見守り"), ChildHistory(), NOW + timedelta(hours=1))
    other_day = policy.decide(change(set(), {17}, None, "見守り", as_of="2026-06-02"), ChildHistory(), NOW)
    assert isinstance(first, RaiseAlert) and isinstance(again, RaiseAlert) and isinstance(other_day, RaiseAlert)
    assert first.alert_id == again.alert_id and first.alert_key == again.alert_key
    assert other_day.alert_id != first.alert_id


def test_an_open_case_is_updated_instead_of_a_new_alert() -> None:
    history = ChildHistory(open_case=OpenCase("a-1", "40131", frozenset({17})), last_alert_at=NOW)
    decision = policy.decide(change({17}, {17, 4}, "見守り", "重点"), history, NOW)
    assert decision == UpdateOpenCase("a-1", (4,), (), "重点", tier_changed=True)  # the open alert now says 重点


def test_cleared_flags_update_the_open_case() -> None:
    history = ChildHistory(open_case=OpenCase("a-1", "40131", frozenset({17})), last_alert_at=NOW)
    # Everything cleared: the alert keeps the tier it had (there is no tier to show)
    assert policy.decide(change({17}, set(), "見守り", None), history, NOW) == UpdateOpenCase("a-1", (), (17,))


def test_an_open_case_follows_a_tier_change_without_new_items() -> None:
    history = ChildHistory(open_case=OpenCase("a-1", "40131", frozenset({17, 4})), last_alert_at=NOW)
    decision = policy.decide(change({17, 4}, {17, 4}, "予防", "重点"), history, NOW)  # new weights version
    assert decision == UpdateOpenCase("a-1", (), (), "重点", tier_changed=True)


def test_nothing_changed_for_an_open_case_is_nothing() -> None:
    history = ChildHistory(open_case=OpenCase("a-1", "40131", frozenset({17})), last_alert_at=NOW)
    assert policy.decide(change({17}, {17}, "見守り", "見守り"), history, NOW) == NoAlert("no_trigger")


def test_a_child_supported_by_child_guidance_gets_no_new_alert() -> None:
    decision = policy.decide(change(set(), {4}, None, "重点", guidance=True), ChildHistory(), NOW)
    assert decision == NoAlert("child_guidance")


def test_cooldown_holds_back_a_repeat_alert_but_not_an_escalation() -> None:
    history = ChildHistory(last_alert_at=NOW - timedelta(days=10), last_alert_tier="予防")
    assert policy.decide(change(set(), {17}, None, "予防"), history, NOW) == NoAlert("cooldown")
    assert isinstance(policy.decide(change({17}, {17, 18}, "予防", "重点"), history, NOW), RaiseAlert)


def test_after_the_cooldown_a_new_alert_is_raised() -> None:
    history = ChildHistory(last_alert_at=NOW - timedelta(days=91), last_alert_tier="予防")
    assert isinstance(policy.decide(change(set(), {17}, None, "予防"), history, NOW), RaiseAlert)


def test_moving_ward_with_an_open_case_reroutes_it_to_the_new_ward() -> None:
    history = ChildHistory(open_case=OpenCase("a-1", "40131", frozenset({17})), last_alert_at=NOW)
    decision = policy.decide(change({17}, {17}, "見守り", "見守り", ward="40135"), history, NOW)
    assert isinstance(decision, RaiseAlert)
    assert (decision.ward_code, decision.reason, decision.transfer_from) == ("40135", "moved_ward", "a-1")


def test_a_child_without_a_known_ward_cannot_be_routed() -> None:
    assert policy.decide(change(set(), {4}, None, "重点", ward=None), ChildHistory(), NOW) == NoAlert("no_ward")
