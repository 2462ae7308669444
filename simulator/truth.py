"""Truth kept aside: the ground-truth flags (items 1–19 of BRIEF.md) per child as date intervals, and the true
person and household behind every emitted record."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO

from simulator.population.model import Person, age_reached_on, atena_no, household_ref, person_ref

ADULT_AGE = 18
# 行政とのつながり (issue 18): the connection signals' truth rides in the same book, numbered as scoring numbers
# them inside (services/scoring/domain/rules/connection.py), published there by code.
UNENROLLED, KNOWN_TO_GUIDANCE, MOVED_IN, NO_CONTACT = 101, 102, 103, 104
SIGNAL_CODES = {UNENROLLED: "unenrolled", KNOWN_TO_GUIDANCE: "known_to_guidance", MOVED_IN: "moved_in",
                NO_CONTACT: "no_contact"}
UNENROLLED_AGES = (36, 72)  # months: 満3歳 to 満6歳, in no nursery or kindergarten
MOVED_IN_MONTHS = 12
NO_CONTACT_MONTHS = 12  # 行政との接点なし: no recorded contact with a public service for this long (life/contacts.py)


@dataclass
class TruthBook:
    """Flag intervals ``[from, to, known]`` in ordinal days: true from ``from``; ``to`` None = still true at the end
    of the simulation; ``known`` = the first day the city's systems hold the data that make it true (a benefit
    granted today from a month ago is true since then but knowable only today; the go-live load is knowable on
    day 0). ``now`` is the simulated day, kept by the simulation."""

    intervals: dict[tuple[int, int], list[list[int | None]]] = field(default_factory=dict)
    items_of: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    now: int = 0

    def open(self, pid: int, item: int, day: int, known: int | None = None) -> None:
        """``known`` defaults to the later of ``day`` and today; an absence (no checkup by a deadline) is only
        established once the deadline day's records are all in, so those callers pass the day after."""
        known = max(day, self.now) if known is None else max(known, day)
        spans = self.intervals.setdefault((pid, item), [])
        if spans and spans[-1][1] is None:
            return
        if spans and spans[-1][1] == day:  # closed and reopened the same day: one span
            spans[-1][1] = None
            return
        spans.append([day, None, known])
        self.items_of[pid].add(item)

    def close(self, pid: int, item: int, day: int) -> None:
        spans = self.intervals.get((pid, item))
        if not spans or spans[-1][1] is not None:
            return
        start = spans[-1][0]
        assert start is not None
        if day <= start:
            spans.pop()
        else:
            spans[-1][1] = day

    def close_all(self, pid: int, day: int) -> None:
        for item in list(self.items_of.get(pid, ())):
            self.close(pid, item, day)

    def has(self, pid: int, item: int, day: int) -> bool:
        for start, end, _known in self.intervals.get((pid, item), ()):
            assert start is not None
            if start <= day and (end is None or day < end):
                return True
        return False

    def rows(self, persons: list[Person], until: int, signals: bool = False) -> Iterator[dict[str, object]]:
        """One row per span, clipped to childhood (before the 18th birthday); ``to`` None = open at ``until``;
        ``known_from`` = when the city's data first showed it. The 19 items, or (``signals``) the connection
        signals, with their ``code``."""
        for (pid, item), spans in sorted(self.intervals.items()):
            if (item in SIGNAL_CODES) != signals:
                continue
            person = persons[pid]
            adult = adult_day(person)
            for start, end, known in spans:
                assert start is not None and known is not None
                if start >= adult:
                    continue
                stop = min(end if end is not None else until, adult)
                open_ = end is None and adult > until
                yield {"person": person_ref(pid), "atena_no": atena_no(pid), "item": item,
                       **({"code": SIGNAL_CODES[item]} if signals else {}),
                       "from": date.fromordinal(start).isoformat(),
                       "to": None if open_ else date.fromordinal(stop).isoformat(),
                       "known_from": date.fromordinal(known).isoformat()}


def adult_day(person: Person) -> int:
    """The day the person turns 18 (born on 29 February: 1 March of a common year)."""
    return age_reached_on(person.birth, 12 * ADULT_AGE)


@dataclass
class RecordTruth:
    """Writes, per emitted event, its true persons (by field) and household, and the noise applied."""

    out: IO[str] | None = None

    def write(self, event_id: str, event_type: str, persons: dict[str, int] | None, household: int | None,
              noise: list[str]) -> None:
        if self.out is None:
            return
        row = {"id": event_id, "type": event_type,
               "persons": {k: person_ref(v) for k, v in (persons or {}).items()},
               "household": household_ref(household) if household is not None else None, "noise": noise}
        self.out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


def write_jsonl(path: Path, rows: Iterator[dict[str, object]]) -> int:
    n = 0
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
            n += 1
    return n
