"""母子保健, pregnancies: 妊娠届 (weeks at notification), 妊婦健診 visits, births (twins), 産婦健診 with EPDS.

Go-live history: the pregnancies of the children born in the three years before day 0 (notification, three
of their visits, the birth, the postpartum checkup) and the pregnancies under way on day 0. Then the year's
pregnancies, with every visit. Truth: items 15 and 16 on the child from its birth; item 17 on every child
of the mother on the day of the checkup.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from simulator import payloads as p
from simulator.life import registry
from simulator.life.engine import Simulation
from simulator.population.model import Household, Person, age_reached_on

# Item 17 counts the EPDS of a birth until the child turns 1 (the rule files' look-back window, issue 15).
EPDS_COUNTS_MONTHS = 12

HISTORY_DAYS = 3 * 365
TERM_DAYS = 280  # from the last menstrual period (妊娠週数 0) to the due date


@dataclass
class Pregnancy:
    pid: str
    mother: Person
    lmp: int  # ordinal day of 妊娠0週0日
    weeks_at_notice: int
    no_care: bool
    twins: bool
    children: list[Person] = field(default_factory=list)

    @property
    def notice_day(self) -> int:
        return self.lmp + 7 * self.weeks_at_notice + 3

    @property
    def due(self) -> int:
        return self.lmp + TERM_DAYS


def _weeks(sim: Simulation, z: float) -> int:
    r = sim.rates
    if sim.chance(r.late_notification, z, 1.0):
        very = sim.rng.random() < r.very_late_notification / r.late_notification
        return sim.rng.randint(20, 30) if very else sim.rng.randint(12, 19)
    return sim.rng.choice((5, 6, 7, 7, 8, 8, 8, 9, 9, 10, 11))


def new_pregnancy(sim: Simulation, mother: Person, lmp: int, twins: bool) -> Pregnancy:
    h = mother.household
    z = h.risk if h else 0.0
    number = sim.next_id("pregnancy")
    return Pregnancy(f"MP{sim.cfg.seed % 100:02d}{number:07d}", mother, lmp, _weeks(sim, z),
                     sim.chance(sim.rates.no_prenatal_care, z, 1.2), twins)


def visit_days(preg: Pregnancy, birth: int) -> list[int]:
    """妊婦健診: every 4 weeks to 23 w, every 2 weeks to 35 w, then weekly — from two weeks after notice."""
    if preg.no_care:
        return []
    days, week = [], max(preg.weeks_at_notice + 2, 8)
    while preg.lmp + 7 * week < birth:
        days.append(preg.lmp + 7 * week)
        week += 4 if week < 24 else 2 if week < 36 else 1
    return days


def notify(sim: Simulation, preg: Pregnancy) -> None:
    m = preg.mother
    if sim.before_history(preg.notice_day):
        return
    sim.emit("maternal_child_health.pregnancy.notified", m.atena_no, p.pregnancy_notified(
        pregnancy_id=preg.pid, mother=m.atena_no, notification_date=sim.iso(preg.notice_day),
        weeks=preg.weeks_at_notice, expected_delivery_date=sim.iso(preg.due)),
        persons={"mother_atena_no": m.pid}, household=m.household)


def visit(sim: Simulation, preg: Pregnancy, day: int) -> None:
    m = preg.mother
    if m.resident and not sim.before_history(day):
        sim.emit("maternal_child_health.prenatal_checkup.visited", m.atena_no, p.prenatal_visit(
            pregnancy_id=preg.pid, mother=m.atena_no, visit_date=sim.iso(day)),
            persons={"mother_atena_no": m.pid}, household=m.household)


def record_birth(sim: Simulation, preg: Pregnancy, child: Person) -> None:
    weight = int(sim.rng.gauss(2400 if preg.twins else 3000, 420))
    if sim.before_history(preg.notice_day):  # the pregnancy predates the data horizon: items 15, 16 unknowable
        if not sim.before_history(child.birth):
            _emit_birth(sim, preg, child, weight)
        return
    _emit_birth(sim, preg, child, weight)
    if preg.weeks_at_notice >= 12:
        sim.truth.open(child.pid, 15, child.birth)
    if preg.no_care:  # "no visit before the birth": established once the birth day's records are in
        sim.truth.open(child.pid, 16, child.birth, known=sim.day + 1)


def _emit_birth(sim: Simulation, preg: Pregnancy, child: Person, weight: int) -> None:
    m = preg.mother
    sim.emit("maternal_child_health.birth.recorded", m.atena_no, p.birth_recorded(
        pregnancy_id=preg.pid, mother=m.atena_no, child=child.atena_no, birth_date=child.birth_iso,
        birth_weight_g=max(500, min(5500, weight))), persons={"mother_atena_no": m.pid, "child_atena_no": child.pid},
        household=m.household)


def postpartum(sim: Simulation, preg: Pregnancy, day: int) -> None:
    m = preg.mother
    if not m.resident or not preg.children:
        return
    z = m.household.risk if m.household else 0.0
    high = sim.chance(sim.rates.epds_high, z, 0.5)
    total = sim.rng.randint(9, 22) if high else min(8, int(abs(sim.rng.gauss(0, 4))))
    item10 = sim.rng.randint(1, 3) if sim.rng.random() < (0.15 if high else 0.015) else 0
    child = preg.children[0]
    if sim.before_history(day) or sim.before_history(child.birth):  # loaded with its birth record, or not at all
        return
    sim.emit("maternal_child_health.postpartum_checkup.recorded", m.atena_no, p.postpartum_checkup(
        mother=m.atena_no, child=child.atena_no, checkup_date=sim.iso(day), epds_total=total, epds_item10=item10),
        persons={"mother_atena_no": m.pid, "child_atena_no": child.pid}, household=m.household)
    for c in preg.children:  # the 産婦健診 after this delivery: a contact for the children born of it
        sim.contacts.seen(c, day)
    if total >= 9 or item10 > 0:  # about the mother after this delivery: the children born of it
        for c in preg.children:
            one = age_reached_on(c.birth, EPDS_COUNTS_MONTHS)
            if c.resident and sim.day < one:  # (a past birth loaded at go-live whose window closed: never flagged)
                sim.truth.open(c.pid, 17, day)
                sim.at(one, sim.truth.close, c.pid, 17, one)


def _history(sim: Simulation) -> None:
    """Pregnancies of the children born in the three years before day 0 (twins share one)."""
    seen: dict[tuple[int, int], Pregnancy] = {}
    for child in sim.residents():
        if child.mother is None or not 0 <= sim.day0 - child.birth < HISTORY_DAYS:
            continue
        key = (child.mother.pid, child.birth)
        preg = seen.get(key)
        if preg is None:
            preg = seen[key] = new_pregnancy(sim, child.mother, child.birth - TERM_DAYS + sim.rng.randint(-10, 7),
                                             twins=False)
            notify(sim, preg)
            days = visit_days(preg, child.birth)
            for day in (days[:1] + days[len(days) // 2:len(days) // 2 + 1] + days[-1:]) if days else []:
                visit(sim, preg, day)
        preg.children.append(child)
        record_birth(sim, preg, child)
    for preg in seen.values():
        day = preg.children[0].birth + 14 + sim.rng.randrange(20)
        if day < sim.day0 and sim.rng.random() < 0.9:
            postpartum(sim, preg, day)


def _candidates(sim: Simulation) -> list[Person]:
    """Women 18–44 in couples or families whose youngest child is at least one."""
    out = []
    for h in sim.pop.households:
        if h.kind not in ("two_parent", "couple", "single_mother"):
            continue
        for m in h.members:
            if m.sex == "2" and m.relation in ("妻", "世帯主") and 18 <= m.age(sim.day0) <= 44:
                youngest = min((c.birth for c in h.members if c.relation == "子"), default=0)
                if sim.day0 - youngest >= 365:
                    out.append(m)
    return out


def go_live(sim: Simulation) -> Iterator[None]:
    _history(sim)
    yield
    candidates = _candidates(sim)
    sim.rng.shuffle(candidates)
    per_day = sim.rates.births_per_year * sim.cfg.scale / 365
    expected = int(per_day * (sim.end - sim.day0 + 200))
    for mother in candidates[:expected]:
        due = sim.day0 + 1 + sim.rng.randrange(sim.end - sim.day0 + 199)
        preg = new_pregnancy(sim, mother, due - TERM_DAYS, twins=sim.rng.random() < sim.rates.twin_rate)
        birth = min(due + 14, max(due - 21, due + int(sim.rng.gauss(0, 8))))
        if preg.notice_day <= sim.day0:
            notify(sim, preg)
        else:
            sim.at(preg.notice_day, notify, sim, preg)
        for day in visit_days(preg, birth):
            if day <= sim.day0:
                visit(sim, preg, day)
            else:
                sim.at(day, visit, sim, preg, day)
        sim.at(birth, deliver, sim, preg)
    yield


def deliver(sim: Simulation, preg: Pregnancy) -> None:
    mother = preg.mother
    h = mother.household
    if not mother.resident or h is None:
        return
    father = next((m for m in h.members if m.sex == "1" and m.relation in ("世帯主", "夫")), None)
    for _ in range(2 if preg.twins else 1):
        sex = sim.rng.choice("12")
        given = sim.names.foreign_given(sim.rng, sex) if mother.foreign else sim.names.given_name(sim.rng, sex)
        child = sim.pop.new_person(mother.surname, given, sex, sim.day, "子", mother.foreign)
        child.mother, child.father = mother, father
        h.add(child)
        preg.children.append(child)
        record_birth(sim, preg, child)
        registry.register_birth(sim, child)
    _became_family(h)
    for child in preg.children:
        sim.fire("birth", child)
    if sim.rng.random() < 0.9:
        checkup = sim.day + 14 + sim.rng.randrange(20)
        sim.at(checkup, postpartum, sim, preg, checkup)


def _became_family(h: Household) -> None:
    if h.kind == "couple":
        h.kind = "two_parent"
