"""A child's stored state: current facts by id, the last published assessment and ward, the partition.

Stored as plain JSON (a Faust table value with a changelog), so recovery needs no code of ours.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from services.scoring.domain.facts import ChildFacts
from services.scoring.service_layer.messages import IncomingFact


@dataclass
class ChildState:
    partition: int | None = None
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_assessment: dict[str, Any] | None = None  # what we last published (AssessmentV1 JSON)
    last_ward: str | None = None
    evaluated_on: str | None = None  # the day last_assessment was evaluated for ...
    evaluated_with: str | None = None  # ... and with which rules and weights versions
    next_review_on: str | None = None  # with no new fact, nothing can change before this day (None: never)
    # linkage's version of each fact id seen with one, retracted ones included: a message whose version is not
    # above it is a replay (a restart re-reading from the committed offset) and must not move the state back
    versions: dict[str, int] = field(default_factory=dict)
    published: int = 0  # flags messages published for this child: part of the next one's id
    # 利用停止 (privacy.optouts.v1): {"active": bool, "at": casework's changed_at}; while active nothing is published
    opt_out: dict[str, Any] | None = None
    _view: ChildFacts | None = field(default=None, compare=False, repr=False)  # the facts parsed, once asked

    @classmethod
    def from_json(cls, raw: dict[str, Any] | None) -> ChildState:
        if not raw:
            return cls()
        return cls(raw.get("p"), raw.get("f") or {}, raw.get("a"), raw.get("w"), raw.get("d"), raw.get("k"),
                   raw.get("n"), raw.get("v") or {}, raw.get("s") or 0, raw.get("o"))

    def to_json(self) -> dict[str, Any]:
        return {"p": self.partition, "f": self.facts, "a": self.last_assessment, "w": self.last_ward,
                "d": self.evaluated_on, "k": self.evaluated_with, "n": self.next_review_on, "v": self.versions,
                "s": self.published, **({"o": self.opt_out} if self.opt_out is not None else {})}

    def is_stale(self, fact: IncomingFact) -> bool:
        """A fact version not above the one held for its id: already applied, or older than what is."""
        held = self.versions.get(fact.fact_id) if fact.version is not None else None
        return held is not None and fact.version is not None and fact.version <= held

    def apply(self, fact: IncomingFact) -> set[str]:
        """Records an asserted fact or forgets a retracted one; returns the fact kinds that changed.

        A versioned fact must not be stale (``is_stale``); its version is recorded, and a new version counts as a
        change even when the values are the same, so the version is stored with the state.
        The facts and versions dicts are replaced, never changed in place: the JSON last stored shares them."""
        fact_id = fact.fact_id
        previous = self.facts.get(fact_id)
        kinds = {fact.kind} | ({previous["kind"]} if previous else set())
        versioned = False
        if fact.version is not None and self.versions.get(fact_id) != fact.version:
            self.versions, versioned = {**self.versions, fact_id: fact.version}, True
        stored: dict[str, Any] | None = None
        if fact.status == "retracted":
            if previous is None:
                return {fact.kind} if versioned else set()
            self.facts = {other: raw for other, raw in self.facts.items() if other != fact_id}
        else:
            stored = fact.stored
            if previous == stored:
                return {fact.kind} if versioned else set()
            self.facts = {**self.facts, fact_id: stored}
        if self._view is not None:
            self._view = self._view.updated(fact_id, previous["kind"] if previous else None, stored)
        return kinds

    def forget(self, fact_ids: list[str]) -> set[str]:
        """Drops facts past every look-back window (domain/purge.py) from the stored state; returns the kinds
        that changed. Their versions stay in ``versions``, as a retraction's do, so a replay of an older message
        cannot bring a purged fact back (an unversioned fact could come back: it would still not count, and the
        next purge drops it again)."""
        kinds = set()
        for fact_id in fact_ids:
            previous = self.facts.get(fact_id)
            if previous is None:
                continue
            self.facts = {other: raw for other, raw in self.facts.items() if other != fact_id}
            kinds.add(previous["kind"])
            if self._view is not None:
                self._view = self._view.updated(fact_id, previous["kind"], None)
        return kinds

    def child_facts(self) -> ChildFacts:
        if self._view is None:
            self._view = ChildFacts.from_raw(self.facts.values())
        return self._view

    @property
    def opted_out(self) -> bool:
        """An opt-out (利用停止) is in force: the child's facts are kept, nothing is evaluated or published."""
        return bool(self.opt_out and self.opt_out.get("active"))

    @property
    def is_empty(self) -> bool:
        return not self.facts and not self.last_assessment


class WorkingStates:
    """The states this process last stored, kept parsed: while the store still holds the very object that was
    put, a child's next update or sweep starts from it (facts parsed, residence and birth record known) instead
    of from the JSON. Any other object (recovered from the changelog, a state another handler wrote) is read
    afresh. An entry is taken out while in use and put back once stored, so a failed update leaves nothing
    half-applied behind. Bounded: the least recently used go first."""

    def __init__(self, capacity: int = 50_000) -> None:  # ≈ 4.5 KB each (Fukuoka rules): ≈ 220 MB
        self.capacity = capacity
        # An OrderedDict: evicting from the front of a plain dict makes each next(iter()) scan the deleted
        # slots before it, which turns a long run of evictions quadratic.
        self._states: OrderedDict[str, tuple[dict[str, Any], ChildState]] = OrderedDict()

    def take(self, child_id: str, raw: dict[str, Any] | None) -> ChildState:
        """The child's state as ``raw`` holds it: the kept one if ``raw`` is what it was stored as."""
        kept = self._states.pop(child_id, None)
        if kept is not None and kept[0] is raw:
            return kept[1]
        return ChildState.from_json(raw)

    def keep(self, child_id: str, raw: dict[str, Any], state: ChildState) -> None:
        """``raw`` (``state.to_json()``) is now what the store holds for the child."""
        self._states[child_id] = (raw, state)
        while len(self._states) > self.capacity:
            self._states.popitem(last=False)

    def forget(self, child_id: str) -> None:
        """Drops the child's parsed copy (its store no longer holds the object it was kept for)."""
        self._states.pop(child_id, None)

    def __len__(self) -> int:
        return len(self._states)


WORKING = WorkingStates()
