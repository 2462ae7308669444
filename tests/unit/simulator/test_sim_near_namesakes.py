"""Children at a city school who are not in the registry, named like a registry pupil born 2–5 weeks apart in another
ward (issue 14): what linkage must keep apart from the registry child."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from simulator.city import City
from simulator.life.engine import SimConfig
from simulator.rates import Rates
from simulator.wards import WARDS

pytestmark = pytest.mark.unit


def _city(rate: float) -> tuple[City, list]:  # type: ignore[type-arg]
    city = City(SimConfig(seed=5, scale=0.002, start=date(2025, 4, 1), days=2, noise_level=0.0,
                          rates=replace(Rates(), unregistered_near_namesake=rate)))
    return city, list(city.events())


def _ward(address: str) -> str:
    return next(w.name for w in WARDS if address.startswith(f"福岡市{w.name}"))


def test_unregistered_namesakes_are_registered_at_school_only_and_born_weeks_apart() -> None:
    city, events = _city(0.2)
    students = [e.data for e in events if e.type == "school_students.student.registered"]
    unregistered = [d for d in students if d["student_id"].startswith("U")]
    registered = [d for d in students if not d["student_id"].startswith("U")]
    assert 0.1 < len(unregistered) / len(registered) < 0.3
    persons = {p.student_id: p for p in city.sim.pop.persons if p.student_id}
    registry_atenas = {e.data["atena_no"] for e in events if e.system == "resident_registry"}
    for d in unregistered:
        assert d["atena_no"] is None
        child = persons[d["student_id"]]
        assert not child.resident and child.atena_no not in registry_atenas
        namesakes = [r for r in registered if (r["name_kanji"], r["name_kana"], r["sex"]) ==
                     (d["name_kanji"], d["name_kana"], d["sex"])]
        assert namesakes, "named like a registry pupil"
        gaps = [abs((date.fromisoformat(r["birth_date"]) - date.fromisoformat(d["birth_date"])).days)
                for r in namesakes]
        twin = namesakes[gaps.index(min(gaps))]
        assert 14 <= min(gaps) <= 35
        assert _ward(twin["address"]) != _ward(d["address"])


def test_the_rest_of_the_go_live_load_is_what_it_was() -> None:
    """Their own random stream: the other systems' go-live load and the registered pupils are unchanged (persons
    born later get later person numbers, so their 宛名番号 move on)."""
    _, without = _city(0.0)
    _, with_ = _city(0.2)

    def day0(events: list, school: bool) -> list:  # type: ignore[type-arg]
        return [e.data for e in events if e.event_id.split("-")[-2] == "0" and (e.system == "school_students") == school
                and not str(e.data.get("student_id", "")).startswith("U")]

    assert day0(without, False) == day0(with_, False)
    assert day0(without, True) == day0(with_, True)
