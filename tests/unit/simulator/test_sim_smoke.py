"""The smoke scenario: valid events that carry the facts of the items each family is built for."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from contracts.envelope import Envelope
from contracts.sources import SOURCE_SYSTEMS
from simulator.cli import main
from simulator.events import SourceEvent
from simulator.sinks.jsonl import read_jsonl
from simulator.smoke import EXPECTED_ITEMS, smoke_events

pytestmark = pytest.mark.unit

TODAY = date(2026, 11, 27)


def validate(event: SourceEvent) -> Envelope:  # type: ignore[type-arg]
    model = SOURCE_SYSTEMS[event.system].event_types[event.type]
    return Envelope[model].model_validate(event.envelope())  # type: ignore[valid-type]


@pytest.mark.parametrize("today", [TODAY, date(2027, 4, 10), date(2028, 2, 29), date(2026, 6, 1)])
def test_every_event_validates_against_its_contract(today: date) -> None:
    events = smoke_events(today)
    assert len(events) > 30
    for event in events:
        envelope = validate(event)
        assert envelope.type == event.type
        assert envelope.time.date() <= today
        assert event.topic == SOURCE_SYSTEMS[event.system].topic


def test_ids_are_deterministic_and_unique() -> None:
    first, second = smoke_events(TODAY), smoke_events(TODAY)
    assert [e.event_id for e in first] == [e.event_id for e in second]
    assert len({e.event_id for e in first}) == len(first)


def test_one_ward_puts_every_family_there_with_other_ids() -> None:
    east = smoke_events(TODAY, "40131")
    registry = [e for e in east if e.system == "resident_registry"]
    assert {e.data["ward_code"] for e in registry} == {"40131"}
    assert not {e.event_id for e in east} & {e.event_id for e in smoke_events(TODAY, "40132")}


def test_without_a_ward_the_families_spread_over_wards() -> None:
    wards = {e.data["ward_code"] for e in smoke_events(TODAY) if e.system == "resident_registry"}
    assert len(wards) == len(EXPECTED_ITEMS)


def by_type(events: list[SourceEvent]) -> dict[str, list[SourceEvent]]:
    out: dict[str, list[SourceEvent]] = defaultdict(list)
    for e in events:
        out[e.type].append(e)
    return out


def test_the_facts_behind_the_expected_items_are_there() -> None:
    events = by_type(smoke_events(TODAY))
    # 18: a 生活保護 case for a household registered with a child
    case = events["public_assistance.case.started"][0].data
    household = [e.data for e in events["resident_registry.person.registered"]
                 if e.data["household_no"] == case["household_no"]]
    assert any(m["relation_to_head"] == "子" for m in household)
    assert case["head_atena_no"] in {m["atena_no"] for m in household}
    # 19: 児童扶養手当 to the guardian, the children covered
    fuyo = [e.data for e in events["child_allowance.eligibility.started"] if e.data["allowance"] == "jido_fuyo_teate"]
    assert len(fuyo) == 2 and all(d["covered_atena_nos"] for d in fuyo)
    # 17: EPDS ≥ 9 or item 10 > 0
    epds = [e.data for e in events["maternal_child_health.postpartum_checkup.recorded"]]
    assert sum(d["epds_total"] >= 9 or d["epds_item10"] > 0 for d in epds) == 2
    # 15: notification at ≥ 12 weeks; 16: a birth with no prenatal visit for its pregnancy
    late = {e.data["pregnancy_id"] for e in events["maternal_child_health.pregnancy.notified"]
            if e.data["gestational_weeks"] >= 12}
    assert len(late) == 2
    visited = {e.data["pregnancy_id"] for e in events["maternal_child_health.prenatal_checkup.visited"]}
    births = {e.data["pregnancy_id"] for e in events["maternal_child_health.birth.recorded"]}
    assert len(births - visited) == 1
    # 12 and 13: ≥ 30 absences, ≥ 20 late arrivals in the school year
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for e in events["school_affairs.attendance.reported"]:
        totals[e.data["student_id"]][0] += e.data["absence_days"]
        totals[e.data["student_id"]][1] += e.data["late_arrivals"]
        assert e.data["absence_days"] <= e.data["school_days"]
    assert sorted(t[0] >= 30 for t in totals.values()) == [False, True]
    assert sorted(t[1] >= 20 for t in totals.values()) == [False, True]


def test_cli_writes_json_lines_and_prints_counts_without_names(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "smoke.jsonl"
    assert main(["smoke", "--out", str(out), "--ward", "40133", "--today", TODAY.isoformat()]) == 0
    lines = read_jsonl(out)
    assert len(lines) == len(smoke_events(TODAY, "40133"))
    assert {"topic", "key", "value"} == set(lines[0])
    printed = capsys.readouterr().out
    assert "source.resident-registry.v1" in printed and "total" in printed
    assert "山本" not in printed and "ヤマモト" not in printed
