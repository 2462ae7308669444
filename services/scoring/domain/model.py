"""What scoring concludes about a child: flags with evidence, a score and a tier."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from services.scoring.domain.facts import Fact, Scalar


@dataclass(frozen=True, slots=True)
class Evidence:
    fact_id: str
    fact_kind: str
    source_system: str
    relation: str
    record_date: str | None
    summary_ja: str
    values: Mapping[str, Scalar] = field(default_factory=dict)

    @classmethod
    def of(cls, fact: Fact, summary_ja: str, **values: Scalar) -> Evidence:
        return cls(fact.fact_id, fact.kind, fact.source_system, fact.relation, fact.record_date, summary_ja,
                   values)

    def to_dict(self) -> dict[str, Any]:
        return {"fact_id": self.fact_id, "fact_kind": self.fact_kind, "source_system": self.source_system,
                "relation": self.relation, "record_date": self.record_date, "summary_ja": self.summary_ja,
                "values": dict(self.values)}


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule's answer when its condition holds: since when (``None`` when no fact carries a date), why, and on
    which facts."""

    raised_on: date | None
    detail_ja: str
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True, slots=True)
class Flag:
    item: int
    label_ja: str
    rule_version: str
    raised_on: date | None
    detail_ja: str
    evidence: tuple[Evidence, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "label_ja": self.label_ja, "rule_version": self.rule_version,
                "raised_on": self.raised_on.isoformat() if self.raised_on else None, "detail_ja": self.detail_ja,
                "evidence": [e.to_dict() for e in self.evidence]}


@dataclass(frozen=True, slots=True)
class Assessment:
    flags: tuple[Flag, ...] = ()
    score: float = 0.0
    tier: str | None = None
    supported_by_child_guidance: bool = False
    signals: tuple[Flag, ...] = ()  # 行政とのつながり (rules/connection.py), numbered from 101

    @property
    def items(self) -> frozenset[int]:
        return frozenset(f.item for f in self.flags)

    def to_dict(self) -> dict[str, Any]:
        """Scoring's own JSON of the assessment: AssessmentV1's, except that the signals ride at the end of
        ``flags`` (so a child's state treats them like flags); ``domain/signals.py`` gives the contract's shape."""
        return {"flags": [f.to_dict() for f in (*self.flags, *self.signals)], "score": self.score, "tier": self.tier,
                "supported_by_child_guidance": self.supported_by_child_guidance}


EMPTY_ASSESSMENT: dict[str, Any] = Assessment().to_dict()
