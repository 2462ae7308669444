"""Issue 14 (5): a source's data horizon. A go-live that loads only a few years of 母子保健 history must not read
the records it left out as missed checkups (item 3) or missed prenatal care (item 16); nor may any other rule that
concludes from an absence (the signals 未就園 and 行政との接点なし) read a record left out of the load as missing."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from contracts.sources import SOURCE_SYSTEMS
from services.scoring.adapters.rulebook import RulebookError, load_rulebook, parse_rulebook
from services.scoring.config import GUIDELINE_ALL_RULES
from services.scoring.domain.facts import Fact
from services.scoring.domain.rulebook import HORIZON_PARAM, Rulebook, records_from, with_horizons
from services.scoring.domain.rules import RULE_SPECS, SIGNAL_SPECS
from services.scoring.domain.rules.connection import NO_CONTACT, UNENROLLED
from services.scoring.service_layer.handlers import decode_fact, handle_fact, sweep_child
from tests.unit.scoring.factories import (
    GUIDELINE,
    FakeStore,
    assess,
    envelope,
    fact,
    fact_dict,
    raised,
    residence,
)

pytestmark = pytest.mark.unit

GOOD = GUIDELINE_ALL_RULES.read_text(encoding="utf-8")
HORIZON = with_horizons(GUIDELINE, {"maternal_child_health": date(2023, 4, 1)}, "go-live-2y")


def test_a_child_loaded_at_go_live_gets_no_years_old_missed_checkup() -> None:
    # 10 years old at go-live: its infant checkups predate the horizon, none were loaded
    child = [residence("2015-05-10")]
    assert 3 in raised(child, "2025-04-02")          # without a horizon: "missed" three times, years back
    assert 3 not in raised(child, "2025-04-02", HORIZON)


def test_only_windows_that_open_after_the_horizon_are_judged() -> None:
    # born 2022-12-10: 3–4 m opens 2023-03-10 (before), 1 y 6 m opens 2024-06-10 (after), 3 y 2025-12-10
    child = [residence("2022-12-10")]
    assert 3 not in raised(child, "2024-12-09", HORIZON)
    assert 3 in raised(child, "2024-12-10", HORIZON)  # the 1 y 6 m window closed: judged, missed
    attended = fact("infant_checkup", valid_from="2024-07-01", checkup="1y6m", checkup_date="2024-07-01",
                    attended=True)
    assert 3 not in raised([*child, attended], "2024-12-10", HORIZON)


def test_a_window_opening_on_the_horizon_is_judged() -> None:
    child = [residence("2023-01-01")]  # 3–4 m opens 2023-04-01, the horizon itself
    assert 3 in raised(child, "2023-07-01", HORIZON)


def _pregnancy(notified: str, born: str) -> list:  # type: ignore[type-arg]
    return [residence(born), fact("birth", relation="self", valid_from=born, birth_date=born, pregnancy_id="P1"),
            fact("pregnancy_notified", relation="mother", valid_from=notified, notification_date=notified,
                 pregnancy_id="P1", gestational_weeks=8)]


def test_no_prenatal_checkup_is_judged_only_for_pregnancies_after_the_horizon() -> None:
    before = _pregnancy("2023-03-01", "2023-10-01")
    assert 16 in raised(before, "2023-10-02")
    assert 16 not in raised(before, "2023-10-02", HORIZON)
    after = _pregnancy("2023-04-01", "2023-11-01")
    assert 16 in raised(after, "2023-11-02", HORIZON)


def test_other_items_are_not_touched_by_the_horizon() -> None:
    low = [residence("2020-01-01", sex="1"),
           fact("infant_checkup", valid_from="2021-07-05", checkup="1y6m", checkup_date="2021-07-05",
                attended=True, hit_emotionally=True)]
    assert 4 in raised(low, "2025-04-02", HORIZON)


def test_the_rule_file_declares_horizons_per_source_and_they_version_the_evaluation() -> None:
    text = GOOD + '\n[data_horizons]\nversion = "h-2025.1"\n[data_horizons.sources]\n' \
                  'maternal_child_health = 2023-04-01\n'
    book = parse_rulebook(text)
    assert book.horizons == {"maternal_child_health": date(2023, 4, 1)}
    params = {r.item: r.params for r in book.rules.rules}
    assert params[3].records_from == params[16].records_from == date(2023, 4, 1)
    assert book.versions.endswith("|h-2025.1") and book.versions != GUIDELINE.versions
    assert raised([residence("2015-05-10")], "2025-04-02", book) & {3} == set()


@pytest.mark.parametrize(("extra", "message"), [
    ('\n[data_horizons]\nversion = "h"\n[data_horizons.sources]\nmaternal_health = 2023-04-01\n',
     "unknown source system"),
    ('\n[data_horizons]\nversion = "h"\n[data_horizons.sources]\nmaternal_child_health = "soon"\n',
     "maternal_child_health"),
    ('\n[data_horizons]\n[data_horizons.sources]\nmaternal_child_health = 2023-04-01\n', "version"),
])
def test_a_bad_horizon_is_refused(extra: str, message: str) -> None:
    with pytest.raises(RulebookError, match=message):
        parse_rulebook(GOOD + extra)


def test_the_horizon_cannot_be_set_as_an_item_parameter(tmp_path: Path) -> None:
    text = GOOD.replace('resident_by = "opened"', 'resident_by = "opened"\nrecords_from = 2023-04-01', 1)
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulebookError, match="data_horizons"):
        load_rulebook(path)


def test_without_a_horizon_nothing_changes() -> None:
    assert GUIDELINE.horizons == {} and GUIDELINE.versions.count("|") == 1


# --- the go-live, through the handlers: a load held until the first sweep, then the clock ---

GO_LIVE, FIRST_MORNING = date(2026, 4, 1), date(2026, 4, 2)
LOADED_FROM = date(2024, 4, 1)  # 母子保健 loaded two years back
TWO_YEARS = with_horizons(GUIDELINE, {"maternal_child_health": LOADED_FROM}, "go-live-2y")


def _load(store: FakeStore, facts: list[dict[str, Any]], rulebook: Rulebook) -> None:
    for data in facts:
        event_id, incoming = decode_fact(envelope(data), data["child_id"])
        handle_fact(incoming, event_id=event_id, partition=0, store=store, rulebook=rulebook, today=GO_LIVE,
                    hold=True)


def _sweep(store: FakeStore, child: str, today: date, rulebook: Rulebook) -> dict[str, Any] | None:
    raw = store.get(child)
    assert raw is not None
    published = sweep_child(child, raw, store=store, rulebook=rulebook, today=today)
    return None if published is None else published.envelope["data"]


def _resident_since_birth(child: str, born: str) -> dict[str, Any]:
    return fact_dict("residence", fact_id=f"res-{child}", child_id=child, valid_from=born, birth_date=born,
                     sex="2", ward_code="40131", resident_since=None)


def _attended(child: str, checkup: str, on: str) -> dict[str, Any]:
    return fact_dict("infant_checkup", fact_id=f"chk-{checkup}-{child}", child_id=child, valid_from=on,
                     checkup=checkup, checkup_date=on, attended=True)


def _items(data: dict[str, Any] | None) -> list[int]:
    return [] if data is None else [f["item"] for f in data["after"]["flags"]]  # (signals ride in their own list)


def test_go_live_a_child_resident_since_birth_is_not_flagged_for_windows_before_the_horizon() -> None:
    """Born 2022-12-10 here. 3–4 m (opens 2023-03-10) lies before the horizon: not loaded, not judged. 1 y 6 m
    (opens 2024-06-10) lies after it and was attended (loaded). 3 y (opens 2025-12-10, closes 2026-12-10) is
    still open at go-live; nobody comes: the day it closes, the clock raises item 3 for it, and only for it."""
    load = [_resident_since_birth("c1", "2022-12-10"), _attended("c1", "1y6m", "2024-07-01")]
    store = FakeStore()
    _load(store, load, TWO_YEARS)
    assert _items(_sweep(store, "c1", FIRST_MORNING, TWO_YEARS)) == []  # no years-old item 3
    assert _items(_sweep(store, "c1", date(2026, 12, 9), TWO_YEARS)) == []
    data = _sweep(store, "c1", date(2026, 12, 10), TWO_YEARS)
    assert data is not None and data["raised_items"] == [3]
    [flag] = data["after"]["flags"]
    assert flag["raised_on"] == "2026-12-10"
    assert "3歳児健診" in flag["detail_ja"] and "3〜4か月" not in flag["detail_ja"]
    # the same load without the horizon: the 3–4 m window reads as missed, dated years back
    full = FakeStore()
    _load(full, load, GUIDELINE)
    data = _sweep(full, "c1", FIRST_MORNING, GUIDELINE)
    assert _items(data) == [3] and data is not None
    assert data["after"]["flags"][0]["raised_on"] == "2023-06-10"


def test_go_live_a_window_after_the_horizon_that_closed_before_go_live_is_raised_by_the_first_sweep() -> None:
    """Born 2022-01-15: 3–4 m and 1 y 6 m opened before the horizon (unknown); 3 y opened 2025-01-15, after it,
    and closed 2026-01-15 with no record in the load: missed, raised by the first sweep with its closing day."""
    store = FakeStore()
    _load(store, [_resident_since_birth("c2", "2022-01-15")], TWO_YEARS)
    data = _sweep(store, "c2", FIRST_MORNING, TWO_YEARS)
    assert _items(data) == [3] and data is not None
    [flag] = data["after"]["flags"]
    assert flag["raised_on"] == "2026-01-15" and "3歳児健診" in flag["detail_ja"]
    assert "1歳6か月" not in flag["detail_ja"]


# --- every rule that concludes from an absence honours the horizon of the systems it reads it from ---

def test_every_absence_rule_names_known_source_systems_and_takes_the_horizon() -> None:
    absence = [spec for spec in (*RULE_SPECS.values(), *SIGNAL_SPECS.values()) if spec.concludes_absence]
    assert {s.item for s in absence} == {3, 16, UNENROLLED, NO_CONTACT}
    for spec in absence:
        assert spec.absence_sources and set(spec.absence_sources) <= set(SOURCE_SYSTEMS), spec.item
    for spec in (*RULE_SPECS.values(), *SIGNAL_SPECS.values()):
        assert bool(spec.absence_sources) == spec.concludes_absence, spec.item


def test_a_rule_that_concludes_from_an_absence_must_name_its_sources() -> None:
    spec = RULE_SPECS[3]
    with pytest.raises(ValueError, match="absence_sources"):
        dataclasses.replace(spec, absence_sources=())
    with pytest.raises(ValueError, match=HORIZON_PARAM):
        dataclasses.replace(RULE_SPECS[4], concludes_absence=True, absence_sources=("maternal_child_health",))


def test_of_several_sources_the_latest_horizon_counts() -> None:
    horizons = {"maternal_child_health": date(2023, 4, 1), "childcare": date(2024, 4, 1)}
    assert records_from(horizons, ("childcare", "maternal_child_health", "school_affairs")) == date(2024, 4, 1)
    assert records_from(horizons, ("school_affairs",)) is None
    book = with_horizons(GUIDELINE, horizons, "h")
    params = {r.item: r.params for r in book.rules.rules}
    assert params[3].records_from == params[16].records_from == date(2023, 4, 1)
    assert params[UNENROLLED].records_from == date(2024, 4, 1)


CHILDCARE_FROM = with_horizons(GUIDELINE, {"childcare": date(2024, 4, 1)}, "go-live-childcare")


def _signals(facts: list[Fact], today: str, rulebook: Rulebook) -> dict[int, Any]:
    return {s.item: s for s in assess(facts, today, rulebook).signals}


def test_unenrolled_is_dated_no_earlier_than_the_childcare_horizon() -> None:
    child = residence("2019-05-10")  # 満3歳 2022-05-10, before the horizon: a nursery then may not be loaded
    assert _signals([child], "2025-01-01", GUIDELINE)[UNENROLLED].raised_on == date(2022, 5, 10)
    signal = _signals([child], "2025-01-01", CHILDCARE_FROM)[UNENROLLED]
    assert signal.raised_on == date(2024, 4, 1)
    assert "保育施設等の記録は2024年4月1日以降" in signal.evidence[0].summary_ja
    ended = fact("childcare", valid_from="2023-04-01", valid_to="2024-09-30", facility_kind="kindergarten",
                 facility_code="F1")
    assert _signals([child, ended], "2025-01-01", CHILDCARE_FROM)[UNENROLLED].raised_on == date(2024, 9, 30)
    late = residence("2021-08-01")  # 満3歳 after the horizon: nothing changes
    assert _signals([late], "2025-01-01", CHILDCARE_FROM)[UNENROLLED].raised_on == date(2024, 8, 1)
    assert "以降" not in _signals([late], "2025-01-01", CHILDCARE_FROM)[UNENROLLED].evidence[0].summary_ja
    assert UNENROLLED not in _signals([child], "2024-03-31", CHILDCARE_FROM)  # before it, nothing is known


NO_CONTACT_ON = GOOD.replace('[signals.no_contact]  # 行政との接点なし: no checkup, nursery, school, '
                             'allowance or 児童相談 record for N months\nenabled = false',
                             '[signals.no_contact]\nenabled = true')


def test_no_contact_counts_its_months_from_the_latest_horizon_of_the_systems_it_reads() -> None:
    book = parse_rulebook(NO_CONTACT_ON + '\n[data_horizons]\nversion = "h"\n[data_horizons.sources]\n'
                                          'maternal_child_health = 2023-04-01\nschool_affairs = 2024-04-01\n')
    child = residence("2018-01-10")  # nothing on record: before the horizons that may be the load, not the child
    assert _signals([child], "2022-01-01", parse_rulebook(NO_CONTACT_ON))[NO_CONTACT].raised_on == date(2019, 1, 10)
    assert NO_CONTACT not in _signals([child], "2025-03-31", book)
    signal = _signals([child], "2025-04-01", book)[NO_CONTACT]
    assert signal.raised_on == date(2025, 4, 1) and "記録は2024年4月1日以降" in signal.evidence[0].summary_ja
