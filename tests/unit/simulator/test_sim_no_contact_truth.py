"""The truth of signal 行政との接点なし (simulator/life/contacts.py): true from 12 months after the latest of birth,
arrival, the last recorded contact and the data horizon, while no service is under way; a record clears it the
day it arrives. Driven day by day through a small stand-in for the simulation's clock and truth book."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from simulator.life.contacts import Contacts
from simulator.population.model import Household, Person
from simulator.truth import NO_CONTACT, TruthBook
from tests.unit.simulator.conftest import Run

pytestmark = pytest.mark.unit

D = date.toordinal


class Clock:
    """What Contacts uses of the Simulation: the day, the calendar, the truth, the residents and the hooks."""

    def __init__(self, day0: date, history_from: date | None = None) -> None:
        self.day = self.day0 = D(day0)
        self.end = self.day0 + 3000
        self.history_from = D(history_from) if history_from else None
        self.truth = TruthBook()
        self.truth.now = self.day
        self.people: list[Person] = []
        self.calendar: dict[int, list[Callable[[], None]]] = defaultdict(list)
        self.hooks: dict[str, list[Callable[..., None]]] = defaultdict(list)

    def at(self, day: int, action: Callable[..., None], *args: Any) -> None:
        if self.day < day < self.end:
            self.calendar[day].append(lambda: action(*args))
        elif day == self.day:
            action(*args)

    def on(self, happening: str, listener: Callable[..., None]) -> None:
        self.hooks[happening].append(listener)

    def residents(self) -> Iterator[Person]:
        return (p for p in self.people if p.resident)

    def until(self, day: date) -> None:
        while self.day < D(day):
            self.day = self.truth.now = self.day + 1
            for action in self.calendar.pop(self.day, ()):
                action()


def child(clock: Clock, pid: int, born: date) -> Person:
    person = Person(pid, ("試験", "シケン"), ("太郎", "タロウ"), "1", D(born), "子")
    clock.people.append(person)
    return person


def _iso(day: int | None) -> str | None:
    return date.fromordinal(day).isoformat() if day is not None else None


def spans(clock: Clock, person: Person) -> list[tuple[str | None, str | None, str | None]]:
    return [(_iso(a), _iso(b), _iso(k)) for a, b, k in clock.truth.intervals.get((person.pid, NO_CONTACT), [])]


def test_twelve_months_after_the_last_contact_until_the_next_one() -> None:
    clock = Clock(date(2025, 4, 1))
    contacts = Contacts(clock)  # type: ignore[arg-type]
    kid = child(clock, 1, date(2022, 5, 10))
    contacts.seen(kid, D(date(2024, 11, 20)))  # the 1y6m checkup, in the go-live load
    contacts.go_live()
    assert spans(clock, kid) == []
    clock.until(date(2025, 11, 20))
    assert spans(clock, kid) == [("2025-11-20", None, "2025-11-20")]  # concluded by that day's sweep
    clock.until(date(2026, 1, 15))
    contacts.seen(kid, clock.day)  # the 3y checkup
    assert spans(clock, kid) == [("2025-11-20", "2026-01-15", "2025-11-20")]
    clock.until(date(2027, 1, 15))
    assert spans(clock, kid)[-1] == ("2027-01-15", None, "2027-01-15")


def test_a_service_under_way_is_contact_every_day_and_its_end_the_last() -> None:
    clock = Clock(date(2025, 4, 1))
    contacts = Contacts(clock)  # type: ignore[arg-type]
    kid = child(clock, 1, date(2021, 6, 1))
    contacts.began(kid, "childcare")
    contacts.go_live()
    clock.until(date(2027, 1, 1))
    assert spans(clock, kid) == []
    contacts.ended(kid, "childcare", clock.day)
    clock.until(date(2028, 1, 1))
    assert spans(clock, kid) == [("2028-01-01", None, "2028-01-01")]
    clock.until(date(2028, 2, 1))
    contacts.began(kid, "G00000001")  # a 児童相談 case opens
    assert spans(clock, kid) == [("2028-01-01", "2028-02-01", "2028-01-01")]
    clock.until(date(2030, 1, 1))
    assert spans(clock, kid) == [("2028-01-01", "2028-02-01", "2028-01-01")]


def test_old_records_at_go_live_are_true_from_their_day_known_the_morning_after() -> None:
    clock = Clock(date(2025, 4, 1))
    contacts = Contacts(clock)  # type: ignore[arg-type]
    teen = child(clock, 1, date(2009, 7, 1))
    contacts.seen(teen, D(date(2016, 4, 1)))  # the family's allowance began then; nothing since in the load
    contacts.go_live()
    assert spans(clock, teen) == [("2017-04-01", None, "2025-04-02")]


def test_counted_from_the_data_horizon_the_birth_and_the_arrival() -> None:
    clock = Clock(date(2025, 4, 1), history_from=date(2024, 6, 1))
    contacts = Contacts(clock)  # type: ignore[arg-type]
    old = child(clock, 1, date(2015, 7, 1))
    contacts.seen(old, D(date(2018, 1, 1)))
    contacts.go_live()
    assert spans(clock, old) == []  # before the horizon nothing is known: counted from 2024-06-01
    clock.until(date(2025, 6, 1))
    assert spans(clock, old) == [("2025-06-01", None, "2025-06-01")]
    clock.until(date(2025, 6, 1))
    baby = child(clock, 2, date(2025, 6, 1))
    for listener in clock.hooks["birth"]:
        listener(baby)
    family = Household(1, "40131", 0, (1, 1, 1), 0.0)
    newcomer = child(clock, 3, date(2019, 2, 3))
    family.add(newcomer)
    clock.until(date(2025, 9, 9))
    for listener in clock.hooks["arrived"]:
        listener(family)
    clock.until(date(2026, 9, 9))
    assert spans(clock, baby) == [("2026-06-01", None, "2026-06-01")]
    assert spans(clock, newcomer) == [("2026-09-09", None, "2026-09-09")]


def test_a_record_dated_earlier_clears_it_the_day_it_arrives_and_one_over_a_year_old_does_not() -> None:
    clock = Clock(date(2025, 4, 1))
    contacts = Contacts(clock)  # type: ignore[arg-type]
    kid = child(clock, 1, date(2020, 1, 1))
    contacts.seen(kid, D(date(2024, 5, 1)))
    contacts.go_live()
    clock.until(date(2025, 6, 1))
    contacts.seen(kid, D(date(2024, 2, 1)))  # older than the last: changes nothing
    assert spans(clock, kid) == [("2025-05-01", None, "2025-05-01")]
    contacts.seen(kid, D(date(2025, 4, 20)))  # a 認定 dated back: the flag held until the record came
    assert spans(clock, kid) == [("2025-05-01", "2025-06-01", "2025-05-01")]
    clock.until(date(2026, 4, 20))
    assert spans(clock, kid)[-1] == ("2026-04-20", None, "2026-04-20")


def test_a_child_who_left_is_not_judged() -> None:
    clock = Clock(date(2025, 4, 1))
    contacts = Contacts(clock)  # type: ignore[arg-type]
    kid = child(clock, 1, date(2020, 1, 1))
    contacts.seen(kid, D(date(2025, 1, 1)))
    contacts.go_live()
    clock.until(date(2025, 8, 1))
    kid.resident = False
    clock.until(date(2026, 3, 1))
    assert spans(clock, kid) == []


def test_the_city_writes_every_signal_with_its_truth(clean_run: Run, tmp_path: Path) -> None:
    """signals.jsonl carries 行政との接点なし beside the other three, each span within childhood and ordered."""
    clean_run.city.write_truth(tmp_path)
    rows = [json.loads(line) for line in (tmp_path / "signals.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["code"] for r in rows} == {"unenrolled", "known_to_guidance", "moved_in", "no_contact"}
    spans = [r for r in rows if r["code"] == "no_contact"]
    assert len(spans) > 100
    assert all(r["item"] == NO_CONTACT and (r["to"] is None or r["from"] < r["to"]) for r in spans)
    assert all(r["known_from"] >= r["from"] for r in spans)
