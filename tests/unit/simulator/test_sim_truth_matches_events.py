"""The truth agrees with the events: an independent reading of the (noise-free) events, applying BRIEF.md's
rule table on the last simulated day, finds exactly the children the truth flags."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import pytest

from simulator.growth import P3_Z, weight_at_z
from simulator.life.checkups import WINDOWS
from simulator.life.maternal import EPDS_COUNTS_MONTHS
from simulator.population.model import age_reached_on
from simulator.schools import school_year

pytestmark = pytest.mark.unit


@dataclass
class Child:
    household: str
    birth: date
    sex: str
    arrived: date | None = None  # moved in during the run
    resident: bool = True


@dataclass
class Reading:
    """What a careful reader of the events knows on the last day."""

    persons: dict[str, Child] = field(default_factory=dict)
    cases: set[str] = field(default_factory=set)
    fuyo: dict[str, list[str]] = field(default_factory=dict)
    flags: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    student_atena: dict[str, str] = field(default_factory=dict)
    absences: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lates: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    attended: set[tuple[str, str]] = field(default_factory=set)
    mental: dict[str, str] = field(default_factory=dict)  # certificate → atena
    pregnancies: dict[str, tuple[int, int]] = field(default_factory=dict)  # id → (weeks, visits)
    weight_low: dict[str, bool] = field(default_factory=dict)
    deliveries: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))  # (mother, day)


def read(events: list, year: int) -> Reading:
    r = Reading()
    for e in events:
        d, t = e.data, e.type
        if t in ("resident_registry.person.registered", "resident_registry.person.changed"):
            child = r.persons.get(d["atena_no"])
            if child is None:
                child = r.persons[d["atena_no"]] = Child(d["household_no"], date.fromisoformat(d["birth_date"]),
                                                       d["sex"])
                if d["reason"] == "move_in":
                    child.arrived = date.fromisoformat(d["effective_date"])
            child.household = d["household_no"]
            adult = (e.time.date() - child.birth).days >= 18 * 365
            if d["relation_to_head"] not in ("子",) and adult:  # a parent (a mother of 17 is still a child)
                r.persons.pop(d["atena_no"])
        elif t == "resident_registry.person.left" and d["atena_no"] in r.persons:
            r.persons[d["atena_no"]].resident = False
        elif t == "public_assistance.case.started":
            r.cases.add(d["household_no"])
        elif t == "public_assistance.case.ended":
            r.cases.discard(d["household_no"])
        elif t == "child_allowance.eligibility.started" and d["allowance"] == "jido_fuyo_teate":
            r.fuyo[d["entitlement_id"]] = d["covered_atena_nos"]
        elif t == "child_allowance.eligibility.ended" and d["allowance"] == "jido_fuyo_teate":
            r.fuyo.pop(d["entitlement_id"], None)
        elif t == "maternal_child_health.postpartum_checkup.recorded":
            if d["epds_total"] >= 9 or d["epds_item10"] > 0:  # the children of that delivery (twins: both)
                born = r.persons[d["child_atena_no"]].birth.isoformat()
                r.flags[17].update(a for a in r.deliveries[(d["mother_atena_no"], born)] if r.persons[a].resident)
        elif t == "maternal_child_health.pregnancy.notified":
            r.pregnancies[d["pregnancy_id"]] = (d["gestational_weeks"], 0)
        elif t == "maternal_child_health.prenatal_checkup.visited":
            weeks, visits = r.pregnancies[d["pregnancy_id"]]
            r.pregnancies[d["pregnancy_id"]] = (weeks, visits + 1)
        elif t == "maternal_child_health.birth.recorded":
            r.deliveries[(d["mother_atena_no"], d["birth_date"])].append(d["child_atena_no"])
            weeks, visits = r.pregnancies[d["pregnancy_id"]]
            if weeks >= 12:
                r.flags[15].add(d["child_atena_no"])
            if visits == 0:
                r.flags[16].add(d["child_atena_no"])
        elif t == "maternal_child_health.infant_checkup.recorded":
            a = d["child_atena_no"]
            if d["attended"]:
                r.attended.add((a, d["checkup"]))
                for item, q in ((4, "hit_emotionally"), (5, "left_alone"), (6, "not_fed"), (7, "covered_mouth"),
                                (8, "shook_violently")):
                    if d[q]:
                        r.flags[item].add(a)
                if d["checkup"] != "3-4m":  # below the WHO 3rd percentile for sex and age in days
                    child = r.persons[a]
                    age = (date.fromisoformat(d["checkup_date"]) - child.birth).days
                    r.weight_low[a] = d["weight_kg"] < weight_at_z(child.sex, age, P3_Z)
        elif t == "school_students.student.registered":
            r.student_atena[d["student_id"]] = d["atena_no"]
        elif t == "school_affairs.attendance.reported" and d["school_year"] == year:
            r.absences[d["student_id"]] += d["absence_days"]
            r.lates[d["student_id"]] += d["late_arrivals"]
        elif t == "school_affairs.health_checkup.recorded":
            rohrer = d["weight_kg"] / d["height_cm"] ** 3 * 1e7
            r.weight_low[r.student_atena[d["student_id"]]] = rohrer < 100
        elif t == "school_surveys.survey.answered" and d["survey"] == "lifestyle":
            (r.flags[14].add if d["distress"] else r.flags[14].discard)(r.student_atena[d["student_id"]])
        elif t == "disability.certificate.issued":
            if d["certificate"] == "child_support_recipient":
                r.flags[11].add(d["atena_no"])
            if d["certificate"] == "mental_health_welfare" and d["developmental_disability"]:
                r.mental[d["certificate_no"]] = d["atena_no"]
        elif t == "disability.certificate.ended":
            r.mental.pop(d["certificate_no"], None)
        elif t == "child_guidance.involvement.started" and d["involvement"] in ("youtaikyo", "temporary_protection"):
            r.flags[1 if d["involvement"] == "youtaikyo" else 2].add(d["child_atena_no"])
    return r


def expected_flags(r: Reading, last: date) -> dict[int, set[str]]:
    flags = {item: set(children) for item, children in r.flags.items()}
    flags[18] = {a for a, c in r.persons.items() if c.household in r.cases}
    flags[19] = {a for covered in r.fuyo.values() for a in covered}
    flags[10] = set(r.mental.values())
    flags[12] = {r.student_atena[s] for s, n in r.absences.items() if n >= 30}
    flags[13] = {r.student_atena[s] for s, n in r.lates.items() if n >= 20}
    flags[9] = {a for a, low in r.weight_low.items() if low}
    # the EPDS of a birth counts until the child turns 1 (the rule files' look-back window, issue 15)
    flags[17] = {a for a in flags.get(17, set())
                 if last.toordinal() < age_reached_on(r.persons[a].birth.toordinal(), EPDS_COUNTS_MONTHS)}
    flags[3] = set()
    for a, c in r.persons.items():
        for w in WINDOWS:
            opens, closes = w.opens_on(c.birth.toordinal()), w.closes_on(c.birth.toordinal())
            came = c.arrived.toordinal() if c.arrived else 0
            if closes <= last.toordinal() and opens >= came and (a, w.kind) not in r.attended:
                flags[3].add(a)
    alive = {a for a, c in r.persons.items() if c.resident and (last - c.birth).days < 18 * 365 - 5}
    return {item: children & alive for item, children in flags.items()}


def test_truth_flags_on_the_last_day_are_what_the_events_say(clean_run) -> None:
    sim = clean_run.city.sim
    last = date.fromordinal(sim.end - 1)
    reading = read(clean_run.events, school_year(last))
    expected = expected_flags(reading, last)
    residents = {p.atena_no: p for p in sim.pop.persons}
    for item in range(1, 20):
        truth = {a for a in expected.get(item, set()) | {p.atena_no for p in sim.pop.persons}
                 if a in residents and sim.truth.has(residents[a].pid, item, sim.end - 1)}
        want = expected.get(item, set())
        truth &= set(reading.persons)  # children the events show
        truth = {a for a in truth if (last - reading.persons[a].birth).days < 18 * 365 - 5}
        assert truth == want, (item, len(truth), len(want), sorted(truth ^ want)[:5])
    flagged = {item for item, children in expected.items() if children}
    assert {1, 3, 4, 5, 9, 11, 12, 13, 14, 15, 17, 18, 19} <= flagged, sorted(flagged)
