"""Builders for scoring tests: facts as linkage sends them, and the shipped rule books."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import date
from pathlib import Path
from typing import Any

from services.scoring.adapters.rulebook import load_rulebook
from services.scoring.config import FUKUOKA_RULES, GUIDELINE_ALL_RULES
from services.scoring.domain.evaluation import evaluate
from services.scoring.domain.facts import ChildFacts, Fact
from services.scoring.domain.model import Assessment
from services.scoring.domain.rulebook import Rulebook

GUIDELINE: Rulebook = load_rulebook(GUIDELINE_ALL_RULES)
FUKUOKA: Rulebook = load_rulebook(FUKUOKA_RULES)
_ids = itertools.count(1)

SOURCE_OF = {
    "residence": "resident_registry", "public_assistance": "public_assistance", "birth": "maternal_child_health",
    "pregnancy_notified": "maternal_child_health", "prenatal_checkup": "maternal_child_health",
    "postpartum_checkup": "maternal_child_health", "infant_checkup": "maternal_child_health",
    "allowance": "child_allowance", "disability_certificate": "disability", "attendance": "school_affairs",
    "school_health_checkup": "school_affairs", "survey": "school_surveys", "child_guidance": "child_guidance",
}


def fact_dict(kind: str, *, fact_id: str | None = None, relation: str = "self", valid_from: str | None = None,
              valid_to: str | None = None, record_date: str | None = None, child_id: str = "child-1",
              status: str = "asserted", **attributes: Any) -> dict[str, Any]:
    return {"fact_id": fact_id or f"{kind}-{next(_ids)}", "child_id": child_id, "kind": kind, "relation": relation,
            "status": status, "source_system": SOURCE_OF.get(kind, "unknown"), "record_id": f"rec-{next(_ids)}",
            "record_date": record_date or valid_from, "valid_from": valid_from, "valid_to": valid_to,
            "attributes": attributes}


def fact(kind: str, **kwargs: Any) -> Fact:
    return Fact.from_dict(fact_dict(kind, **kwargs))


def residence(birth_date: str, *, resident_since: str | None = None, ward_code: str = "40131", sex: str = "1",
              **kwargs: Any) -> Fact:
    return fact("residence", fact_id=kwargs.pop("fact_id", "residence-1"),
                valid_from=kwargs.pop("valid_from", resident_since or birth_date), birth_date=birth_date, sex=sex,
                ward_code=ward_code, resident_since=resident_since, **kwargs)


def assess(facts: list[Fact], today: str | date, rulebook: Rulebook = GUIDELINE) -> Assessment:
    day = date.fromisoformat(today) if isinstance(today, str) else today
    return evaluate(ChildFacts(facts), day, rulebook.rules, rulebook.weights)


def raised(facts: list[Fact], today: str | date, rulebook: Rulebook = GUIDELINE) -> set[int]:
    return set(assess(facts, today, rulebook).items)


def envelope(data: dict[str, Any], *, type_: str = "linkage.fact.changed", event_id: str | None = None) -> bytes:
    return json.dumps({"specversion": "1.0", "id": event_id or str(uuid.uuid4()), "source": "/tsunagu/linkage",
                       "type": type_, "time": "2026-06-01T09:00:00+09:00", "subject": data.get("child_id"),
                       "data": data}, ensure_ascii=False).encode()


class FakeStore:
    """The handlers' StateStore in memory, remembering partitions like the Faust table does."""

    def __init__(self) -> None:
        self.states: dict[str, dict[str, Any]] = {}
        self.writes = 0

    def get(self, child_id: str) -> dict[str, Any] | None:
        return self.states.get(child_id)

    def put(self, child_id: str, state: dict[str, Any], partition: int | None) -> None:
        self.states[child_id] = json.loads(json.dumps(state))  # as the changelog would round-trip it
        self.writes += 1


class ForgettingFakeStore(FakeStore):
    """FakeStore that can also forget a child (a deletion, an opt-out's tombstone), recording each forget."""

    def __init__(self) -> None:
        super().__init__()
        self.deleted: list[tuple[str, int | None]] = []

    def delete(self, child_id: str, partition: int | None) -> None:
        self.states.pop(child_id, None)
        self.deleted.append((child_id, partition))


def write_rulebook(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path
