"""One unit of change: what a record or decision touched, turned into the messages to publish."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from services.linkage.domain.attribution import profile_change, reconcile
from services.linkage.domain.model import Person
from services.linkage.domain.state import LinkageState

Channel = Literal["fact", "child", "review"]


@dataclass(frozen=True)
class Out:
    channel: Channel
    key: str
    payload: dict[str, Any]
    time: str


@dataclass
class Change:
    state: LinkageState
    time: str
    tokens: set[str] = field(default_factory=set)
    source_facts: set[str] = field(default_factory=set)
    persons: set[str] = field(default_factory=set)
    reviews: list[Out] = field(default_factory=list)
    bound: list[str] = field(default_factory=list)
    outcomes: set[str] = field(default_factory=set)

    def person_changed(self, person: Person, tokens: set[str] | None = None) -> None:
        self.persons.add(person.person_id)
        self.tokens |= tokens if tokens is not None else {f"person:{person.person_id}"}

    def key_bound(self, person: Person, key: str, bound_by: str) -> None:
        self.state.bind_key(person, key, bound_by)
        self.bound.append(key)
        self.person_changed(person, {f"key:{key}", f"person:{person.person_id}"})

    def key_unbound(self, person: Person, key: str) -> None:
        self.state.unbind_key(person, key)
        self.person_changed(person, {f"key:{key}", f"person:{person.person_id}"})

    def review(self, review_id: str, payload: dict[str, Any]) -> None:
        self.reviews.append(Out("review", review_id, payload, self.time))
        self.outcomes.add("review")

    def finish(self) -> list[Out]:
        out: list[Out] = list(self.reviews)
        todo = self.source_facts | self.state.dependents(self.tokens)
        for key in sorted(todo):
            sf = self.state.source_facts.get(key)
            if sf is None:
                continue
            out += [Out("fact", p["child_id"], p, self.time) for p in reconcile(sf, self.state)]
        for pid in sorted(self.persons):
            person = self.state.persons.get(pid)
            profile = profile_change(person, self.state) if person else None
            if profile is not None:
                out.append(Out("child", pid, profile, self.time))
        return out
