"""What a ward may see of an alert row (also what the live stream sends)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.casework.domain.access import Principal, Role
from services.casework.service_layer.views import InboxRow

pytestmark = pytest.mark.unit

EAST = Principal(user_id="u1", username="higashi", role=Role.WARD_STAFF, ward_code="40131")
WEST = Principal(user_id="u2", username="nishi", role=Role.WARD_STAFF, ward_code="40135")


def row(child_ward: str) -> InboxRow:
    return InboxRow(seq=1, alert_id="a", child_id="c", ward_code="40131", tier="見守り", items=[3],
                    reason="entered_tier", raised_at=datetime(2026, 5, 1, tzinfo=UTC), status="移管",
                    lead_division=None, current_items=[14, 17], name_kanji="新姓 花子", name_kana="シンセイ ハナコ",
                    birth_date="2024-10-01", age=1, child_ward_code=child_ward,
                    at_raise=("転居 花子", "テンキョ ハナコ", "2024-10-01"), signals=["unenrolled"],
                    signals_at_raise=["moved_in"])


def test_a_ward_the_child_left_sees_the_alert_as_raised() -> None:
    seen = row("40135").as_seen_by(EAST, date(2026, 6, 1))
    assert (seen.current_items, seen.name_kanji, seen.name_kana, seen.age) == ([3], "転居 花子", "テンキョ ハナコ", 1)
    assert "新姓" not in str(seen.api())
    assert seen.api()["signals"] == ["moved_in"] and "unenrolled" not in str(seen.api())


def test_the_ward_of_residence_sees_the_child_now() -> None:
    assert row("40135").as_seen_by(WEST).current_items == [14, 17]
    assert row("40135").as_seen_by(WEST).api()["signals"] == ["unenrolled"]
    assert row("40131").as_seen_by(EAST).name_kanji == "新姓 花子"
