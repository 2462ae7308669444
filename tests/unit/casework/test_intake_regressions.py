"""The two ways flagged children were lost or bounced between wards (issue 20), through the real handlers."""

from __future__ import annotations

import pytest

from tests.unit.casework.factories import flags_event, profile_event
from tests.unit.casework.sqlite_intake import Intake, Message

pytestmark = pytest.mark.unit


def first_without_ward() -> Message:
    """Scoring's first tier entry for a newborn: the residence fact has not come yet."""
    return ("flags", flags_event("c-1", None, None, [15, 17], tier_after="見守り", event_id="f-1"))


def then_with_ward() -> Message:
    """The residence fact came: the ward, and nothing else changed."""
    return ("flags", flags_event("c-1", "40131", [15, 17], [15, 17], tier_before="見守り", tier_after="見守り",
                                 event_id="f-2", ward_since="2026-03-01"))


def profile(ward: str = "40131", version: int = 1, since: str = "2026-03-01", event_id: str = "p-1") -> Message:
    return ("profile", profile_event("c-1", ward, event_id=event_id, version=version, ward_since=since))


@pytest.mark.parametrize("order", [
    "flags, flags with ward", "flags, profile", "flags, flags with ward, profile", "flags, profile, flags with ward",
    "profile, flags, flags with ward",
])
def test_a_child_first_flagged_without_a_ward_is_alerted_once_the_ward_is_known(order: str) -> None:
    messages = {"flags": first_without_ward(), "flags with ward": then_with_ward(), "profile": profile()}
    intake = Intake()
    intake.run([messages[name] for name in order.split(", ")])
    [alert] = intake.alerts()
    assert (alert.ward_code, alert.tier, alert.items, alert.reason) == ("40131", "見守り", [15, 17], "entered_tier")
    intake.close()


def test_the_alert_id_is_the_same_whichever_message_brought_the_ward_and_a_replay_raises_nothing() -> None:
    runs = []
    for order in ([first_without_ward(), then_with_ward()], [profile(), first_without_ward(), then_with_ward()],
                  [first_without_ward(), then_with_ward(), profile()]):
        intake = Intake()
        intake.run(order)
        intake.run(order)  # redelivered after a restart
        runs.append(intake.alert_facts())
        intake.close()
    assert runs[0] == runs[1] == runs[2] and len(runs[0]) == 1


def test_a_child_stuck_before_this_fix_is_alerted_on_its_next_message() -> None:
    """A child whose flags were applied while no ward was known and nothing was held (the old code)."""
    intake = Intake()
    intake.run([first_without_ward()])
    with intake.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE children SET pending_alert = NULL")
    assert intake.alerts() == []
    intake.run([profile()])
    assert [(a.ward_code, a.reason) for a in intake.alerts()] == [("40131", "entered_tier")]
    intake.close()


def test_an_older_flags_ward_never_moves_the_child_back() -> None:
    """Ward ping-pong: the profile's newer ward was processed before a backlog of flags with the old one."""
    intake = Intake()
    intake.run([
        ("flags", flags_event("c-1", "40131", None, [17], tier_after="予防", event_id="f-1",
                              ward_since="2025-04-01")),
        profile("40132", version=2, since="2026-05-10", event_id="p-2"),  # moved on 10 May
        ("flags", flags_event("c-1", "40131", [17], [17, 18], tier_before="予防", tier_after="予防", event_id="f-2",
                              ward_since="2025-04-01")),  # computed before scoring saw the move
        profile("40131", version=1, since="2025-04-01", event_id="p-1"),  # linkage's older profile, replayed
        ("flags", flags_event("c-1", "40132", [17, 18], [17, 18], tier_before="予防", tier_after="予防",
                              event_id="f-3", ward_since="2026-05-10")),
    ])
    alerts = intake.alerts()
    assert [(a.ward_code, a.reason, a.state) for a in alerts] == [
        ("40131", "entered_tier", "移管"), ("40132", "moved_ward", "一次スクリーニング")]
    assert len(intake.steps("移管")) == 1
    assert "profile_stale" in intake.outcomes
    intake.close()


def test_a_newer_profile_version_wins_and_an_older_one_changes_nothing() -> None:
    intake = Intake()
    intake.run([profile("40133", version=3, since="2026-01-01", event_id="p-3"),
                profile("40131", version=2, since="2026-02-01", event_id="p-2"),
                first_without_ward()])
    assert [a.ward_code for a in intake.alerts()] == ["40133"]
    assert intake.outcomes[1] == "profile_stale"
    intake.close()
