"""A go-live that loads only N years of 母子保健 history (``SimConfig.history_from``): the load leaves out the
records dated before the horizon, and the truth expects nothing the city cannot know."""

from __future__ import annotations

from datetime import date

import pytest

from simulator.city import City
from simulator.life.checkups import WINDOWS
from simulator.life.engine import SimConfig
from simulator.truth import UNENROLLED

pytestmark = pytest.mark.unit

START, HORIZON = date(2025, 4, 1), date(2023, 4, 1)
MCH_DATES = ("checkup_date", "notification_date", "visit_date", "birth_date")


def _city(history_from: date | None) -> tuple[City, list]:  # type: ignore[type-arg]
    city = City(SimConfig(seed=3, scale=0.002, start=START, days=30, noise_level=0.0, history_from=history_from))
    return city, list(city.events())


def test_the_load_carries_maternal_records_from_the_horizon_only_and_the_truth_agrees() -> None:
    full_city, full = _city(None)
    city, events = _city(HORIZON)
    assert city.config.run_id != full_city.config.run_id
    mch = [e for e in events if e.system == "maternal_child_health"]
    dates = [date.fromisoformat(e.data[f]) for e in mch for f in MCH_DATES if e.data.get(f)]
    assert dates and min(dates) >= HORIZON
    assert len(mch) < len([e for e in full if e.system == "maternal_child_health"])
    # every other system sends the same load
    assert [e.data for e in events if e.system != "maternal_child_health"] == \
           [e.data for e in full if e.system != "maternal_child_health"]
    persons = city.sim.pop.persons
    for (pid, item), spans in city.sim.truth.intervals.items():
        if item == 3:  # a missed checkup is expected only for a window that opened after the horizon
            born = persons[pid].birth
            assert any(w.opens_on(born) >= HORIZON.toordinal() and w.closes_on(born) == spans[0][0]
                       for w in WINDOWS)
    full_3 = {pid for (pid, item) in full_city.sim.truth.intervals if item == 3}
    horizon_3 = {pid for (pid, item) in city.sim.truth.intervals if item == 3}
    assert horizon_3 < full_3


def test_unenrolled_is_known_from_the_horizon_in_the_truth() -> None:
    """子ども・子育て支援 has the same horizon: a child unenrolled since 満3歳 before it is 未就園 from the horizon on
    (a nursery that ended before it would not be in the load), the same child and the same span otherwise."""
    full_city, _ = _city(None)
    city, _ = _city(HORIZON)
    full = {pid: spans for (pid, item), spans in full_city.sim.truth.intervals.items() if item == UNENROLLED}
    cut = {pid: spans for (pid, item), spans in city.sim.truth.intervals.items() if item == UNENROLLED}
    assert cut.keys() == full.keys()
    horizon = HORIZON.toordinal()
    assert any(spans[0][0] < horizon for spans in full.values())  # not vacuous: some began before it
    for pid, spans in cut.items():
        assert spans[0][0] == max(full[pid][0][0], horizon)
        assert spans[0][1:] == full[pid][0][1:] and spans[1:] == full[pid][1:]
