"""Incremental linkage throughput against a registry of ≥ 1 M persons, on one core: records/s, p50/p99, memory.

The registry is loaded straight into linkage's state (the same indexes the service builds), then a mixed
stream — school registrations matched probabilistically, attendance by student id, registry moves, 生活保護
cases — runs through the service's record handler one record at a time, as the worker does.
"""

from __future__ import annotations

import gc
import random
import resource
import time
from dataclasses import dataclass

from benchmarks.linkage_synth import Population, add_students, build
from contracts.topics.ingest_records import PersonKeys, RecordV1
from services.linkage.domain.identity import atena_key, is_minor, person_id_for
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.model import Person
from services.linkage.domain.state import LinkageState
from services.linkage.service_layer.records import handle_record
from services.linkage.service_layer.unit import Change


@dataclass
class Throughput:
    persons: int
    records: int
    load_seconds: float
    wall_seconds: float
    cpu_seconds: float
    p50_ms: float
    p99_ms: float
    max_rss_mb: float
    state_mb: float

    def lines(self) -> list[str]:
        return [
            f"registry persons           {self.persons:,}",
            f"registry load (direct)     {self.load_seconds:.1f} s",
            f"records in stream          {self.records:,}",
            f"throughput (CPU time)      {self.records / self.cpu_seconds:,.0f} records/s",
            f"throughput (wall clock)    {self.records / self.wall_seconds:,.0f} records/s",
            f"latency p50 / p99 (wall)   {self.p50_ms:.3f} / {self.p99_ms:.3f} ms",
            f"memory: max RSS / state    {self.max_rss_mb:,.0f} MB / {self.state_mb:,.0f} MB",
        ]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_registry(pop: Population, state: LinkageState) -> None:
    for p in pop.persons:
        keys = p.keys()
        person = Person(person_id_for(atena_key(p.atena)), keys={atena_key(p.atena): f"reg-{p.atena}"},
                        name_kanji=keys.name_kanji, name_kana=keys.name_kana, kanji_key=keys.kanji_key,
                        kana_key=keys.kana_key, surname_kana_key=keys.surname_kana_key,
                        given_kana_key=keys.given_kana_key, birth_date=keys.birth_date, sex=keys.sex,
                        address=keys.address, address_key=keys.address_key, ward_code=keys.ward_code,
                        household_no=p.household, status="resident",
                        is_child=is_minor(keys.birth_date, "2025-04-01"))
        state.add_person(person)
    state.clear_dirty()


def stream(pop: Population, size: int, seed: int = 3) -> list[RecordV1]:
    rng = random.Random(seed)
    students = [rec for rec, _ in pop.students]
    out: list[RecordV1] = []
    for i in range(size):
        roll = rng.random()
        if roll < 0.45 and students:
            out.append(students.pop())
        elif roll < 0.7 and out:
            sid = rng.choice([r for r in out[-200:] if r.system == "school_students"] or [None])
            if sid is not None:
                out.append(RecordV1(record_id=f"att-{i}", system="school_affairs",
                                    event_type="school_affairs.attendance.reported",
                                    occurred_at="2025-06-01T09:00:00+09:00", record_date="2025-06-01",
                                    persons=[PersonKeys(role="subject", student_id=sid.persons[0].student_id)],
                                    attributes={"school_year": 2025, "month": 6, "absence_days": rng.randint(0, 9),
                                                "late_arrivals": rng.randint(0, 5)}))
        elif roll < 0.88:
            p = rng.choice(pop.persons)
            out.append(RecordV1(record_id=f"mv-{i}", system="resident_registry",
                                event_type="resident_registry.person.changed",
                                occurred_at="2025-06-01T09:00:00+09:00", record_date="2025-06-01",
                                household_no=p.household, persons=[p.keys()],
                                attributes={"effective_date": "2025-06-01", "reason": "move_within"}))
        else:
            p = rng.choice(pop.persons)
            out.append(RecordV1(record_id=f"pa-{i}", system="public_assistance",
                                event_type="public_assistance.case.started", occurred_at="2025-06-01T09:00:00+09:00",
                                record_date="2025-06-01", household_no=p.household,
                                persons=[PersonKeys(role="household_head", atena_no=p.atena)],
                                attributes={"case_no": f"C{i}", "start_date": "2025-06-01"}))
    return out


def run(households: int = 310_000, records: int = 50_000, seed: int = 7) -> Throughput:
    from benchmarks.linkage_synth import real_pool

    pop = build(households, seed=seed, names=real_pool())
    add_students(pop)
    gc.collect()
    before = _rss_mb()
    state = LinkageState()
    started = time.perf_counter()
    load_registry(pop, state)
    load_seconds = time.perf_counter() - started
    gc.collect()
    state_mb = _rss_mb() - before
    records_ = stream(pop, records)
    settings = MatchSettings()
    latencies: list[float] = []
    gc.freeze()  # the registry is long-lived: keep the collector from rescanning it on every record
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for rec in records_:
        t = time.perf_counter()
        handle_record(rec, Change(state, rec.occurred_at), settings)
        latencies.append(time.perf_counter() - t)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    latencies.sort()
    return Throughput(len(state.persons), len(records_), load_seconds, wall, cpu,
                      latencies[len(latencies) // 2] * 1000, latencies[int(len(latencies) * 0.99)] * 1000,
                      _rss_mb(), state_mb)
