"""住民記録: the go-live load, births, moves within and out of the city, families moving in, divorces and
remarriages with surname changes, deaths, and kana corrections (戸籍 furigana reform)."""

from __future__ import annotations

import random
from collections.abc import Iterator

from simulator import payloads as p
from simulator.life.engine import BATCH, Simulation
from simulator.noise import _long_vowel_slip, _small_slip
from simulator.population.model import Household, Person, age_reached_on
from simulator.truth import MOVED_IN, MOVED_IN_MONTHS
from simulator.wards import WARD_CODES

KANA_CORRECTION = 0.002  # persons whose registered kana was wrong at go-live and is corrected during the year
FAMILY_KINDS = ("two_parent", "single_mother", "single_father")
MARRIAGES_PER_YEAR = 8_000


def record(sim: Simulation, person: Person, reason: str, effective: int | None = None, changed: bool = False,
           kana: str | None = None) -> None:
    """A 住民記録 person record as of today; ``effective`` defaults to today."""
    h = person.household
    assert h is not None
    event_type = "resident_registry.person.changed" if changed else "resident_registry.person.registered"
    sim.emit(event_type, person.atena_no, p.person_record(
        atena_no=person.atena_no, household_no=h.number, relation=person.relation, name_kanji=person.name_kanji,
        name_kana=kana or person.name_kana, birth_date=person.birth_iso, sex=person.sex,
        address=h.address, ward_code=h.ward_code, postal_code=h.postal_code,
        effective_date=sim.iso(sim.day if effective is None else effective),
        reason=reason, school_code=None), persons={"atena_no": person.pid}, household=h)


def record_later(sim: Simulation, person: Person, reason: str, effective: int | None = None,
                 changed: bool = False) -> None:
    """A record scheduled earlier (a kana correction, a 出生届): nothing if the person has left by then."""
    if person.resident and person.household is not None:
        record(sim, person, reason, effective, changed)


def left(sim: Simulation, person: Person, reason: str) -> None:
    h = person.household
    assert h is not None
    sim.emit("resident_registry.person.left", person.atena_no, p.person_left(
        atena_no=person.atena_no, household_no=h.number, effective_date=sim.iso(sim.day), reason=reason),
        persons={"atena_no": person.pid}, household=h)
    person.resident = False
    sim.truth.close_all(person.pid, sim.day)
    sim.fire("left", person)


def _wrong_kana(person: Person, rng: random.Random) -> str | None:
    given = _long_vowel_slip(person.given[1]) or _small_slip(person.given[1], rng)
    return f"{person.surname[1]} {given}" if given else None


def go_live(sim: Simulation) -> Iterator[None]:
    for n, person in enumerate(sim.residents()):
        if n % BATCH == 0:
            yield
        wrong = _wrong_kana(person, sim.rng) if sim.rng.random() < KANA_CORRECTION else None
        record(sim, person, "initial_load", sim.day0, kana=wrong)
        if wrong:
            sim.at(sim.day_in_period(), record_later, sim, person, "correction", None, True)
    for h in list(sim.pop.households):
        _schedule_household(sim, h)
    _schedule_marriages(sim)
    yield


def _schedule_marriages(sim: Simulation) -> None:
    """Singles marrying (≈ 8 k a year at scale 1, 人口動態統計 福岡市): she takes his surname and moves in."""
    brides, grooms = [], []
    for h in sim.pop.households:
        if h.kind == "single" and len(h.members) == 1:
            m = h.members[0]
            age = (sim.day0 - m.birth) / 365.25
            if m.sex == "2" and 22 <= age < 40:
                brides.append(m)
            elif m.sex == "1" and 24 <= age < 42:
                grooms.append(m)
    sim.rng.shuffle(brides)
    sim.rng.shuffle(grooms)
    count = round(MARRIAGES_PER_YEAR * sim.cfg.scale * (sim.end - sim.day0) / 365)
    for bride, groom in list(zip(brides, grooms, strict=False))[:count]:
        sim.at(sim.day_in_period(), marry, sim, bride, groom)


def marry(sim: Simulation, bride: Person, groom: Person) -> None:
    h, old = groom.household, bride.household
    if h is None or old is None or not (bride.resident and groom.resident) or bride.foreign != groom.foreign:
        return
    old.remove(bride)
    bride.relation, bride.surname = "妻", groom.surname
    h.add(bride)
    h.kind = "couple"
    record(sim, bride, "name_change", changed=True)


