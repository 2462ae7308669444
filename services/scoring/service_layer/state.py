"""A child's stored state: current facts by id, the last published assessment and ward, the partition.

Stored as plain JSON (a Faust table value with a changelog), so recovery needs no code of ours.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contracts.topics.linkage_facts import FactV1
from services.scoring.domain.facts import ChildFacts, Fact


class ParsedFacts:
    """A process-local memo of parsed facts, keyed by the stored dict itself (its identity; the memo holds it,
    so the identity cannot be reused). A fact is parsed once per version instead of on every update of its child.
    Bounded: the oldest entries go first."""

    def __init__(self, capacity: int = 300_000) -> None:
        self.capacity = capacity
        # An OrderedDict: evicting from the front of a plain dict makes each next(iter()) scan the deleted
        # slots before it, which turns a long run of evictions quadratic.
        self._memo: OrderedDict[int, tuple[Mapping[str, Any], Fact]] = OrderedDict()

    def parse(self, raw: Mapping[str, Any]) -> Fact:
        hit = self._memo.get(id(raw))
        if hit is not None and hit[0] is raw:
            return hit[1]
        fact = Fact.from_dict(raw)
        if len(self._memo) >= self.capacity:
            self._memo.popitem(last=False)
        self._memo[id(raw)] = (raw, fact)
        return fact


PARSED = ParsedFacts()


@dataclass
class ChildState:
    partition: int | None = None
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_assessment: dict[str, Any] | None = None  # what we last published (AssessmentV1 JSON)
    last_ward: str | None = None
    evaluated_on: str | None = None  # the day last_assessment was evaluated for ...
    evaluated_with: str | None = None  # ... and with which rules and weights versions
    next_review_on: str | None = None  # with no new fact, nothing can change before this day (None: never)

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> ChildState:
        if not raw:
            return cls()
        return cls(raw.get("p"), dict(raw.get("f") or {}), raw.get("a"), raw.get("w"), raw.get("d"), raw.get("k"),
                   raw.get("n"))

    def to_json(self) -> dict[str, Any]:
        return {"p": self.partition, "f": self.facts, "a": self.last_assessment, "w": self.last_ward,
                "d": self.evaluated_on, "k": self.evaluated_with, "n": self.next_review_on}

    def apply(self, fact: FactV1) -> set[str]:
        """Records an asserted fact or forgets a retracted one; returns the fact kinds that changed."""
        previous = self.facts.get(fact.fact_id)
        kinds = {fact.kind} | ({previous["kind"]} if previous else set())
        if fact.status == "retracted":
            return kinds if self.facts.pop(fact.fact_id, None) is not None else set()
        stored = {"fact_id": fact.fact_id, "kind": fact.kind, "relation": fact.relation,
                  "source_system": fact.source_system, "record_id": fact.record_id, "record_date": fact.record_date,
                  "valid_from": fact.valid_from, "valid_to": fact.valid_to, "attributes": dict(fact.attributes)}
        if previous == stored:
            return set()
        self.facts[fact.fact_id] = stored
        return kinds

    def child_facts(self) -> ChildFacts:
        return ChildFacts.from_raw(self.facts.values(), PARSED.parse)

    @property
    def is_empty(self) -> bool:
        return not self.facts and not self.last_assessment
