"""母子保健, 乳幼児健診 (3–4 months, 1 year 6 months, 3 years): attendance, weight, height, questionnaire.

History for every child on day 0; then each child's checkups as their windows come. A checkup not attended
when its window closes opens item 3 (if the child lived here when the window opened); half the time the
system also records it as 未受診 (attended=false). Truth for the questionnaire (items 4–8) and low weight
(item 9, below the 3rd percentile, with a guard band so small table differences do not flip it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from simulator import payloads as p
from simulator.growth import P3_Z, weight_at_z
from simulator.life.engine import BATCH, Simulation
from simulator.population.model import Household, Person, age_reached_on


@dataclass(frozen=True)
class Window:
    """A checkup's age window in calendar months (満3か月…満6か月, 満1歳6か月…満2歳, 満3歳…満4歳): open from the day the
    child reaches ``opens`` months, closed from the day it reaches ``closes`` months (item 3 then, with no
    attendance)."""

    kind: str
    opens: int   # age in months
    attend: tuple[int, int]  # usual age range of attendance, days (inside the window)
    closes: int  # age in months
    attendance: str  # Rates field
    weighs_for_item9: bool  # item 9 reads the weight at this checkup
    height_p50: tuple[float, float]
    asks_mouth_and_shaking: bool

    def opens_on(self, birth: int) -> int:
        return age_reached_on(birth, self.opens)

    def closes_on(self, birth: int) -> int:
        return age_reached_on(birth, self.closes)


WINDOWS = (
    Window("3-4m", 3, (95, 130), 6, "checkup_attendance_3_4m", False, (62.5, 61.0), True),
    Window("1y6m", 18, (548, 610), 24, "checkup_attendance_1y6m", True, (81.5, 80.0), True),
    Window("3y", 36, (1100, 1280), 48, "checkup_attendance_3y", True, (94.5, 93.5), False),
)
# Low weight (item 9) is below the 3rd percentile of the WHO weight-for-age reference for sex and age in days;
# weights are drawn at least this far in z from it, so rounding to 10 g cannot move a child across the line.
GUARD_Z = 0.1
QUESTIONS = (("hit_emotionally", "q_hit_emotionally", 4), ("left_alone", "q_left_alone", 5),
             ("not_fed", "q_not_fed", 6), ("covered_mouth", "q_covered_mouth", 7),
             ("shook_violently", "q_shook_violently", 8))


def checkup(sim: Simulation, child: Person, w: Window, day: int) -> None:
    if not child.resident:
        return
    loaded = not sim.before_history(day)  # drawn all the same, so a horizon changes nothing else in the city
    z = child.household.risk if child.household else 0.0
    boy = child.sex == "1"
    low = w.weighs_for_item9 and sim.chance(sim.rates.low_weight_infant, z, 0.7)
    weight_z = sim.rng.uniform(-3.0, P3_Z - GUARD_Z) if low else max(sim.rng.gauss(0.0, 1.0), P3_Z + GUARD_Z)
    weight = weight_at_z(child.sex, day - child.birth, weight_z)
    answers: dict[str, bool] = {}
    for field, rate, item in QUESTIONS:
        if item in (7, 8) and not w.asks_mouth_and_shaking:
            continue
        scale = {"3-4m": 0.2, "1y6m": 1.0, "3y": 1.6}[w.kind] if item == 4 else 1.0
        answers[field] = sim.chance(getattr(sim.rates, rate) * scale, z, 1.0)
        if answers[field] and loaded:
            sim.truth.open(child.pid, item, day)
    height = sim.rng.gauss(w.height_p50[0 if boy else 1], 3.0)
    if not loaded:
        return
    sim.emit("maternal_child_health.infant_checkup.recorded", child.atena_no, p.infant_checkup(
        child=child.atena_no, checkup=w.kind, checkup_date=sim.iso(day), attended=True,
        weight_kg=round(weight, 2), height_cm=round(height, 1), answers=answers),
        persons={"child_atena_no": child.pid}, household=child.household)
    sim.contacts.seen(child, day)
    if w.weighs_for_item9:
        if low:
            sim.truth.open(child.pid, 9, day)
        else:
            sim.truth.close(child.pid, 9, day)


def missed(sim: Simulation, child: Person, w: Window, day: int, recorded: bool) -> None:
    if not child.resident:
        return
    if sim.history_from is not None and w.opens_on(child.birth) < sim.history_from:
        return  # a window before 母子保健's data horizon: its records may not be in the load, nothing is known
    # Established once the last day of the window is over: on the closing day, or the day after the go-live
    # load for a window that closed before it.
    sim.truth.open(child.pid, 3, day, known=sim.day + 1 if sim.day == sim.day0 else sim.day)
    if recorded:
        sim.emit("maternal_child_health.infant_checkup.recorded", child.atena_no, p.infant_checkup(
            child=child.atena_no, checkup=w.kind, checkup_date=sim.iso(day), attended=False),
            persons={"child_atena_no": child.pid}, household=child.household)


def plan(sim: Simulation, child: Person, since: int) -> None:
    """Plans the child's checkups whose window opens on or after ``since`` (the day the child came)."""
    z = child.household.risk if child.household else 0.0
    for w in WINDOWS:
        if w.opens_on(child.birth) < since:
            continue
        attendance: float = getattr(sim.rates, w.attendance)
        if sim.chance(1 - attendance, z, 1.0):
            closes = w.closes_on(child.birth)
            sim.at(max(closes, sim.day), missed, sim, child, w, closes, sim.rng.random() < 0.5)
        else:
            day = child.birth + sim.rng.randint(*w.attend)
            sim.at(max(day, sim.day), checkup, sim, child, w, day)


def go_live(sim: Simulation) -> Iterator[None]:
    for n, child in enumerate(sim.residents()):
        if child.age(sim.day0) < 18:  # every minor, whatever the 続柄 (a mother of 17 had her checkups too)
            plan(sim, child, since=child.birth)
        if n % BATCH == 0:
            yield

    def born(child: Person) -> None:
        plan(sim, child, since=child.birth)

    def arrived(h: Household) -> None:
        for c in h.children(sim.day):
            plan(sim, c, since=sim.day)

    sim.on("birth", born)
    sim.on("arrived", arrived)