def _schedule_household(sim: Simulation, h: Household) -> None:
    r = sim.rates
    if h.kind in FAMILY_KINDS:
        if sim.chance(r.move_out_of_city):
            sim.at(sim.day_in_period(), move_out, sim, h)
            sim.at(sim.day_in_period(), move_in, sim)  # as many families move in as move out
        elif sim.chance(r.move_within_city):
            sim.at(sim.day_in_period(), move_within, sim, h)
        if h.kind == "two_parent" and sim.chance(r.divorce, h.risk, 0.6):
            sim.at(sim.day_in_period(), divorce, sim, h)
        elif h.kind == "single_mother" and sim.chance(r.remarriage):
            sim.at(sim.day_in_period(), remarry, sim, h)
    for m in h.members:
        if sim.day0 - m.birth >= 65 * 365 + 16 and sim.chance(r.death_65_plus):
            sim.at(sim.day_in_period(), die, sim, m)


def move_within(sim: Simulation, h: Household) -> None:
    if not h.members or not h.members[0].resident:
        return
    h.move_to(sim.rng.choice(WARD_CODES), sim.rng.randrange(8),
              (1 + sim.rng.randrange(5), 1 + sim.rng.randrange(30), 1 + sim.rng.randrange(20)))
    for m in h.members:
        if m.resident:
            record(sim, m, "move_within", changed=True)
    sim.fire("moved", h)


def move_out(sim: Simulation, h: Household) -> None:
    for m in list(h.members):
        if m.resident:
            left(sim, m, "move_out")


def move_in(sim: Simulation) -> None:
    ages = sorted((sim.rng.randrange(16) for _ in range(sim.rng.choice((1, 1, 2, 2, 3)))), reverse=True)
    children = sim.builder.family([(a, False) for a in ages])
    h = children[0].household
    assert h is not None
    expires = age_reached_on(sim.day, MOVED_IN_MONTHS)
    for m in h.members:
        record(sim, m, "move_in")
        sim.truth.open(m.pid, MOVED_IN, sim.day)  # 市外からの転入, for MOVED_IN_MONTHS
        sim.at(expires, sim.truth.close, m.pid, MOVED_IN, expires)
    sim.fire("arrived", h)


def die(sim: Simulation, person: Person) -> None:
    if person.resident:
        left(sim, person, "death")


def divorce(sim: Simulation, h: Household) -> None:
    father = next((m for m in h.members if m.relation == "世帯主" and m.sex == "1" and m.resident), None)
    mother = next((m for m in h.members if m.relation == "妻" and m.resident), None)
    if father is None or mother is None:
        return
    h.remove(father)
    if sim.rng.random() < 0.3:
        father.household = h  # for the household number on the 転出 record
        left(sim, father, "move_out")
        father.household = None
    else:
        own = sim.pop.new_household(sim.rng, "single", h.risk)
        own.add(father)
        record(sim, father, "household_change", changed=True)
    mother.relation = "世帯主"
    h.kind = "single_mother"
    if sim.rng.random() >= sim.rates.mother_keeps_married_name:
        mother.surname = sim.builder.family_name(mother.foreign)  # back to her own surname
        record(sim, mother, "name_change", changed=True)
        if sim.rng.random() < 0.5:  # children take her surname after the family court allows it
            sim.at(sim.day + 60 + sim.rng.randrange(120), _children_take_name, sim, h, mother.surname)
    else:
        record(sim, mother, "household_change", changed=True)
    sim.fire("single_parent", h)


def _children_take_name(sim: Simulation, h: Household, surname: tuple[str, str]) -> None:
    for child in h.children(sim.day, max_age=20):
        child.surname = surname
        record(sim, child, "name_change", changed=True)


def remarry(sim: Simulation, h: Household) -> None:
    mother = next((m for m in h.members if m.relation == "世帯主" and m.sex == "2" and m.resident), None)
    if mother is None:
        return
    surname = sim.builder.family_name(mother.foreign)
    husband = sim.builder.person(surname, "1", max(20.0, mother.age(sim.day) + sim.rng.gauss(2, 3)), "夫",
                                 mother.foreign)
    h.add(husband)
    record(sim, husband, "move_in")
    mother.surname = surname
    record(sim, mother, "name_change", changed=True)
    h.kind = "two_parent"
    sim.fire("partnered", h)


def register_birth(sim: Simulation, child: Person) -> None:
    """出生届 within 14 days of the birth."""
    sim.at(child.birth + 1 + sim.rng.randrange(14), record_later, sim, child, "birth", child.birth)
