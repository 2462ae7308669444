"""Signal 行政との接点なし (issue 18): the truth of "no contact with any public service for 12 months".

A contact is what the city's systems record of a service seeing the child, at the moment the area that makes
the record emits it: an attended 乳幼児健診 (not a 未受診), the mother's 産婦健診 after the child's delivery, the
start or end of a 児童手当 / 児童扶養手当 covering the child (its 認定, dated by its start; the end, dated by the
end), a monthly attendance report or school health checkup; and, while they last, a nursery place, a school
enrolment or an open 児童相談 case (their end is the last contact). The months are counted from the latest of
birth, arrival in the city (a family moving in), the last contact and the go-live's data horizon; the signal is
true from the day they are over until the next contact the systems record, as long as the child lives here.

It is a truth about the **records**: what the systems of this city hold, loaded at go-live or recorded since.
The simulator does not model a go-live child's school or nursery years before day 0 (the load carries current
enrolments only), so a 16-year-old who left junior high before go-live counts from their family's last
allowance start, as scoring does; a real go-live declares the data horizons of the systems whose load carries
only current records (docs/scoring.md), and ``history_from`` is that horizon here.

Scoring concludes the absence by the clock (the sweep of the day the months are over), and a record that
arrives clears it the day it arrives, even one dated earlier: the truth opens and closes on the same days.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from simulator.population.model import Household, Person, age_reached_on
from simulator.truth import NO_CONTACT, NO_CONTACT_MONTHS

if TYPE_CHECKING:
    from simulator.life.engine import Simulation

ADULT_YEARS = 18


class Contacts:
    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.last: dict[int, int] = {}  # pid → the latest day a recorded contact is dated
        self.since: dict[int, int] = {}  # pid → the day the child came (born here, or moved in) during the run
        self.ongoing: dict[int, set[str]] = defaultdict(set)  # pid → services under way (nursery, school, cases)
        self.due: dict[int, int] = {}  # pid → the day the months are over, while it lies ahead
        self.live = False  # False during the go-live load: contacts are only noted, judged once it is all in

    # --- what the areas report ---
    def seen(self, child: Person, day: int) -> None:
        """A record of a contact dated ``day`` (today or earlier), emitted today."""
        if day > self.last.get(child.pid, day - 1):
            self.last[child.pid] = day
        self._review(child)

    def began(self, child: Person, service: str) -> None:
        """A service under way from today's record on (a nursery place, a school enrolment, a 児童相談 case)."""
        self.ongoing[child.pid].add(service)
        self._review(child)

    def ended(self, child: Person, service: str, day: int) -> None:
        """The service ended on ``day``: its last contact."""
        self.ongoing[child.pid].discard(service)
        self.seen(child, day)

    # --- coming and judging ---
    def born(self, child: Person) -> None:
        self.since[child.pid] = child.birth
        self._review(child)

    def arrived(self, h: Household) -> None:
        for child in h.children(self.sim.day):
            self.since[child.pid] = self.sim.day
            self._review(child)

    def go_live(self) -> None:
        """Runs after every area's go-live load: each minor living here is judged on what the load holds."""
        sim = self.sim
        self.live = True
        for person in sim.residents():
            if person.age(sim.day0) < ADULT_YEARS:
                self._review(person)
        sim.on("birth", self.born)
        sim.on("arrived", self.arrived)

    def _count_from(self, child: Person) -> int:
        days = [child.birth, self.since.get(child.pid, child.birth), self.last.get(child.pid, child.birth)]
        return max(days + ([self.sim.history_from] if self.sim.history_from is not None else []))

    def _review(self, child: Person) -> None:
        sim, pid = self.sim, child.pid
        if not self.live or not child.resident:
            return
        if self.ongoing.get(pid):
            self.due.pop(pid, None)
            sim.truth.close(pid, NO_CONTACT, sim.day)
            return
        due = age_reached_on(self._count_from(child), NO_CONTACT_MONTHS)
        if due > sim.day:  # a contact (or a new start) moved the day on: not true from today
            sim.truth.close(pid, NO_CONTACT, sim.day)
            if self.due.get(pid) != due:
                self.due[pid] = due
                sim.at(due, self._over, child, due)
        else:  # already over when the records came (the go-live load, an old record): the next day's sweep
            self.due.pop(pid, None)
            sim.truth.open(pid, NO_CONTACT, due, known=sim.day + 1)

    def _over(self, child: Person, due: int) -> None:
        if self.due.get(child.pid) == due and child.resident and not self.ongoing.get(child.pid):
            del self.due[child.pid]
            self.sim.truth.open(child.pid, NO_CONTACT, due)  # concluded by that day's sweep
