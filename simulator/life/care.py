"""子ども・子育て支援 (nursery use), 障がい (certificates), 介護 (a household member in care), 児童相談.

Truth: item 10 while a child holds a 精神障害者保健福祉手帳 for a developmental disability; item 11 from the
first 障害児支援受給者証; item 1 from a 要対協 registration; item 2 from a 一時保護 (both "ever").
"""

from __future__ import annotations

from collections.abc import Iterator

from simulator import payloads as p
from simulator.life.engine import BATCH, Simulation
from simulator.life.welfare import Entitlement, Welfare, start_entitlement
from simulator.population.model import Household, Person, age_reached_on
from simulator.truth import KNOWN_TO_GUIDANCE, UNENROLLED, UNENROLLED_AGES

CARE_LEVELS = ("要支援1", "要支援2", "要介護1", "要介護2", "要介護3", "要介護4", "要介護5")


class Care:
    def __init__(self, sim: Simulation, welfare: Welfare) -> None:
        self.sim = sim
        self.welfare = welfare
        self.enrolled: dict[int, str] = {}  # child pid → facility code
        self.insured: dict[int, str] = {}  # pid → 被保険者番号 while certified
        self.cases: dict[int, set[str]] = {}  # child pid → open 児童相談 cases (signal known_to_guidance)

    # --- 子ども・子育て支援 ---
    def enrol(self, child: Person, start: int) -> None:
        sim, h = self.sim, child.household
        if h is None or not child.resident or child.pid in self.enrolled:
            return
        age = child.age(sim.day)
        r = sim.rng.random()
        if r < sim.rates.unlicensed_share:
            kind = "unlicensed_nursery"
        elif age >= 3:
            kind = "licensed_nursery" if r < 0.5 else "kindergarten" if r < 0.85 else "certified_center"
        else:
            kind = "licensed_nursery" if r < 0.85 else "certified_center"
        code = f"F{h.ward_code[-2:]}{h.town}{sim.rng.randrange(40):03d}"
        self.enrolled[child.pid] = code
        sim.truth.close(child.pid, UNENROLLED, start)
        sim.emit("childcare.enrolment.started", child.atena_no, p.enrolment_started(
            child=child.atena_no, facility_kind=kind, facility_code=code, start_date=sim.iso(start)),
            persons={"child_atena_no": child.pid}, household=h)
        sim.contacts.began(child, "childcare")

    def unenrol(self, child: Person) -> None:
        code = self.enrolled.pop(child.pid, None)
        if code is not None:
            self.sim.emit("childcare.enrolment.ended", child.atena_no, p.enrolment_ended(
                child=child.atena_no, facility_code=code, end_date=self.sim.iso(self.sim.day)),
                persons={"child_atena_no": child.pid}, household=child.household)
            self.sim.contacts.ended(child, "childcare", self.sim.day)

    def watch_unenrolled(self, child: Person, since: int) -> None:
        """Signal 未就園: from 満3歳 (or the day the child came, ``since``) to 満6歳 while in no nursery. With a
        data horizon, known from that day at the earliest: a nursery that ended before it would not be in the
        load (this city's load has none, but the city cannot know that), so the truth is dated no earlier."""
        three, six = (age_reached_on(child.birth, months) for months in UNENROLLED_AGES)
        start = max(three, since, self.sim.history_from or since)
        if self.sim.day < six:
            self.sim.at(max(three, self.sim.day), self._unenrolled, child, start, six, three <= self.sim.day)

    def _unenrolled(self, child: Person, start: int, six: int, now: bool) -> None:
        sim = self.sim
        if not child.resident or child.pid in self.enrolled:
            return
        # an absence: concluded by the clock, the day after the records that reveal it (go-live, arrival)
        sim.truth.open(child.pid, UNENROLLED, start, known=sim.day + 1 if now else sim.day)
        sim.at(six, sim.truth.close, child.pid, UNENROLLED, six)

    def childcare_rate(self, age: int) -> float:
        r = self.sim.rates
        return r.childcare_age0 if age == 0 else r.childcare_age1_2 if age <= 2 else r.childcare_age3_5

    # --- 障がい ---
    def certificate(self, child: Person, kind: str, issued: int) -> None:
        sim, h = self.sim, child.household
        if not child.resident:
            return
        developmental = kind == "mental_health_welfare" and sim.rng.random() < 0.9
        number = f"D{sim.next_id('certificate'):08d}"
        grade = {"mental_health_welfare": sim.rng.choice(("1級", "2級", "3級")),
                 "physical": f"{sim.rng.randint(1, 6)}級", "ryoiku": sim.rng.choice(("A1", "A2", "B1", "B2"))}
        sim.emit("disability.certificate.issued", child.atena_no, p.certificate_issued(
            certificate_no=number, atena_no=child.atena_no, certificate=kind, developmental=developmental,
            grade=grade.get(kind), issue_date=sim.iso(issued)), persons={"atena_no": child.pid}, household=h)
        if kind == "child_support_recipient":
            sim.truth.open(child.pid, 11, issued)  # "ever issued": an end does not clear it
            if sim.chance(0.1):  # not renewed at the yearly review
                sim.at(sim.day_after(), self.end_certificate, child, number, None)
        if developmental:
            sim.truth.open(child.pid, 10, issued)
            if sim.chance(0.2):
                sim.at(sim.day_after(), self.end_certificate, child, number, 10)
        if kind in ("ryoiku", "physical", "mental_health_welfare") and h is not None and sim.rng.random() < 0.6:
            e = Entitlement(f"SC{sim.next_id('special'):07d}", "", "special_child_allowance", h.guardian(), issued,
                            [child])
            self.welfare.keep(h, f"special{child.pid}", e)
            start_entitlement(sim, h, e)
            if sim.chance(0.2):  # 所得制限 or the 障害程度 at re-certification
                sim.at(sim.day_after(), self.welfare.end_allowance, h, f"special{child.pid}")
        if kind in ("ryoiku", "physical") and h is not None and sim.rng.random() < 0.3:
            e = Entitlement(f"MD{sim.next_id('md'):07d}", "disability_medical", "medical_subsidy", h.guardian(),
                            issued, [child])
            self.welfare.keep(h, f"disability_medical{child.pid}", e)
            start_entitlement(sim, h, e)

    def end_certificate(self, child: Person, number: str, item: int | None) -> None:
        if child.resident:
            self.sim.emit("disability.certificate.ended", child.atena_no, p.certificate_ended(
                certificate_no=number, atena_no=child.atena_no, end_date=self.sim.iso(self.sim.day)),
                persons={"atena_no": child.pid}, household=child.household)
            if item is not None:
                self.sim.truth.close(child.pid, item, self.sim.day)

    def new_certificate_kind(self, age: int) -> str | None:
        r = self.sim.rates
        u = self.sim.rng.random()
        for kind, rate in (("child_support_recipient", r.disability_child_support),
                           ("mental_health_welfare", r.disability_mental_dev if age >= 5 else 0.0),
                           ("ryoiku", r.disability_ryoiku), ("physical", 0.002)):
            if u < rate:
                return kind
            u -= rate
        return None

    # --- 介護 ---
    def care(self, person: Person, start: int) -> None:
        sim = self.sim
        insured = f"K{sim.next_id('ltc'):09d}"
        self.insured[person.pid] = insured
        sim.emit("long_term_care.certification.started", person.atena_no, p.care_certified(
            insured_no=insured, atena_no=person.atena_no, care_level=sim.rng.choice(CARE_LEVELS),
            start_date=sim.iso(start)), persons={"atena_no": person.pid}, household=person.household)
        if sim.chance(0.05):  # recovered, or moved to a facility outside the city
            sim.at(sim.day_after(), self.end_care, person)

    def end_care(self, person: Person) -> None:
        insured = self.insured.pop(person.pid, None)
        if insured is not None:
            self.sim.emit("long_term_care.certification.ended", person.atena_no, p.care_ended(
                insured_no=insured, atena_no=person.atena_no, end_date=self.sim.iso(self.sim.day)),
                persons={"atena_no": person.pid}, household=person.household)

    def left(self, person: Person) -> None:
        self.unenrol(person)
        if person.pid in self.insured:
            self.end_care(person)

    # --- 児童相談 ---
    def involvement(self, child: Person, kind: str, start: int, end: int | None) -> None:
        sim = self.sim
        case_no = f"G{sim.next_id('guidance'):08d}"
        sim.emit("child_guidance.involvement.started", child.atena_no, p.involvement_started(
            case_no=case_no, child=child.atena_no, involvement=kind, start_date=sim.iso(start)),
            persons={"child_atena_no": child.pid}, household=child.household)
        self.cases.setdefault(child.pid, set()).add(case_no)
        sim.contacts.began(child, case_no)
        sim.truth.open(child.pid, KNOWN_TO_GUIDANCE, start)  # currently known to 児童相談所 (any involvement)
        item = {"youtaikyo": 1, "temporary_protection": 2}.get(kind)
        if item is not None:
            sim.truth.open(child.pid, item, start)  # "ever": an end does not clear it
        if end is not None:
            sim.at(max(end, sim.day), self.end_involvement, child, case_no, kind, end)

    def end_involvement(self, child: Person, case_no: str, kind: str, end: int) -> None:
        open_cases = self.cases.get(child.pid, set())
        open_cases.discard(case_no)
        if not open_cases:
            self.sim.truth.close(child.pid, KNOWN_TO_GUIDANCE, end)
        if child.resident:
            self.sim.emit("child_guidance.involvement.ended", child.atena_no, p.involvement_ended(
                case_no=case_no, child=child.atena_no, involvement=kind, end_date=self.sim.iso(end)),
                persons={"child_atena_no": child.pid}, household=child.household)
            self.sim.contacts.ended(child, case_no, end)

    def guidance_kind(self, z: float) -> str | None:
        r = self.sim.rates
        if self.sim.chance(r.temporary_protection, z, 1.2):
            return "temporary_protection"
        if self.sim.chance(r.youtaikyo, z, 1.2):
            return "youtaikyo"
        if self.sim.chance(r.guidance_support, z, 1.2):
            return "support"
        return None

    # --- the child's year ---
    def plan_child(self, child: Person, h: Household, at_go_live: bool) -> None:
        sim = self.sim
        age = child.age(sim.day)
        if age <= 5 and sim.day - child.birth > 57:
            if sim.chance(self.childcare_rate(age)):
                self.enrol(child, max(child.birth + 57, sim.day - sim.rng.randrange(365)))
            elif age == 0 and sim.chance(0.3):
                sim.at(sim.day_after(), lambda: self.enrol(child, sim.day))
        self.watch_unenrolled(child, child.birth if at_go_live else sim.day)
        kind = self.new_certificate_kind(age) if at_go_live else None
        if kind:
            self.certificate(child, kind, max(child.birth + 180, sim.day - sim.rng.randrange(3 * 365)))
        if sim.chance(self.sim.rates.new_certificates):
            day = sim.day_after()
            sim.at(day, self.certificate, child, self.new_certificate_kind(age) or "child_support_recipient", day)
        g = self.guidance_kind(h.risk) if at_go_live else None
        if g:
            start = max(child.birth, sim.day - sim.rng.randrange(3 * 365))
            self.involvement(child, g, start, start + sim.rng.randint(14, 60) if g == "temporary_protection" else
                             sim.day_after() if sim.rng.random() < 0.3 else None)
        if sim.chance(sim.rates.new_guidance_cases, h.risk, 1.2):
            sim.at(sim.day_after(), self.new_case, child)

    def new_case(self, child: Person) -> None:
        if child.resident:
            kind = self.sim.rng.choices(("support", "youtaikyo", "temporary_protection"), (0.6, 0.3, 0.1))[0]
            end = self.sim.day + self.sim.rng.randint(14, 60) if kind == "temporary_protection" else None
            self.involvement(child, kind, self.sim.day, end)

    def go_live(self) -> Iterator[None]:
        sim = self.sim
        for n, h in enumerate(list(sim.family_households())):
            if n % BATCH == 0:
                yield
            for child in h.children(sim.day0):
                self.plan_child(child, h, at_go_live=True)
            for m in h.members:
                if m.relation in ("母", "父") and sim.chance(sim.rates.long_term_care_grandparent):
                    self.care(m, sim.day0 - sim.rng.randrange(1500))
        for n, h in enumerate(sim.pop.households):
            if n % BATCH == 0:
                yield
            if h.kind in ("single", "couple"):
                for m in h.members:
                    age = m.age(sim.day0)
                    if age >= 65 and sim.chance(0.32 if age >= 75 else 0.04):
                        self.care(m, sim.day0 - sim.rng.randrange(2000))
        sim.on("left", self.left)
        sim.on("arrived", self.arrived)

    def arrived(self, h: Household) -> None:
        for child in h.children(self.sim.day):
            self.plan_child(child, h, at_go_live=False)
