"""The city lands within tolerance of the configured base rates (1 % Fukuoka, one year, seed 7).

Tolerances are about four binomial standard deviations at this size, so a real drift fails and chance
does not."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from simulator.rates import Rates
from simulator.wards import WARDS

pytestmark = pytest.mark.unit
R = Rates()


def within(observed: int, n: int, rate: float, sds: float = 4.0) -> bool:
    sd = math.sqrt(rate * (1 - rate) / n)
    return abs(observed / n - rate) <= sds * sd + 1e-9


def test_population_size_children_and_wards(clean_run) -> None:
    sim = clean_run.city.sim
    registered = sum(1 for e in clean_run.events if e.type == "resident_registry.person.registered"
                     and e.data["reason"] == "initial_load")
    assert 16_000 <= registered <= 16_010
    at_start = sim.pop.persons[:registered]  # later persons were born or moved in during the year
    children = sum(1 for p in at_start if p.age(sim.day0) <= 15)
    assert abs(children - 2_200) <= 30
    wards = Counter(h.ward_code for h in sim.pop.households[:5000])
    for w in WARDS:
        assert within(wards[w.code], 5000, w.share), w.name


def test_births_twins_and_single_parents(clean_run) -> None:
    sim = clean_run.city.sim
    births = [e for e in clean_run.events if e.type == "maternal_child_health.birth.recorded"
              and e.time.date() > sim.cfg.start]
    assert abs(len(births) - 120) <= 4 * math.sqrt(120)
    families = [h for h in sim.pop.households if h.kind in ("two_parent", "single_mother", "single_father")]
    singles = sum(1 for h in families if h.kind != "two_parent")
    assert within(singles, len(families), R.single_mother_share + R.single_father_share, sds=5)


def test_maternal_health_rates(clean_run) -> None:
    notices = [e.data for e in clean_run.events if e.type == "maternal_child_health.pregnancy.notified"]
    assert within(sum(d["gestational_weeks"] >= 12 for d in notices), len(notices), R.late_notification)
    epds = [e.data for e in clean_run.events if e.type == "maternal_child_health.postpartum_checkup.recorded"]
    assert within(sum(d["epds_total"] >= 9 for d in epds), len(epds), R.epds_high)
    checkups = Counter((e.data["checkup"], e.data["attended"]) for e in clean_run.events
                       if e.type == "maternal_child_health.infant_checkup.recorded")
    for kind, rate in (("3-4m", R.checkup_attendance_3_4m), ("1y6m", R.checkup_attendance_1y6m),
                       ("3y", R.checkup_attendance_3y)):
        attended = checkups[(kind, True)]
        missed = checkups[(kind, False)] * 2  # the system records half of the misses as 未受診
        assert within(attended, attended + missed, rate, sds=5), kind


def test_welfare_rates(clean_run) -> None:
    sim = clean_run.city.sim
    fuyo = {e.data["recipient_atena_no"] for e in clean_run.events
            if e.type == "child_allowance.eligibility.started" and e.data["allowance"] == "jido_fuyo_teate"
            and e.time.date() == sim.cfg.start}
    singles = [h for h in sim.pop.households[:len(sim.pop.households)]
               if h.kind in ("single_mother", "single_father") and h.children(sim.day0)]
    assert within(len(fuyo), len(singles), R.jido_fuyo_of_single_parents, sds=5)
    families = [h for h in sim.pop.households if h.kind in ("two_parent", "single_mother", "single_father")]
    cases = sum(1 for e in clean_run.events if e.type == "public_assistance.case.started"
                and e.time.date() == sim.cfg.start)
    assert within(cases, len(families), R.public_assistance_families, sds=5)


def test_school_absence_rates(clean_run) -> None:
    sim = clean_run.city.sim
    students = {e.data["student_id"]: e.data["grade"] for e in clean_run.events
                if e.type == "school_students.student.registered"}
    absences: Counter[str] = Counter()
    for e in clean_run.events:
        if e.type == "school_affairs.attendance.reported" and e.data["school_year"] == 2025:
            absences[e.data["student_id"]] += e.data["absence_days"]
    for level, rate, grades in (("elementary", R.absent_30_elementary, range(1, 7)),
                                ("junior high", R.absent_30_junior_high, range(7, 10))):
        ids = [s for s, g in students.items() if g in grades]
        chronic = sum(1 for s in ids if absences[s] >= 30)
        # the ones who left during the year were counted short; risk correlation keeps the mean
        assert within(chronic, len(ids), rate, sds=5), level
    assert sim.cfg.scale == 0.01
