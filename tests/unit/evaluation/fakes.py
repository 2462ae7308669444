"""An in-memory unit of work for evaluation's use cases (service_layer/unit_of_work.py): no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from services.evaluation.adapters.messages import decode
from services.evaluation.domain.model import Case, Step
from services.evaluation.domain.stored import codes_of, items_of
from services.evaluation.metrics import EvaluationMetrics
from services.evaluation.service_layer.ports import Decoder
from services.evaluation.service_layer.unit_of_work import AbstractUnitOfWork, ChildItems, Claim


@dataclass
class FakeCase:
    case_id: str
    child_id: str
    ward_code: str
    items: str
    listed_at: datetime | None = None
    tier: str | None = None
    reason: str | None = None


@dataclass
class FakeChild:
    child_id: str
    as_of: str
    event_time: datetime
    ward_code: str | None = None
    tier: str | None = None
    score: float = 0.0
    items: str = ""
    ever_items: str = ""
    weights_version: str = ""
    supported_by_child_guidance: bool = False
    signals: str = ""


@dataclass(frozen=True)
class FakeChildNow:
    child_id: str
    ward_code: str | None
    items: frozenset[int]
    ever_items: frozenset[int]
    signals: frozenset[str] = frozenset()


@dataclass
class FakeStore:
    processed_keys: set[str] = field(default_factory=set)
    cases_: dict[str, FakeCase] = field(default_factory=dict)
    steps: list[tuple[str, str, str, str | None, datetime]] = field(default_factory=list)  # event, case, step, …
    children_: dict[str, FakeChild] = field(default_factory=dict)
    forgotten_ids: set[str] = field(default_factory=set)
    opt_outs: dict[str, tuple[bool, datetime]] = field(default_factory=dict)
    scheduled: dict[str, tuple[str, datetime, datetime | None]] = field(default_factory=dict)  # owner, claimed, done

    def processed(self, key: str) -> bool:
        return key in self.processed_keys

    def mark_processed(self, key: str) -> None:
        self.processed_keys.add(key)

    def case(self, case_id: str) -> FakeCase | None:
        return self.cases_.get(case_id)

    def add_case(self, case_id: str, child_id: str, ward_code: str, items: str) -> FakeCase:
        self.cases_[case_id] = FakeCase(case_id, child_id, ward_code, items)
        return self.cases_[case_id]

    def add_step(self, event_id: str, case_id: str, step: str, result: str | None, recorded_at: datetime) -> None:
        self.steps.append((event_id, case_id, step, result, recorded_at))

    def child(self, child_id: str) -> FakeChild | None:
        return self.children_.get(child_id)

    def add_child(self, child_id: str, as_of: str, event_time: datetime) -> FakeChild:
        self.children_[child_id] = FakeChild(child_id, as_of, event_time)
        return self.children_[child_id]

    def set_signals(self, child_id: str, signals: str) -> None:
        self.children_[child_id].signals = signals

    def forgotten(self, child_id: str) -> bool:
        return child_id in self.forgotten_ids

    def forget(self, child_id: str) -> None:
        gone = {c.case_id for c in self.cases_.values() if c.child_id == child_id}
        self.steps = [s for s in self.steps if s[1] not in gone]
        self.cases_ = {k: c for k, c in self.cases_.items() if k not in gone}
        self.children_.pop(child_id, None)
        self.opt_outs.pop(child_id, None)
        self.forgotten_ids.add(child_id)

    def opt_out(self, child_id: str) -> tuple[bool, datetime] | None:
        return self.opt_outs.get(child_id)

    def set_opt_out(self, child_id: str, active: bool, changed_at: datetime) -> None:
        self.opt_outs[child_id] = (active, changed_at)

    def _out(self, child_id: str) -> bool:
        return self.opt_outs.get(child_id, (False, None))[0]

    def children(self) -> list[ChildItems]:
        return [FakeChildNow(c.child_id, c.ward_code, items_of(c.items), items_of(c.ever_items), codes_of(c.signals))
                for c in self.children_.values() if not self._out(c.child_id)]

    def cases(self) -> list[Case]:
        out = []
        for c in self.cases_.values():
            if self._out(c.child_id):
                continue
            mine = sorted((Step(s, r, at.replace(tzinfo=UTC)) for _, case_id, s, r, at in self.steps
                           if case_id == c.case_id), key=lambda s: s.at)
            if c.listed_at is None and not mine:
                continue
            when = c.listed_at.replace(tzinfo=UTC) if c.listed_at else mine[0].at
            child = self.children_.get(c.child_id)
            out.append(Case(c.case_id, c.child_id, c.ward_code, when, c.tier, items_of(c.items), mine,
                            items_of(child.items) if child else None))
        return out


    def case_histories(self) -> list[Case]:
        opt_outs, self.opt_outs = self.opt_outs, {}
        try:
            return self.cases()
        finally:
            self.opt_outs = opt_outs

    def count_steps(self, case_ids: list[str]) -> int:
        return sum(1 for s in self.steps if s[1] in set(case_ids))

    def purge_cases(self, case_ids: list[str]) -> None:
        gone = set(case_ids)
        self.steps = [s for s in self.steps if s[1] not in gone]
        self.cases_ = {k: c for k, c in self.cases_.items() if k not in gone}

    def claim_scheduled(self, key: str, owner: str, now: datetime, stale_before: datetime) -> Claim:
        held = self.scheduled.get(key)
        if held is not None and held[2] is not None:
            return "done"
        if held is not None and held[1] > stale_before:
            return "busy"
        self.scheduled[key] = (owner, now, None)
        return "claimed"

    def finish_scheduled(self, key: str, now: datetime) -> None:
        owner, claimed, _ = self.scheduled[key]
        self.scheduled[key] = (owner, claimed, now)

    def scheduled_done_at(self, key: str) -> datetime | None:
        held = self.scheduled.get(key)
        return None if held is None else held[2]


class FakeUnitOfWork(AbstractUnitOfWork):
    def __init__(self) -> None:
        self.store: FakeStore = FakeStore()
        self.committed = 0

    def commit(self) -> None:
        self.committed += 1

    def rollback(self) -> None:
        pass


@dataclass
class FakeContainer:
    """What the worker's batches need (service_layer/ports.py's Store), around one fake unit of work."""

    unit: FakeUnitOfWork = field(default_factory=FakeUnitOfWork)
    metrics: EvaluationMetrics = field(default_factory=lambda: EvaluationMetrics(CollectorRegistry()))
    decode: Decoder = decode

    def uow(self) -> FakeUnitOfWork:
        return self.unit
