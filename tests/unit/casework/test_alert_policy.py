"""The alert policy decides, from the child's state before and after a message and what casework knows, whether a
ward gets an alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.casework.domain.alert_policy import (
    AlertPolicy,
    ChildHistory,
    FlagsChange,
    HoldAlert,
    Listing,
    NoAlert,
    OpenCase,
    RaiseAlert,
    UpdateOpenCase,
)

pytestmark = pytest.mark.unit
NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
policy = AlertPolicy(alert_items=frozenset({1, 2, 4}), cooldown=timedelta(days=90))
# A child alerted long ago (the case was closed): only a new trigger is news.
ALERTED_BEFORE = ChildHistory(last_alert_at=NOW - timedelta(days=200), last_alert_tier="予防", alerts_raised=1)


def change(before: set[int], after: set[int], tier_before: str | None = None, tier_after: str | None = None,
           ward: str | None = "40131", guidance: bool = False, pending: Listing | None = None) -> FlagsChange:
    return FlagsChange(child_id="c-1", ward_code=ward, tier_before=tier_before, tier_after=tier_after,
                       items_before=frozenset(before), items_after=frozenset(after),
                       supported_by_child_guidance=guidance, pending=pending)


def test_entering_a_tier_raises_one_alert_for_the_ward_of_residence() -> None:
    decision = policy.decide(change(set(), {17}, None, "見守り"), ChildHistory(), NOW)
    assert isinstance(decision, RaiseAlert)
    assert (decision.ward_code, decision.tier, decision.items, decision.reason) == ("40131", "見守り", (17,),
                                                                                    "entered_tier")


def test_gaining_a_high_weight_item_raises_even_without_a_tier_change() -> None:
    decision = policy.decide(change({17}, {17, 4}, "予防", "予防"), ChildHistory(), NOW)
    assert isinstance(decision, RaiseAlert) and decision.reason == "high_weight_flag"


def test_a_low_weight_item_without_a_tier_change_is_not_an_alert_for_a_child_alerted_before() -> None:
    assert policy.decide(change({17}, {17, 18}, "予防", "予防"), ALERTED_BEFORE, NOW) == NoAlert("no_trigger")


def test_falling_to_a_lower_tier_is_not_an_alert_for_a_child_alerted_before() -> None:
    assert policy.decide(change({17, 18}, {17}, "予防", "見守り"), ALERTED_BEFORE, NOW) == NoAlert("no_trigger")


def test_a_child_never_alerted_who_carries_a_tier_is_alerted_whatever_message_shows_it() -> None:
    """Level-triggered: the tier came earlier (while no ward was known, say); now the child has a ward."""
    decision = policy.decide(change({17}, {17, 18}, "予防", "予防"), ChildHistory(), NOW)
    assert isinstance(decision, RaiseAlert)
    assert (decision.tier, decision.items, decision.reason) == ("予防", (17, 18), "entered_tier")
    only_item = policy.decide(change({4}, {4}), ChildHistory(), NOW)
    assert isinstance(only_item, RaiseAlert) and only_item.reason == "high_weight_flag"
    assert policy.decide(change({17}, {17}), ChildHistory(), NOW) == NoAlert("no_trigger")  # 17 not in alert_items


def test_the_same_situation_always_gets_the_same_alert_id() -> None:
    first = policy.decide(change(set(), {17}, None, "見守り"), ChildHistory(), NOW)
    again = policy.decide(change(set(), {17}, None, "見守り"), ChildHistory(), NOW + timedelta(hours=1))
    # The id never depends on when or through which message the situation was seen ...
    level = policy.decide(change({17}, {17}, "見守り", "見守り"), ChildHistory(), NOW)
    # ... but a child's next alert (after a closed case and the cool-down) is a new one.
    next_episode = policy.decide(change(set(), {17}, None, "見守り"), ALERTED_BEFORE, NOW)
    assert isinstance(first, RaiseAlert) and isinstance(again, RaiseAlert) and isinstance(level, RaiseAlert)
    assert isinstance(next_episode, RaiseAlert)
    assert first.alert_id == again.alert_id == level.alert_id and first.alert_key == again.alert_key
    assert next_episode.alert_id != first.alert_id


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


def test_a_child_without_a_known_ward_is_held_until_a_ward_is_known() -> None:
    held = policy.decide(change(set(), {4}, None, "重点", ward=None), ChildHistory(), NOW)
    assert held == HoldAlert(Listing("entered_tier", "重点", (4,), "重点"))


def test_a_held_listing_follows_the_tier_and_is_raised_unchanged_once_a_ward_is_known() -> None:
    listing = Listing("entered_tier", "見守り", (17,), "見守り")
    still_held = policy.decide(change({17}, {4, 17}, "見守り", "予防", ward=None, pending=listing), ChildHistory(), NOW)
    assert still_held == HoldAlert(Listing("entered_tier", "見守り", (17,), "予防"))
    assert isinstance(still_held, HoldAlert)
    # The ward arrives (a profile, or flags carrying it) with nothing else changed: the listing is raised.
    raised = policy.decide(change({4, 17}, {4, 17}, "予防", "予防", pending=still_held.listing), ChildHistory(), NOW)
    assert isinstance(raised, RaiseAlert)
    assert (raised.ward_code, raised.tier, raised.items, raised.reason) == ("40131", "予防", (17,), "entered_tier")
    # The same as when the ward was known from the start and the open alert followed the child up a tier.
    direct = policy.decide(change(set(), {17}, None, "見守り"), ChildHistory(), NOW)
    assert isinstance(direct, RaiseAlert) and direct.alert_id == raised.alert_id


def test_a_held_listing_is_raised_even_if_the_child_is_no_longer_flagged() -> None:
    """As an alert raised at once stays (its items struck through) when the flags clear."""
    listing = Listing("high_weight_flag", None, (4,), None)
    raised = policy.decide(change(set(), set(), pending=listing), ChildHistory(), NOW)
    assert isinstance(raised, RaiseAlert) and raised.items == (4,) and raised.reason == "high_weight_flag"


def test_an_open_case_is_updated_even_while_no_ward_is_known() -> None:
    history = ChildHistory(open_case=OpenCase("a-1", "40131", frozenset({17})), last_alert_at=NOW)
    assert policy.decide(change({17}, {17, 4}, ward=None), history, NOW) == UpdateOpenCase("a-1", (4,), ())
