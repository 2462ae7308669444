"""The synthetic Fukuoka: population, one simulated period of life events for all 16 systems, and the truth."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from simulator.events import SourceEvent
from simulator.life import care, checkups, maternal, registry, school, welfare
from simulator.life.engine import SimConfig, Simulation
from simulator.population.model import atena_no, household_ref, person_ref
from simulator.population.names import NameBank
from simulator.truth import RecordTruth, write_jsonl


def _go_live(sim: Simulation) -> Iterator[None]:
    yield from registry.go_live(sim)
    yield from maternal.go_live(sim)
    yield from checkups.go_live(sim)
    services = welfare.Welfare(sim)
    yield from services.go_live()
    yield from care.Care(sim, services).go_live()
    yield from school.Schools(sim, services).go_live()
    sim.contacts.go_live()  # last: judges each child on everything the load holds


@dataclass
class City:
    config: SimConfig
    names: NameBank | None = None
    record_truth: IO[str] | None = None
    sim: Simulation = field(init=False)

    def __post_init__(self) -> None:
        self.sim = Simulation(self.config, self.names, RecordTruth(self.record_truth))

    def events(self) -> Iterator[SourceEvent]:
        return self.sim.run(_go_live)

    def flag_rows(self) -> Iterator[dict[str, object]]:
        return self.sim.truth.rows(self.sim.pop.persons, self.sim.end)

    def person_rows(self) -> Iterator[dict[str, object]]:
        """The true identity of every person who ever lived in the city during the run."""
        for person in self.sim.pop.persons:
            h = person.household
            yield {"person": person_ref(person.pid), "atena_no": atena_no(person.pid),
                   "household": household_ref(h.hid) if h else None, "name_kanji": person.name_kanji,
                   "name_kana": person.name_kana, "birth_date": person.birth_date.isoformat(), "sex": person.sex,
                   "relation": person.relation, "ward_code": h.ward_code if h else None,
                   "mother": person_ref(person.mother.pid) if person.mother else None,
                   "father": person_ref(person.father.pid) if person.father else None,
                   "student_id": person.student_id, "foreign": person.foreign, "resident": person.resident}

    def write_truth(self, directory: Path) -> dict[str, int]:
        """flags.jsonl (items per child as date spans), signals.jsonl (行政とのつながり) and persons.jsonl, after the
        events have been drawn."""
        directory.mkdir(parents=True, exist_ok=True)
        return {"flags": write_jsonl(directory / "flags.jsonl", self.flag_rows()),
                "signals": write_jsonl(directory / "signals.jsonl",
                                       self.sim.truth.rows(self.sim.pop.persons, self.sim.end, signals=True)),
                "persons": write_jsonl(directory / "persons.jsonl", self.person_rows())}
