"""Residents and 世帯 (households) of the synthetic city: the truth every source record is drawn from."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date

from simulator.events import iso_date
from simulator.wards import WARD_BY_CODE, address, postal_code


def age_reached_on(birth: int, months: int) -> int:
    """The ordinal day on which a child born on ``birth`` is ``months`` calendar months old: the same day of the
    month, or the 1st of the next month when the month has no such day (年齢計算ニ関スル法律, 民法 143 条)."""
    b = date.fromordinal(birth)
    index = b.month - 1 + months
    year, month = b.year + index // 12, index % 12 + 1
    if b.day <= calendar.monthrange(year, month)[1]:
        return date(year, month, b.day).toordinal()
    return date(year + month // 12, month % 12 + 1, 1).toordinal()


_ATENA_MULTIPLIER = 2_654_435_761  # odd and not a multiple of 5: a bijection on [0, 10^11)


def atena_no(pid: int) -> str:
    """宛名番号: 12 digits, unrelated to the order persons were created in."""
    return f"1{(pid * _ATENA_MULTIPLIER + 7_777_777) % 100_000_000_000:011d}"


def household_no(hid: int) -> str:
    return f"2{(hid * _ATENA_MULTIPLIER + 3_333_333) % 100_000_000_000:011d}"


def person_ref(pid: int) -> str:
    return f"T{pid:08d}"


def household_ref(hid: int) -> str:
    return f"H{hid:08d}"


class Person:
    """A resident; ``surname``/``given`` are (kanji, katakana). Born as an ordinal date for compactness."""

    __slots__ = ("_atena", "birth", "father", "foreign", "given", "household", "mother", "pid", "relation", "resident",
                 "sex", "student_id", "surname")

    def __init__(self, pid: int, surname: tuple[str, str], given: tuple[str, str], sex: str, birth: int,
                 relation: str, foreign: bool = False) -> None:
        self.pid = pid
        self.surname = surname
        self.given = given
        self.sex = sex
        self.birth = birth
        self.relation = relation
        self.foreign = foreign
        self.household: Household | None = None
        self.mother: Person | None = None
        self.father: Person | None = None
        self.resident = True
        self.student_id: str | None = None
        self._atena: str | None = None

    @property
    def atena_no(self) -> str:
        if self._atena is None:
            self._atena = atena_no(self.pid)
        return self._atena

    @property
    def birth_date(self) -> date:
        return date.fromordinal(self.birth)

    @property
    def birth_iso(self) -> str:
        return iso_date(self.birth)

    @property
    def name_kanji(self) -> str:
        return f"{self.surname[0]} {self.given[0]}"

    @property
    def name_kana(self) -> str:
        return f"{self.surname[1]} {self.given[1]}"

    def age_days(self, day: int) -> int:
        return day - self.birth

    def age(self, day: int) -> int:
        """Age in whole years on the ordinal ``day`` (a birthday on 29 Feb counts from 1 Mar)."""
        d, b = date.fromordinal(day), date.fromordinal(self.birth)
        return d.year - b.year - ((d.month, d.day) < (b.month, b.day))


@dataclass(eq=False)
class Household:
    hid: int
    ward_code: str
    town: int
    lot: tuple[int, int, int]
    risk: float  # latent risk z ~ N(0, 1), shared by every signal of the household
    members: list[Person] = field(default_factory=list)
    kind: str = "other"  # two_parent, single_mother, single_father, single, couple, elderly

    _number: str = ""
    _address: str = ""

    @property
    def number(self) -> str:
        if not self._number:
            self._number = household_no(self.hid)
        return self._number

    @property
    def address(self) -> str:
        if not self._address:
            self._address = address(WARD_BY_CODE[self.ward_code], self.town, *self.lot)
        return self._address

    previous_address: str = ""  # before the last move: what a slow system may still hold

    def move_to(self, ward_code: str, town: int, lot: tuple[int, int, int]) -> None:
        self.previous_address = self.address
        self.ward_code, self.town, self.lot, self._address = ward_code, town, lot, ""

    @property
    def postal_code(self) -> str:
        return postal_code(WARD_BY_CODE[self.ward_code], self.town)

    def add(self, person: Person) -> None:
        person.household = self
        self.members.append(person)

    def remove(self, person: Person) -> None:
        self.members.remove(person)
        person.household = None

    @property
    def head(self) -> Person:
        return next((m for m in self.members if m.relation == "世帯主"), self.members[0])

    def children(self, day: int, max_age: int = 18) -> list[Person]:
        """Resident children under ``max_age`` (to within a day around the birthday: leap days averaged)."""
        limit = max_age * 365 + max_age // 4
        return [m for m in self.members if m.relation == "子" and m.resident and day - m.birth < limit]

    def guardian(self) -> Person:
        """The mother if present (the usual 受給者 of allowances), else the head."""
        for m in self.members:
            if m.relation in ("世帯主", "妻") and m.sex == "2" and m.resident:
                return m
        return self.head
