"""After a move the old ward sees only what its alert showed when raised: no newer items, name or clearances."""

from __future__ import annotations

import pytest

from services.casework.bootstrap import Container
from services.casework.service_layer.worker import WorkerHandlers
from tests.integration.casework.web import add_user, client_for, seed_child
from tests.unit.casework.factories import flags_event, profile_event, raw

pytestmark = pytest.mark.integration


def _alert_rows(page: str) -> str:
    """The inbox's alert rows only (the page has other tables, e.g. データの鮮度, above them)."""
    start = page.index('<tbody id="alert-rows">')
    return page[start:page.index("</tbody>", start)]


def test_the_old_ward_sees_the_alert_as_raised_not_the_childs_current_data(pg_container: Container) -> None:
    add_user(pg_container, "higashi", "ward_staff", "40131")
    add_user(pg_container, "nishi", "ward_staff", "40135")
    add_user(pg_container, "hq", "hq_admin")
    seed_child(pg_container, "c-move", "40131", name="転居 花子", items=[3])
    worker = WorkerHandlers(pg_container)
    # The family moves to 西区 and the child's surname changes; then new, sensitive items appear and 3 clears.
    worker.process("profile", raw(profile_event("c-move", "40135", name="新姓 花子")), where="t")
    worker.process("flags", raw(flags_event("c-move", "40135", [3], [14, 17], tier_before="見守り",
                                            tier_after="重点")), where="t")
    east = client_for(pg_container, "higashi")
    (row,) = east.get("/api/alerts").json()
    assert row["status"] == "移管"
    assert (row["items"], row["current_items"], row["name_kanji"]) == ([3], [3], "転居 花子")
    page = east.get("/").text
    rows = _alert_rows(page)
    assert "転居 花子" in rows and "新姓" not in page
    assert "希死念慮" not in rows and "EPDS" not in rows and "解消" not in rows
    csv_text = east.get("/export.csv").content.decode("utf-8-sig")
    assert "新姓" not in csv_text and "14 17" not in csv_text and "転居 花子" in csv_text
    for item in (14, 17):  # filtering by a later item must not reveal that the child has it
        assert east.get(f"/api/alerts?item={item}").json() == []
        assert "転居" not in east.get(f"/?item={item}").text
    assert len(east.get("/api/alerts?item=3").json()) == 1
    # The ward of residence and HQ see the child as it is now.
    west_rows = client_for(pg_container, "nishi").get("/api/alerts").json()
    assert [(r["name_kanji"], r["current_items"]) for r in west_rows] == [("新姓 花子", [14, 17])]
    hq_rows = {r["ward_code"]: r for r in client_for(pg_container, "hq").get("/api/alerts").json()}
    assert hq_rows["40131"]["current_items"] == [14, 17]


def test_the_old_ward_neither_sees_nor_filters_by_the_childs_later_signals(container: Container) -> None:
    """行政とのつながり (issue 18) after a move: the old ward keeps the signals its alert showed, nothing newer."""
    add_user(container, "higashi", "ward_staff", "40131")
    add_user(container, "nishi", "ward_staff", "40135")
    seed_child(container, "c-move", "40131", name="転居 花子", items=[3], signals=["moved_in"])
    worker = WorkerHandlers(container)
    worker.process("profile", raw(profile_event("c-move", "40135", name="転居 花子")), where="t")
    worker.process("flags", raw(flags_event("c-move", "40135", [3], [3], tier_before="見守り", tier_after="見守り",
                                            signals=["unenrolled"])), where="t")
    east = client_for(container, "higashi")
    page = east.get("/?signal=unenrolled").text
    rows = _alert_rows(page)
    assert "転居" not in rows and "該当するアラートはありません" in rows
    assert east.get("/api/alerts?signal=unenrolled").json() == []
    assert "転居" not in east.get("/export.csv?signal=unenrolled").content.decode("utf-8-sig")
    everything = east.get("/").text
    rows = _alert_rows(everything)
    assert "転居 花子" in rows and "未就園" not in rows and "市外からの転入" in rows
    assert east.get("/children/c-move").status_code == 403  # the panel itself stays with the ward of residence
    west = client_for(container, "nishi")
    assert "転居 花子" in west.get("/?signal=unenrolled").text
    assert "未就園</strong>" in west.get("/children/c-move").text
