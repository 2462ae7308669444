"""校務系 and school money: 児童生徒管理, 校務支援 (attendance, health checkup), 生活習慣・学習定着度調査,
就学援助, 給食費.

Truth: items 12 and 13 from the monthly report that takes the school year's absences to ≥ 30 (late arrivals
to ≥ 20) until the school year ends; students below the limit stay well below it (a guard band), so the truth
does not hang on a day's difference. Item 9 (school) while the latest checkup's ローレル指数 is < 100; item 14
from a survey answer of distress.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from simulator import payloads as p
from simulator.life.engine import BATCH, Simulation
from simulator.life.welfare import Entitlement, Welfare, start_entitlement
from simulator.population.model import Household, Person
from simulator.schools import SCHOOL_DAYS, grade, school_code, school_year
from simulator.wards import WARD_BY_CODE, WARDS, address

YEAR_DAYS = sum(SCHOOL_DAYS.values())


@dataclass
class Student:
    person: Person
    sid: str
    code: str
    grade: int
    absences: int  # the year's total, spread over months by school days
    lates: int
    year: int
    cum_absences: int = 0
    cum_lates: int = 0
    arrears: int = 0  # months of 給食費 in arrears; -1 = never


class Schools:
    def __init__(self, sim: Simulation, welfare: Welfare) -> None:
        self.sim = sim
        self.welfare = welfare
        self.students: dict[int, Student] = {}

    def _profile(self, s: Student, z: float) -> None:
        sim, r = self.sim, self.sim.rates
        chronic = r.absent_30_junior_high if s.grade >= 7 else r.absent_30_elementary
        s.absences = (sim.rng.randint(34, 110) if sim.chance(chronic, z, 1.0)
                      else min(22, int(sim.rng.expovariate(1 / 4))))
        s.lates = sim.rng.randint(24, 70) if sim.chance(r.late_20, z, 0.8) else min(14, int(sim.rng.expovariate(1 / 3)))
        s.cum_absences = s.cum_lates = 0

    def record(self, s: Student, changed: bool = False) -> None:
        sim = self.sim
        child, h = s.person, s.person.household
        assert h is not None
        address = h.address
        rates = sim.noise.rates("school_students")
        noise = []
        if sim.noise.roll("school_students", "stale_address", rates.stale_address):
            address = stale_address(h)
            noise.append("stale_address")
        atena = None if sim.noise.roll("school_students", "missing_atena", rates.missing_atena) else child.atena_no
        sim.emit("school_students.student.changed" if changed else "school_students.student.registered", s.sid,
                 p.student_record(student_id=s.sid, school_code=s.code, name_kanji=child.name_kanji,
                                  name_kana=child.name_kana, birth_date=child.birth_iso, sex=child.sex,
                                  grade=s.grade, class_name=f"{1 + child.pid % 4}組", atena_no=atena,
                                  address=address),
                 persons={"student_id": child.pid, "atena_no": child.pid}, household=h)

    def enrol(self, child: Person) -> None:
        sim, h = self.sim, child.household
        g = grade(child.birth_date, date.fromordinal(sim.day))
        if g is None or h is None or not child.resident or child.pid in self.students:
            return
        child.student_id = child.student_id or f"S{sim.cfg.seed % 10}{sim.next_id('student'):07d}"
        s = Student(child, child.student_id, school_code(h.ward_code, g, h.town), g, 0, 0,
                    school_year(date.fromordinal(sim.day)))
        s.arrears = 0 if sim.chance(sim.rates.lunch_arrears, h.risk, 1.2) else -1
        self._profile(s, h.risk)
        self.students[child.pid] = s
        self.record(s)
        sim.contacts.began(child, "school")

    def leave(self, child: Person) -> None:
        s = self.students.pop(child.pid, None)
        if s is not None:
            self.sim.emit("school_students.student.left", s.sid, p.student_left(
                student_id=s.sid, school_code=s.code, left_date=self.sim.iso(self.sim.day)),
                persons={"student_id": child.pid}, household=child.household)
            self.sim.contacts.ended(child, "school", self.sim.day)

    def arrived(self, h: Household) -> None:
        for child in h.children(self.sim.day):
            self.enrol(child)

    def moved(self, h: Household) -> None:
        for child in h.children(self.sim.day):
            s = self.students.get(child.pid)
            if s is not None:
                s.code = school_code(h.ward_code, s.grade, h.town)
                self.sim.at(self.sim.day + 7 + self.sim.rng.randrange(30), self.record, s, True)

    def unregistered_namesakes(self) -> None:
        """Children at a city school who are not in the city's registry, each named like a registry pupil (same
        氏名 and カナ, same sex) but born 2–5 weeks apart and living in another ward: no 宛名番号, so linkage
        matches them on name and birth date alone and must make them someone new. Their own truth person
        (``resident`` False: no registry, checkups or benefits here); one registration record at go-live. Drawn
        from a random stream of their own, so the rest of the city is what it was."""
        sim = self.sim
        rate = sim.rates.unregistered_near_namesake
        if rate <= 0:
            return
        rng = random.Random(f"namesakes/{sim.cfg.seed}")
        for pid in sorted(self.students):
            model = self.students[pid].person
            if rng.random() >= rate or model.household is None:
                continue
            child = sim.pop.new_person(model.surname, model.given, model.sex, near_namesake_birth(model.birth, rng),
                                       "子", model.foreign)
            child.resident = False
            g = grade(child.birth_date, date.fromordinal(sim.day))
            if g is None:
                continue
            ward = other_ward(model.household.ward_code, rng)
            town, lot = rng.randrange(8), (1 + rng.randrange(5), 1 + rng.randrange(30), 1 + rng.randrange(20))
            child.student_id = f"U{sim.cfg.seed % 10}{sim.next_id('unregistered_student'):07d}"
            code = school_code(ward, g, town)
            sim.emit("school_students.student.registered", child.student_id, p.student_record(
                student_id=child.student_id, school_code=code, name_kanji=child.name_kanji,
                name_kana=child.name_kana, birth_date=child.birth_iso, sex=child.sex, grade=g,
                class_name=f"{1 + child.pid % 4}組", atena_no=None,
                address=address(WARD_BY_CODE[ward], town, *lot)), persons={"student_id": child.pid})

    # --- monthly and yearly ---
    def daily(self, day: int) -> None:
        d = date.fromordinal(day)
        # monthly on the 5th for the month before; March at the year's close (修了式), before the new year
        if (d.day == 5 and d.month != 4) or (d.month, d.day) == (3, 25):
            self.attendance(date.fromordinal(day - 10) if d.day == 5 else d)
        if d.month == 4 and d.day == 1:
            self.new_year(d)
        if d.month == 5 and d.day == 20:
            self.health_checkups()
        if d.month == 4 and d.day == 18:
            self.surveys("learning")
        if d.month == 6 and d.day == 12:
            self.surveys("lifestyle")

    def attendance(self, month_day: date) -> None:
        sim, m = self.sim, month_day.month
        days = SCHOOL_DAYS[m]
        year = school_year(month_day)
        for s in list(self.students.values()):
            if s.year != year or not s.person.resident:
                continue
            a = min(days, _share(s.absences, days, sim.rng.random()))
            late = min(days - a, _share(s.lates, days, sim.rng.random()))
            sim.emit("school_affairs.attendance.reported", s.sid, p.attendance(
                student_id=s.sid, school_code=s.code, school_year=year, month=m, absence_days=a,
                late_arrivals=late, school_days=days), persons={"student_id": s.person.pid},
                household=s.person.household)
            sim.contacts.seen(s.person, sim.day)
            s.cum_absences += a
            s.cum_lates += late
            month_start = month_day.replace(day=1).toordinal()  # the month the count crossed the line ...
            if s.cum_absences >= 30:
                sim.truth.open(s.person.pid, 12, month_start, known=sim.day)  # ... known from its report
            if s.cum_lates >= 20:
                sim.truth.open(s.person.pid, 13, month_start, known=sim.day)
            self.lunch(s, month_day)

    def lunch(self, s: Student, month_day: date) -> None:
        sim = self.sim
        if s.arrears < 0 or month_day.month == 8:
            return
        s.arrears = s.arrears + 1 if sim.rng.random() < 0.8 else 0
        by_atena = not sim.noise.roll("school_lunch_fees", "missing_atena",
                                      sim.noise.rates("school_lunch_fees").missing_atena)
        fee = 5200 if s.grade >= 7 else 4500
        sim.emit("school_lunch_fees.arrears.reported", s.person.atena_no if by_atena else s.sid, p.arrears(
            atena_no=s.person.atena_no if by_atena else None, student_id=None if by_atena else s.sid,
            school_code=None if by_atena else s.code, as_of=sim.iso(sim.day), months=s.arrears,
            amount_yen=fee * s.arrears), persons={"atena_no" if by_atena else "student_id": s.person.pid},
            household=s.person.household)

    def new_year(self, d: date) -> None:
        sim = self.sim
        for pid, s in list(self.students.items()):
            sim.truth.close(pid, 12, sim.day)
            sim.truth.close(pid, 13, sim.day)
            g = grade(s.person.birth_date, d)
            if g is None:
                self.leave(s.person)
                continue
            s.grade, s.year = g, school_year(d)
            h = s.person.household
            assert h is not None
            s.code = school_code(h.ward_code, g, h.town)
            self._profile(s, h.risk)
            self.record(s, changed=True)
        for child in list(sim.residents()):
            if child.relation == "子" and child.pid not in self.students and grade(child.birth_date, d) == 1:
                self.enrol(child)

    def health_checkups(self) -> None:
        sim = self.sim
        for s in list(self.students.values()):
            age = s.person.age(sim.day)
            z = s.person.household.risk if s.person.household else 0.0
            height = sim.rng.gauss(116 + 6 * (age - 6) if age < 12 else 148 + 5 * min(age - 11, 4), 5)
            low = sim.chance(sim.rates.school_low_rohrer, z, 0.7)
            rohrer = sim.rng.uniform(85, 97) if low else sim.rng.uniform(105, 160)
            weight = round(rohrer * height ** 3 / 1e7, 1)
            sim.emit("school_affairs.health_checkup.recorded", s.sid, p.school_health(
                student_id=s.sid, school_code=s.code, checkup_date=sim.iso(sim.day), height_cm=round(height, 1),
                weight_kg=weight), persons={"student_id": s.person.pid}, household=s.person.household)
            sim.contacts.seen(s.person, sim.day)
            if low:
                sim.truth.open(s.person.pid, 9, sim.day)
            else:
                sim.truth.close(s.person.pid, 9, sim.day)

    def surveys(self, survey: str) -> None:
        sim = self.sim
        for s in list(self.students.values()):
            z = s.person.household.risk if s.person.household else 0.0
            distress = sim.chance(sim.rates.survey_distress, z, 1.0) if survey == "lifestyle" else None
            sim.emit("school_surveys.survey.answered", s.sid, p.survey(
                student_id=s.sid, school_code=s.code, survey=survey, answered_date=sim.iso(sim.day),
                score=round(min(100.0, max(0.0, sim.rng.gauss(65 - 8 * z, 15))), 1) if survey == "learning" else None,
                skips_breakfast=sim.chance(sim.rates.skips_breakfast, z, 1.0) if survey == "lifestyle" else None,
                distress=distress), persons={"student_id": s.person.pid}, household=s.person.household)
            if distress:
                sim.truth.open(s.person.pid, 14, sim.day)
            elif distress is False:
                sim.truth.close(s.person.pid, 14, sim.day)

    # --- 就学援助 ---
    def school_aid(self, h: Household, start: int) -> None:
        students = [c for c in h.children(self.sim.day) if c.pid in self.students]
        if students:
            e = Entitlement(f"SA{self.sim.next_id('aid'):07d}", "", "school_aid", h.guardian(), start, students)
            self.welfare.keep(h, "school_aid", e)
            start_entitlement(self.sim, h, e)
            if self.sim.chance(0.05):  # income rose above the limit
                self.sim.at(self.sim.day_after(), self.welfare.end_allowance, h, "school_aid")

    def go_live(self) -> Iterator[None]:
        sim = self.sim
        for n, child in enumerate(list(sim.residents())):
            if child.relation == "子":
                self.enrol(child)
            if n % BATCH == 0:
                yield
        self.unregistered_namesakes()
        for h in sim.family_households():
            if sim.chance(sim.rates.school_aid, h.risk, 1.0):
                self.school_aid(h, date(school_year(date.fromordinal(sim.day0)), 4, 1).toordinal())
        sim.on("left", self.leave)
        sim.on("moved", self.moved)
        sim.on("arrived", self.arrived)
        sim.every_day(self.daily)


def near_namesake_birth(birth: int, rng: random.Random) -> int:
    """Born 14–35 days before or after ``birth``: "about a month apart", never a keying slip of the same day."""
    return birth + rng.choice((-1, 1)) * rng.randint(14, 35)


def other_ward(ward_code: str, rng: random.Random) -> str:
    return rng.choice([w.code for w in WARDS if w.code != ward_code])


def stale_address(h: Household) -> str:
    """The address before the last move; for a family that has not moved here, one from before day 0 (another
    address in the same ward)."""
    return h.previous_address or address(WARD_BY_CODE[h.ward_code], h.town + 1, h.lot[0] % 5 + 1, h.lot[1] + 3,
                                         h.lot[2] + 1)


def _share(total: int, days: int, u: float) -> int:
    exact = total * days / YEAR_DAYS
    return int(exact) + (1 if u < exact - int(exact) else 0)
