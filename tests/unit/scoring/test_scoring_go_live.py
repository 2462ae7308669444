"""Absence is concluded by the clock, and the go-live load is published settled: no flag that a record already
on its way would clear a moment later reaches the ward."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from services.scoring.service_layer.handlers import (
    Published,
    decode_fact,
    handle_fact,
    release_child,
    settle_child,
    sweep_child,
)
from tests.unit.scoring.factories import GUIDELINE, FakeStore, envelope, fact_dict

pytestmark = pytest.mark.unit

TODAY = date(2026, 6, 1)


def deliver(store: FakeStore, data: dict[str, Any], today: date = TODAY, hold: bool = False) -> Published | None:
    event_id, fact = decode_fact(envelope(data), data["child_id"])
    _outcome, published = handle_fact(fact, event_id=event_id, partition=0, store=store, rulebook=GUIDELINE,
                                      today=today, hold=hold)
    return published


def sweep(store: FakeStore, child: str, today: date) -> Published | None:
    raw = store.get(child)
    assert raw is not None
    return sweep_child(child, raw, store=store, rulebook=GUIDELINE, today=today)


def items(published: Published | None) -> list[int]:
    assert published is not None
    return [f["item"] for f in published.envelope["data"]["after"]["flags"]]


def residence(child: str, born: str) -> dict[str, Any]:
    return fact_dict("residence", fact_id=f"res-{child}", child_id=child, valid_from=born, birth_date=born, sex="2",
                     ward_code="40131", resident_since=None)


def checkup(child: str, kind: str, on: str, *, attended: bool = True, weight: float | None = None) -> dict[str, Any]:
    extra = {"weight_kg": weight} if weight is not None else {}
    return fact_dict("infant_checkup", fact_id=f"chk-{kind}-{child}", child_id=child, valid_from=on, checkup=kind,
                     checkup_date=on, attended=attended, **extra)


def test_a_child_whose_checkups_are_still_loading_is_not_flagged_by_the_registry_record() -> None:
    store = FakeStore()
    # A 1-year-old's registry record arrives before the 母子保健 history: the 3–4 month window closed long ago.
    assert deliver(store, residence("c1", "2025-03-10")) is None
    assert deliver(store, checkup("c1", "3-4m", "2025-06-20")) is None  # the history arrives: nothing missed
    assert sweep(store, "c1", TODAY + timedelta(days=1)) is None


def test_a_missed_checkup_that_no_record_contradicts_is_raised_by_the_next_days_sweep_with_its_closing_date() -> None:
    store = FakeStore()
    assert deliver(store, residence("c1", "2025-03-10")) is None
    assert sweep(store, "c1", TODAY) is None  # the same day: still waiting for the day's records
    published = sweep(store, "c1", TODAY + timedelta(days=1))
    assert items(published) == [3]
    assert published is not None
    [flag] = published.envelope["data"]["after"]["flags"]
    assert flag["raised_on"] == "2025-09-10"  # the day the 3–4 month window closed (満6か月)


def test_a_window_closing_is_raised_by_the_sweep_on_the_closing_day_itself() -> None:
    store = FakeStore()
    deliver(store, residence("c1", "2025-12-01"), today=date(2026, 5, 1))
    assert sweep(store, "c1", date(2026, 5, 31)) is None
    assert items(sweep(store, "c1", date(2026, 6, 1))) == [3]  # 満6か月 on 1 June: closed, no attendance


def test_an_arriving_record_clears_an_absence_at_once() -> None:
    store = FakeStore()
    deliver(store, residence("c1", "2025-03-10"))
    assert items(sweep(store, "c1", TODAY + timedelta(days=1))) == [3]
    late = deliver(store, checkup("c1", "3-4m", "2025-06-20"), today=TODAY + timedelta(days=2))
    assert late is not None and items(late) == [] and late.envelope["data"]["cleared_items"] == [3]


def test_other_items_are_raised_by_the_fact_itself() -> None:
    store = FakeStore()
    deliver(store, residence("c1", "2025-03-10"))
    published = deliver(store, fact_dict("public_assistance", fact_id="pa-1", child_id="c1", relation="household",
                                         valid_from="2026-05-01", case_no="C1"))
    assert items(published) == [18]  # item 3 still waits for the clock
    assert items(sweep(store, "c1", TODAY + timedelta(days=1))) == [3, 18]


def test_no_prenatal_checkup_waits_for_the_end_of_the_birth_day() -> None:
    store = FakeStore()
    born = "2026-06-01"
    deliver(store, residence("c1", born))
    deliver(store, fact_dict("pregnancy_notified", fact_id="pn-1", child_id="c1", relation="mother",
                             valid_from="2025-10-01", pregnancy_id="P1", notification_date="2025-10-01",
                             gestational_weeks=10))
    assert deliver(store, fact_dict("birth", fact_id="b-1", child_id="c1", valid_from=born, birth_date=born,
                                    pregnancy_id="P1")) is None
    assert items(sweep(store, "c1", TODAY + timedelta(days=1))) == [16]


def test_the_go_live_load_publishes_nothing_until_the_next_sweep_and_then_only_the_settled_assessment() -> None:
    store = FakeStore()
    history = [residence("c1", "2022-01-15"),
               checkup("c1", "3-4m", "2022-05-01", weight=6.0),
               checkup("c1", "1y6m", "2023-07-20", weight=7.9),  # low on its own (below the 3rd percentile) ...
               checkup("c1", "3y", "2025-02-01", weight=14.0),  # ... but the latest measurement is not
               fact_dict("allowance", fact_id="al-1", child_id="c1", relation="guardian", valid_from="2023-01-01",
                         allowance="jido_fuyo_teate")]
    assert [deliver(store, data, hold=True) for data in history] == [None] * len(history)
    published = sweep(store, "c1", TODAY + timedelta(days=1))
    assert items(published) == [19]  # never item 9, never item 3
    assert published is not None and published.envelope["data"]["before"] is None
    assert sweep(store, "c1", TODAY + timedelta(days=2)) is None


def test_without_the_hold_the_same_load_makes_item_9_flicker() -> None:
    """Why the hold exists: histories arrive in order, and each partial history is assessed as it stands."""
    store = FakeStore()
    seen = set()
    for data in [residence("c1", "2022-01-15"), checkup("c1", "1y6m", "2023-07-20", weight=7.9),
                 checkup("c1", "3y", "2025-02-01", weight=14.0)]:
        published = deliver(store, data)
        if published is not None:
            seen |= set(items(published))
    assert 9 in seen


def test_settling_concludes_the_absence_the_same_day_as_the_sweep_would() -> None:
    store = FakeStore()
    assert deliver(store, residence("c1", "2025-03-10")) is None
    raw = store.get("c1")
    assert raw is not None
    settled = settle_child("c1", raw, store=store, rulebook=GUIDELINE, today=TODAY)
    assert items(settled) == [3]
    assert settled is not None and settled.envelope["data"]["as_of"] == TODAY.isoformat()
    assert sweep(store, "c1", TODAY + timedelta(days=1)) is None  # the sweep has nothing left to say


def test_a_child_released_after_a_backlog_gets_its_facts_flags_but_its_absences_still_wait_for_the_clock() -> None:
    """docs/scoring.md "Backlogs": held facts, then ``release_child`` once the backlog is through."""
    store = FakeStore()
    assert deliver(store, residence("c1", "2025-03-10"), hold=True) is None  # the 3–4 month window has closed
    raw = store.get("c1")
    assert raw is not None and raw.get("d") is None  # recorded, not evaluated
    assert release_child("c1", raw, store=store, rulebook=GUIDELINE, today=TODAY) is None  # its checkup may come
    assert 3 in items(sweep(store, "c1", TODAY + timedelta(days=1)))  # the next day's sweep concludes it
