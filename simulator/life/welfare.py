"""生活保護, 児童手当・児童扶養手当, 特別児童扶養手当, 母子父子寡婦福祉資金貸付 and 公費医療.

Truth: item 18 on every child of a household while its 生活保護 case is open; item 19 on the children
covered by a guardian's 児童扶養手当 while it is paid. Allowances re-send ``eligibility.started`` with the same
entitlement id when a birth changes the children covered (an upsert: the contract has no "changed").
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from simulator import payloads as p
from simulator.life.engine import BATCH, Simulation
from simulator.population.model import Household, Person

FAMILY = ("two_parent", "single_mother", "single_father")
_ITEM = {"jido_fuyo_teate": 19}
SINGLE = ("single_mother", "single_father")


@dataclass
class Entitlement:
    eid: str
    kind: str  # allowance / subsidy field value
    system: str
    recipient: Person
    start: int
    covered: list[Person] = field(default_factory=list)


@dataclass
class WelfareState:
    cases: dict[int, tuple[str, Person]] = field(default_factory=dict)  # hid → (case_no, head)
    allowances: dict[int, dict[str, Entitlement]] = field(default_factory=dict)  # hid → kind → entitlement


def _kind_field(e: Entitlement) -> dict[str, str]:
    return {"child_allowance": {"allowance": e.kind}, "medical_subsidy": {"subsidy": e.kind},
            "single_parent_loans": {"loan_kind": e.kind}}.get(e.system, {})


def start_entitlement(sim: Simulation, h: Household, e: Entitlement, item: int | None = None) -> None:
    persons = {"recipient_atena_no": e.recipient.pid} | {f"covered_atena_nos[{i}]": c.pid
                                                           for i, c in enumerate(e.covered)}
    event_type = ("single_parent_loans.loan.granted" if e.system == "single_parent_loans"
                  else f"{e.system}.{'aid' if e.system == 'school_aid' else 'eligibility'}.started")
    sim.emit(event_type, e.recipient.atena_no, p.eligibility_started(
        entitlement_id=e.eid, recipient=e.recipient.atena_no, covered=[c.atena_no for c in e.covered],
        start_date=sim.iso(e.start), **_kind_field(e)), persons=persons, household=h)
    if e.system == "child_allowance":  # its 認定 (and a 額改定 re-sent on a birth): dated by its start
        for c in e.covered:
            sim.contacts.seen(c, e.start)
    if item is not None:
        for c in e.covered:
            sim.truth.open(c.pid, item, max(e.start, c.birth))


def end_entitlement(sim: Simulation, h: Household, e: Entitlement, item: int | None = None) -> None:
    event_type = ("single_parent_loans.loan.ended" if e.system == "single_parent_loans"
                  else f"{e.system}.{'aid' if e.system == 'school_aid' else 'eligibility'}.ended")
    kind = {} if e.system in ("single_parent_loans", "school_aid", "special_child_allowance") else _kind_field(e)
    sim.emit(event_type, e.recipient.atena_no, p.eligibility_ended(
        entitlement_id=e.eid, recipient=e.recipient.atena_no, end_date=sim.iso(sim.day), **kind),
        persons={"recipient_atena_no": e.recipient.pid}, household=h)
    if e.system == "child_allowance":
        for c in e.covered:
            sim.contacts.seen(c, sim.day)
    if item is not None:
        for c in e.covered:
            sim.truth.close(c.pid, item, sim.day)


def _past_start(sim: Simulation, h: Household, years: float) -> int:
    eldest = min((c.birth for c in h.children(sim.day0)), default=sim.day0 - 30)
    return max(eldest + 15, sim.day0 - int(years * 365 * sim.rng.random()) - 1)


class Welfare:
    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.state = WelfareState()

    # --- 生活保護 (item 18) ---
    def start_case(self, h: Household, start: int) -> None:
        sim = self.sim
        if h.hid in self.state.cases or not h.members or not h.head.resident:
            return
        case_no = f"PA{sim.next_id('pa'):07d}"
        self.state.cases[h.hid] = (case_no, h.head)
        sim.emit("public_assistance.case.started", h.head.atena_no, p.case_started(
            case_no=case_no, household_no=h.number, head_atena_no=h.head.atena_no, start_date=sim.iso(start)),
            persons={"head_atena_no": h.head.pid}, household=h)
        for c in h.children(sim.day):
            sim.truth.open(c.pid, 18, max(start, c.birth))
        if sim.chance(sim.rates.public_assistance_end):
            sim.at(sim.day_after(), self.end_case, h)

    def start_case_today(self, h: Household) -> None:
        self.start_case(h, self.sim.day)

    def end_case(self, h: Household) -> None:
        sim = self.sim
        case = self.state.cases.pop(h.hid, None)
        if case is None:
            return
        sim.emit("public_assistance.case.ended", case[1].atena_no, p.case_ended(
            case_no=case[0], household_no=h.number, head_atena_no=case[1].atena_no, end_date=sim.iso(sim.day)),
            persons={"head_atena_no": case[1].pid}, household=h)
        for c in h.children(sim.day):
            sim.truth.close(c.pid, 18, sim.day)

    # --- allowances ---
    def allowance(self, h: Household, kind: str, system: str, start: int, item: int | None = None,
                  recipient: Person | None = None) -> None:
        children = h.children(self.sim.day)
        if not children:
            return
        prefix = {"jido_teate": "JT", "jido_fuyo_teate": "JF", "child_medical": "MC",
                  "single_parent_medical": "MS"}.get(kind, "E")
        e = Entitlement(f"{prefix}{self.sim.next_id(kind):08d}", kind, system, recipient or h.guardian(), start,
                        children)
        self.keep(h, kind, e)
        start_entitlement(self.sim, h, e, item)

    def keep(self, h: Household, key: str, e: Entitlement) -> None:
        """Remembers a household's entitlement so it ends when the household leaves the city."""
        self.state.allowances.setdefault(h.hid, {})[key] = e

    def held(self, h: Household, key: str) -> Entitlement | None:
        return self.state.allowances.get(h.hid, {}).get(key)

    def end_allowance(self, h: Household, kind: str, item: int | None = None) -> None:
        e = self.state.allowances.get(h.hid, {}).pop(kind, None)
        if e is not None and e.recipient.resident:
            end_entitlement(self.sim, h, e, item)

    def single_parent_benefits(self, h: Household, start: int) -> None:
        sim = self.sim
        if sim.chance(sim.rates.jido_fuyo_of_single_parents, h.risk, 0.8):
            self.allowance(h, "jido_fuyo_teate", "child_allowance", start, item=19)
            self.allowance(h, "single_parent_medical", "medical_subsidy", start)

    # --- happenings ---
    def on_birth(self, child: Person) -> None:
        sim, h = self.sim, child.household
        if h is None:
            return
        if h.hid in self.state.cases:
            sim.truth.open(child.pid, 18, child.birth)
        for kind, item in (("jido_teate", None), ("jido_fuyo_teate", 19), ("child_medical", None)):
            e = self.held(h, kind)
            if e is None:
                if kind != "jido_fuyo_teate":
                    self.allowance(h, kind, "child_allowance" if kind == "jido_teate" else "medical_subsidy",
                                   sim.day)
                continue
            e.covered.append(child)
            start_entitlement(sim, h, e)  # same entitlement id, updated children
            if item is not None:
                sim.truth.open(child.pid, item, child.birth)

    def on_single_parent(self, h: Household) -> None:
        sim = self.sim
        e = self.held(h, "jido_teate")
        if e is not None and e.recipient.household is not h:  # the parent who left was the recipient
            self.end_allowance(h, "jido_teate")
            self.allowance(h, "jido_teate", "child_allowance", sim.day)
        sim.at(sim.day + 30 + sim.rng.randrange(60), self.single_parent_benefits, h, sim.day + 30)

    def on_partnered(self, h: Household) -> None:
        self.end_allowance(h, "jido_fuyo_teate", item=19)
        self.end_allowance(h, "single_parent_medical")

    def on_left(self, person: Person) -> None:
        h = person.household
        if h is None or any(m.resident for m in h.members):
            return
        self.end_case(h)  # 廃止 on moving away
        for e in self.state.allowances.pop(h.hid, {}).values():
            end_entitlement(self.sim, h, e, _ITEM.get(e.kind))

    def on_arrived(self, h: Household) -> None:
        self.allowance(h, "jido_teate", "child_allowance", self.sim.day)
        self.allowance(h, "child_medical", "medical_subsidy", self.sim.day)
        if h.kind in SINGLE:
            self.single_parent_benefits(h, self.sim.day)

    # --- go-live ---
    def go_live(self) -> Iterator[None]:
        sim, r = self.sim, self.sim.rates
        for n, h in enumerate(list(sim.family_households())):
            if n % BATCH == 0:
                yield
            if not h.children(sim.day0):
                continue
            self.allowance(h, "jido_teate", "child_allowance", _past_start(sim, h, 10))
            self.allowance(h, "child_medical", "medical_subsidy", _past_start(sim, h, 10))
            if h.kind in SINGLE:
                self.single_parent_benefits(h, _past_start(sim, h, 6))
                if sim.chance(r.single_parent_loans, h.risk, 0.5):
                    sim.at(sim.day_in_period(), self.loan, h)
                if sim.chance(r.single_parent_loans * 2, h.risk, 0.5):  # loans taken in earlier years
                    self.loan(h, start=sim.day0 - sim.rng.randrange(365, 4 * 365))
            if sim.chance(r.public_assistance_families, h.risk, 1.2):
                self.start_case(h, _past_start(sim, h, 5))
            elif sim.chance(r.public_assistance_start, h.risk, 1.2):
                sim.at(sim.day_in_period(), self.start_case_today, h)
        sim.on("birth", self.on_birth)
        sim.on("single_parent", self.on_single_parent)
        sim.on("partnered", self.on_partnered)
        sim.on("left", self.on_left)
        sim.on("arrived", self.on_arrived)

    def loan(self, h: Household, start: int | None = None) -> None:
        sim = self.sim
        if h.kind in SINGLE and h.members and h.head.resident and h.children(sim.day):
            kind = sim.rng.choice(("修学資金", "就学支度資金", "生活資金", "転宅資金"))
            e = Entitlement(f"LN{sim.next_id('loan'):07d}", kind, "single_parent_loans", h.guardian(),
                            sim.day if start is None else start, h.children(sim.day))
            key = f"loan{e.eid}"
            self.keep(h, key, e)
            start_entitlement(sim, h, e)
            if sim.chance(0.25):  # repaid or written off
                sim.at(sim.day_after(), self.end_allowance, h, key)


