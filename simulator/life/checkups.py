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
from simulator.life.engine import BATCH, Simulation
from simulator.population.model import Household, Person


@dataclass(frozen=True)
class Window:
    kind: str
    opens: int   # age in days
    attend: tuple[int, int]  # usual age range of attendance, days
    closes: int  # the age at which the window closes (item 3 fires if no attendance by then)
    attendance: str  # Rates field
    weight_p3: tuple[float, float] | None  # (boys, girls) 3rd percentile, kg
    weight_p50: tuple[float, float]
    height_p50: tuple[float, float]
    asks_mouth_and_shaking: bool


# 3rd and 50th percentiles: 乳幼児身体発育調査 (厚生労働省 2010), at 1 y 6–7 m and 3 y 0–6 m
WINDOWS = (
    Window("3-4m", 90, (95, 130), 183, "checkup_attendance_3_4m", None, (6.6, 6.1), (62.5, 61.0), True),
    Window("1y6m", 545, (548, 610), 730, "checkup_attendance_1y6m", (8.72, 8.05), (10.4, 9.8), (81.5, 80.0),
           True),
    Window("3y", 1095, (1100, 1280), 1461, "checkup_attendance_3y", (11.72, 11.22), (14.1, 13.6), (94.5, 93.5),
           False),
)
GUARD_KG = 0.3
QUESTIONS = (("hit_emotionally", "q_hit_emotionally", 4), ("left_alone", "q_left_alone", 5),
             ("not_fed", "q_not_fed", 6), ("covered_mouth", "q_covered_mouth", 7),
             ("shook_violently", "q_shook_violently", 8))


def checkup(sim: Simulation, child: Person, w: Window, day: int) -> None:
    if not child.resident:
        return
    z = child.household.risk if child.household else 0.0
    boy = child.sex == "1"
    weight: float = sim.rng.gauss(w.weight_p50[0 if boy else 1], 0.9 if w.weight_p3 else 0.7)
    low = False
    if w.weight_p3:
        p3 = w.weight_p3[0 if boy else 1]
        low = sim.chance(sim.rates.low_weight_infant, z, 0.7)
        weight = sim.rng.uniform(p3 - 1.2, p3 - GUARD_KG) if low else max(weight, p3 + GUARD_KG)
    answers: dict[str, bool] = {}
    for field, rate, item in QUESTIONS:
        if item in (7, 8) and not w.asks_mouth_and_shaking:
            continue
        scale = {"3-4m": 0.2, "1y6m": 1.0, "3y": 1.6}[w.kind] if item == 4 else 1.0
        answers[field] = sim.chance(getattr(sim.rates, rate) * scale, z, 1.0)
        if answers[field]:
            sim.truth.open(child.pid, item, day)
    height = sim.rng.gauss(w.height_p50[0 if boy else 1], 3.0)
    sim.emit("maternal_child_health.infant_checkup.recorded", child.atena_no, p.infant_checkup(
        child=child.atena_no, checkup=w.kind, checkup_date=sim.iso(day), attended=True,
        weight_kg=round(weight, 2), height_cm=round(height, 1), answers=answers),
        persons={"child_atena_no": child.pid}, household=child.household)
    if w.weight_p3:
        if low:
            sim.truth.open(child.pid, 9, day)
        else:
            sim.truth.close(child.pid, 9, day)


def missed(sim: Simulation, child: Person, w: Window, day: int, recorded: bool) -> None:
    if not child.resident:
        return
    sim.truth.open(child.pid, 3, day)
    if recorded:
        sim.emit("maternal_child_health.infant_checkup.recorded", child.atena_no, p.infant_checkup(
            child=child.atena_no, checkup=w.kind, checkup_date=sim.iso(day), attended=False),
            persons={"child_atena_no": child.pid}, household=child.household)


def plan(sim: Simulation, child: Person, since: int) -> None:
    """Plans the child's checkups whose window opens on or after ``since`` (the day the child came)."""
    z = child.household.risk if child.household else 0.0
    for w in WINDOWS:
        if child.birth + w.opens < since or child.birth + w.closes <= sim.day0 - 18 * 365:
            continue
        attendance: float = getattr(sim.rates, w.attendance)
        if sim.chance(1 - attendance, z, 1.0):
            sim.at(max(child.birth + w.closes, sim.day), missed, sim, child, w, child.birth + w.closes,
                   sim.rng.random() < 0.5)
        else:
            day = child.birth + sim.rng.randint(*w.attend)
            sim.at(max(day, sim.day), checkup, sim, child, w, day)


def go_live(sim: Simulation) -> Iterator[None]:
    for n, child in enumerate(sim.residents()):
        if child.relation == "子" and sim.day0 - child.birth < 18 * 365:
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
