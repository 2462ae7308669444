"""A child's stored state: current facts by id, the last published assessment and ward, the partition.

Stored as plain JSON (a Faust table value with a changelog), so recovery needs no code of ours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.topics.linkage_facts import FactV1
from services.scoring.domain.facts import ChildFacts, Fact


@dataclass
class ChildState:
    partition: int | None = None
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_assessment: dict[str, Any] | None = None  # what we last published (AssessmentV1 JSON)
    last_ward: str | None = None

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> ChildState:
        if not raw:
            return cls()
        return cls(raw.get("p"), dict(raw.get("f") or {}), raw.get("a"), raw.get("w"))

    def to_json(self) -> dict[str, Any]:
        return {"p": self.partition, "f": self.facts, "a": self.last_assessment, "w": self.last_ward}

    def apply(self, fact: FactV1) -> bool:
        """Records an asserted fact or forgets a retracted one; returns whether anything changed."""
        if fact.status == "retracted":
            return self.facts.pop(fact.fact_id, None) is not None
        stored = fact.model_dump(mode="json", exclude={"child_id", "status"})
        if self.facts.get(fact.fact_id) == stored:
            return False
        self.facts[fact.fact_id] = stored
        return True

    def child_facts(self) -> ChildFacts:
        return ChildFacts(Fact.from_dict(raw) for raw in self.facts.values())

    @property
    def is_empty(self) -> bool:
        return not self.facts and not self.last_assessment
