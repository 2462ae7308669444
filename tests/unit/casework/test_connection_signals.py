"""行政とのつながり (issue 18): casework stores the child's current connection signals and filters the inbox by them,
through the real intake handlers and read model (in-memory SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy.orm import Session

from services.casework.adapters.orm import Child
from services.casework.domain.access import Principal, Role
from services.casework.entrypoints.web_pages import _filter
from services.casework.service_layer.views import InboxFilter, export_csv, inbox
from tests.unit.casework.factories import flags_event, profile_event
from tests.unit.casework.sqlite_intake import Intake

pytestmark = pytest.mark.unit

EAST = Principal(user_id="u1", username="higashi", role=Role.WARD_STAFF, ward_code="40131")
HAKATA = Principal(user_id="u2", username="hakata", role=Role.WARD_STAFF, ward_code="40132")
WEST = Principal(user_id="u3", username="nishi", role=Role.WARD_STAFF, ward_code="40135")
HQ = Principal(user_id="u4", username="hq", role=Role.HQ_ADMIN, ward_code=None)
TODAY = date(2026, 6, 1)


@pytest.fixture
def intake() -> Iterator[Intake]:
    it = Intake()
    yield it
    it.close()


def child(intake: Intake, child_id: str) -> Child:
    with Session(intake.engine) as session:
        found = session.get(Child, child_id)
        assert found is not None
        session.expunge(found)
        return found


def listed(intake: Intake, principal: Principal, **flt: object) -> list[tuple[str, str, list[str]]]:
    with Session(intake.engine) as session:
        rows = inbox(session, principal, TODAY, InboxFilter(**flt))  # type: ignore[arg-type]
    return [(r.child_id, r.ward_code, r.signals) for r in rows]


def test_the_signals_of_the_latest_flags_are_stored_with_their_evidence(intake: Intake) -> None:
    intake.run([("flags", flags_event("c-1", "40131", None, [3], tier_after="見守り",
                                      signals=["unenrolled", "moved_in"], event_id="f-1"))])
    stored = child(intake, "c-1")
    assert stored.current_signals == ["moved_in", "unenrolled"]
    assert [(s["code"], s["label_ja"], s["raised_on"]) for s in stored.signals or []] == [
        ("unenrolled", "未就園", "2026-04-01"), ("moved_in", "市外からの転入", "2026-04-01")]
    assert stored.signals is not None and stored.signals[0]["evidence"][0]["source_system"] == "resident_registry"
    assert stored.signals[0]["evidence"][0]["record_date"] == "2023-04-01"
    [alert] = intake.alerts()
    assert alert.signals_at_raise == ["moved_in", "unenrolled"]
    # The next change without a signals list (the contract's "absent = none") clears them.
    intake.run([("flags", flags_event("c-1", "40131", [3], [3, 17], tier_before="見守り", tier_after="予防",
                                      event_id="f-2"))])
    cleared = child(intake, "c-1")
    assert (cleared.signals, cleared.current_signals) == ([], [])
    assert intake.alerts()[0].signals_at_raise == ["moved_in", "unenrolled"]  # the alert keeps what it showed


def test_a_child_with_signals_only_is_stored_without_an_alert(intake: Intake) -> None:
    intake.run([("flags", flags_event("c-2", "40131", None, [], signals=["unenrolled"], event_id="f-1"))])
    assert child(intake, "c-2").current_signals == ["unenrolled"]
    assert intake.alerts() == []


def test_a_child_known_only_from_its_profile_has_no_signals_on_record(intake: Intake) -> None:
    intake.run([("profile", profile_event("c-3", "40131", event_id="p-1"))])
    assert child(intake, "c-3").signals is None  # unknown, which the child page says; not "none"


def test_the_inbox_filters_by_signal_within_the_ward(intake: Intake) -> None:
    intake.run([
        ("flags", flags_event("c-east", "40131", None, [3], tier_after="見守り", signals=["unenrolled"])),
        ("flags", flags_event("c-east-2", "40131", None, [17], tier_after="見守り", signals=["moved_in"])),
        ("flags", flags_event("c-east-3", "40131", None, [18], tier_after="見守り")),
        ("flags", flags_event("c-hakata", "40132", None, [3], tier_after="見守り", signals=["unenrolled"])),
    ])
    assert listed(intake, EAST, signal="unenrolled") == [("c-east", "40131", ["unenrolled"])]
    assert [c for c, _, _ in listed(intake, EAST, signal="moved_in")] == ["c-east-2"]
    assert listed(intake, EAST, signal="known_to_guidance") == []
    assert len(listed(intake, EAST)) == 3
    assert [c for c, _, _ in listed(intake, HAKATA, signal="unenrolled")] == ["c-hakata"]
    assert sorted(c for c, _, _ in listed(intake, HQ, signal="unenrolled")) == ["c-east", "c-hakata"]
    assert listed(intake, EAST, signal="unenrolled", item=17) == []  # combined with the other filters


def test_a_ward_the_child_left_neither_sees_nor_filters_by_its_later_signals(intake: Intake) -> None:
    intake.run([
        ("profile", profile_event("c-move", "40131", event_id="p-1", version=1, ward_since="2025-04-01")),
        ("flags", flags_event("c-move", "40131", None, [3], tier_after="見守り", signals=["moved_in"],
                              event_id="f-1", ward_since="2025-04-01")),
        # The family moves to 西区; the child then turns out unenrolled, and the old signal lapses.
        ("profile", profile_event("c-move", "40135", event_id="p-2", version=2, ward_since="2026-05-10")),
        ("flags", flags_event("c-move", "40135", [3], [3], tier_before="見守り", tier_after="見守り",
                              signals=["unenrolled"], event_id="f-2", ward_since="2026-05-10")),
    ])
    # The old ward sees the signals its alert showed when raised, nothing newer, and filters by those alone.
    assert listed(intake, EAST) == [("c-move", "40131", ["moved_in"])]
    assert listed(intake, EAST, signal="unenrolled") == []
    assert listed(intake, EAST, signal="moved_in") == [("c-move", "40131", ["moved_in"])]
    with Session(intake.engine) as session:
        csv_text = export_csv(inbox(session, EAST, TODAY))
    assert "未就園" not in csv_text and "市外からの転入" in csv_text
    # The ward of residence, and HQ on both rows, see the child's signals now.
    assert listed(intake, WEST, signal="unenrolled") == [("c-move", "40135", ["unenrolled"])]
    assert listed(intake, WEST, signal="moved_in") == []
    assert sorted(listed(intake, HQ, signal="unenrolled")) == [("c-move", "40131", ["unenrolled"]),
                                                                ("c-move", "40135", ["unenrolled"])]


def test_the_page_filter_takes_only_known_signal_codes() -> None:
    assert _filter(None, None, None, None, None, None, "unenrolled").signal == "unenrolled"
    assert _filter(None, None, None, None, None, None, "'; DROP").signal is None
    assert _filter(None, None, None, None, None, None, "").signal is None
