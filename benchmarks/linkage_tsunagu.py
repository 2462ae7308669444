"""Runs Tsunagu's linkage (the service's own handlers, in memory) over a population, then an oracle clerk."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from benchmarks.linkage_synth import Population
from contracts.topics.linkage_review import ReviewDecisionV1
from services.linkage.domain.identity import student_key
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.state import LinkageState
from services.linkage.service_layer.decisions import handle_decision
from services.linkage.service_layer.records import handle_record
from services.linkage.service_layer.unit import Change


@dataclass
class TsunaguRun:
    state: LinkageState
    outcomes: Counter[str]
    predicted: dict[str, str | None]
    seconds: float
    reviews: list[str] = field(default_factory=list)
    child_ids: dict[str, str] = field(default_factory=dict)
    registry_records: int = 0
    registry_seconds: float = 0.0  # the registry load (wall); ``seconds`` is the school records' matching (wall)

    def stages(self) -> str:
        """Records/s per stage (wall clock, one process)."""
        schools = sum(self.outcomes.values())
        return (f"registry {self.registry_records:,} records in {self.registry_seconds:.1f} s "
                f"({self.registry_records / max(self.registry_seconds, 1e-9):,.0f}/s), school matching "
                f"{schools:,} in {self.seconds:.1f} s ({schools / max(self.seconds, 1e-9):,.0f}/s)")


def atena_of(state: LinkageState, key: str) -> str | None:
    person = state.person_for_key(key)
    if person is None:
        return None
    return next((k.removeprefix("atena:") for k in person.keys if k.startswith("atena:")), None)


def run(pop: Population, settings: MatchSettings | None = None) -> TsunaguRun:
    settings = settings or MatchSettings()
    state = LinkageState()
    registry = pop.registry_records()
    loaded = time.perf_counter()
    for rec in registry:
        handle_record(rec, Change(state, rec.occurred_at), settings)
    registry_seconds = time.perf_counter() - loaded
    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    for rec, _ in pop.students:
        outcomes[handle_record(rec, Change(state, rec.occurred_at), settings).outcome] += 1
    seconds = time.perf_counter() - started
    predicted = {rec.record_id: atena_of(state, student_key(rec.persons[0].student_id or ""))
                 for rec, _ in pop.students}
    reviews = [r.review_id for r in state.reviews.values() if not r.decided]
    ids = {k: p for k, p in state.key_owner.items()}
    return TsunaguRun(state, outcomes, predicted, seconds, reviews, ids, len(registry), registry_seconds)


def clerk(run_: TsunaguRun, pop: Population, settings: MatchSettings | None = None) -> Counter[str]:
    """Decides every open review with the truth, as a careful ward clerk would, through the decision handler."""
    settings = settings or MatchSettings()
    truth = {rec.record_id: t for rec, t in pop.students}
    state, outcomes = run_.state, Counter[str]()
    for review_id in run_.reviews:
        review = state.reviews[review_id]
        true_atena = truth.get(review.record_id)
        true_person = state.key_owner.get(f"atena:{true_atena}") if true_atena else None
        if true_person is not None:
            d = ReviewDecisionV1(review_id=review_id, decision="must_link", person_id=true_person,
                                 decided_by="oracle", decided_at="2025-06-01T10:00:00+09:00", reason="benchmark")
        else:
            d = ReviewDecisionV1(review_id=review_id, decision="cannot_link", decided_by="oracle",
                                 decided_at="2025-06-01T10:00:00+09:00", reason="benchmark")
        outcome, _ = handle_decision(d, Change(state, d.decided_at), settings)
        outcomes[f"{d.decision}:{outcome}"] += 1
    for rec, _ in pop.students:
        run_.predicted[rec.record_id] = atena_of(state, student_key(rec.persons[0].student_id or ""))
    return outcomes
