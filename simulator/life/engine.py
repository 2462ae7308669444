"""The simulation: the city on day 0, its go-live load, then day by day the scheduled life events.

Events come out in event-time order: the go-live load (each system's current state and history, stamped with
day 0), then each simulated day. Within a day, events are a millisecond apart from 09:00 JST, in the order
they happened. Ids are ``<run>-<day>-<n>``: the same seed, scale and start give the same ids.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from contracts.sources import SOURCE_SYSTEMS
from simulator.events import JST, SourceEvent, iso_date
from simulator.life.contacts import Contacts
from simulator.noise import Noise, NoiseRates, noise_profile
from simulator.population.build import Builder, Population
from simulator.population.model import Household, Person
from simulator.population.names import NameBank
from simulator.rates import Rates
from simulator.truth import RecordTruth, TruthBook

HISTORY_SYSTEMS = ("maternal_child_health", "childcare")  # the systems SimConfig.history_from applies to
BATCH = 5000  # go-live loops hand their events over every this many persons or households
_SYSTEM_OF = {t: name for name, s in SOURCE_SYSTEMS.items() for t in s.event_types}


@dataclass(frozen=True)
class SimConfig:
    seed: int = 1
    scale: float = 0.01
    start: date = date(2025, 4, 1)
    days: int = 365
    rates: Rates = field(default_factory=Rates)
    noise_level: float = 1.0
    noise_overrides: dict[str, NoiseRates] = field(default_factory=dict)
    # The go-live's data horizon (None: all history), the same day for the systems whose history the load
    # carries: 母子保健 sends its records dated from this day only; 子ども・子育て支援 its enrolments in force from
    # it (this city's load holds only current ones). What the load leaves out is not in the truth either (a
    # checkup window that opened before it, a pregnancy notified before it, 未就園 before it): the city cannot
    # know it, and scoring is told the same horizon for both systems (HISTORY_SYSTEMS).
    history_from: date | None = None

    @property
    def run_id(self) -> str:
        key = f"{self.seed}/{self.scale}/{self.start.isoformat()}/{self.days}/{self.noise_level}"
        if self.history_from is not None:
            key += f"/{self.history_from.isoformat()}"
        return "sim" + hashlib.blake2b(key.encode(), digest_size=4).hexdigest()


class Simulation:
    def __init__(self, config: SimConfig, names: NameBank | None = None, truth_out: RecordTruth | None = None):
        self.cfg = config
        self.rates = config.rates
        self.names = names or NameBank.load()
        self.builder = Builder(config.seed, config.scale, config.start, config.rates, self.names)
        self.pop: Population = self.builder.build()
        self.day0 = self.pop.day0
        self.end = self.day0 + config.days
        self.history_from = config.history_from.toordinal() if config.history_from else None
        self.day = self.day0
        self.rng = random.Random(f"life/{config.seed}")
        self.noise = Noise(noise_profile(config.noise_level, config.noise_overrides),
                           random.Random(f"noise/{config.seed}"))
        self.truth = TruthBook()
        self.contacts = Contacts(self)  # the truth of signal 行政との接点なし, fed by the areas as they record
        self.records = truth_out or RecordTruth()
        self._calendar: dict[int, list[Callable[[], None]]] = defaultdict(list)
        self._buffer: list[SourceEvent] = []
        self._n = 0
        self._midnight = datetime.combine(config.start, datetime.min.time(), JST)
        self._run = config.run_id
        self._nine = self._midnight
        self._daily: list[Callable[[int], None]] = []
        self.serial: dict[str, int] = defaultdict(int)
        self._hooks: dict[str, list[Callable[..., None]]] = defaultdict(list)

    # --- scheduling ---
    def at(self, day: int, action: Callable[..., None], *args: Any) -> None:
        """Runs ``action(*args)`` on ``day`` if it falls inside the simulated period (after day 0)."""
        if self.day < day < self.end:
            self._calendar[day].append(lambda: action(*args))
        elif day == self.day:
            action(*args)

    def on(self, happening: str, listener: Callable[..., None]) -> None:
        """Areas listen to each other's happenings: birth, left, moved, single_parent, partnered."""
        self._hooks[happening].append(listener)

    def fire(self, happening: str, *args: Any) -> None:
        for listener in self._hooks[happening]:
            listener(*args)

    def every_day(self, action: Callable[[int], None]) -> None:
        self._daily.append(action)

    def next_id(self, kind: str) -> int:
        self.serial[kind] += 1
        return self.serial[kind]

    def chance(self, rate: float, z: float = 0.0, beta: float = 0.0) -> bool:
        if beta:
            rate *= math.exp(beta * z - beta * beta / 2)  # risk_multiplier, inlined: called millions of times
        return self.rng.random() < rate

    def before_history(self, day: int) -> bool:
        """A 母子保健 record dated ``day`` that the go-live load leaves out (it predates the data horizon)."""
        return self.history_from is not None and self.day == self.day0 and day < self.history_from

    def day_in_period(self) -> int:
        return self.day0 + 1 + self.rng.randrange(max(1, self.end - self.day0 - 1))

    def day_after(self, at_least: int = 1) -> int:
        """A random day after today (may fall past the end, then nothing happens)."""
        return self.day + at_least + self.rng.randrange(max(1, self.end - self.day))

    # --- output ---
    def emit(self, event_type: str, key: str, data: dict[str, Any], persons: dict[str, int] | None = None,
             household: Household | None = None) -> str:
        system = _SYSTEM_OF.get(event_type) or event_type.split(".", 1)[0]
        applied = self.noise.apply(system, data)
        n = self._n
        event_id = f"{self._run}-{self.day - self.day0}-{n}"
        time = self._nine + timedelta(milliseconds=n)
        self._buffer.append(SourceEvent(system, event_type, event_id, time, key, data))
        self._n += 1
        if self.records.out is not None:
            self.records.write(event_id, event_type, persons, household.hid if household else None, applied)
        return event_id

    def _set_day(self, day: int) -> None:
        self.day = self.truth.now = day
        self._n = 0
        self._nine = self._midnight + timedelta(days=day - self.day0, hours=9)

    def run(self, go_live: Callable[[Simulation], Iterator[None]]) -> Iterator[SourceEvent]:
        """``go_live`` yields now and then, so its millions of events stream out instead of piling up."""
        self._set_day(self.day0)
        for _ in go_live(self):
            yield from self._flush()
        yield from self._flush()
        for day in range(self.day0 + 1, self.end):
            self._set_day(day)
            for action in self._calendar.pop(day, ()):
                action()
            for daily in self._daily:
                daily(day)
            yield from self._flush()

    def _flush(self) -> Iterator[SourceEvent]:
        buffer, self._buffer = self._buffer, []
        yield from buffer

    # --- helpers shared by the areas ---
    @staticmethod
    def iso(day: int) -> str:
        return iso_date(day)

    def residents(self) -> Iterator[Person]:
        return (p for p in self.pop.persons if p.resident)

    def family_households(self) -> Iterator[Household]:
        return (h for h in self.pop.households if h.kind in ("two_parent", "single_mother", "single_father")
                and h.members and h.members[0].resident)


