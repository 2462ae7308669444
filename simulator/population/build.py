"""Builds the city as it stands on day 0: family households first (to match the child cohorts), then the
other households until the resident count is reached. Deterministic from the seed."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate

from simulator.population.model import Household, Person
from simulator.population.names import Name, NameBank
from simulator.rates import Rates
from simulator.wards import WARDS

_WARD_CODES = [w.code for w in WARDS]
_WARD_CUM = list(accumulate(w.share for w in WARDS))
_CHILDREN_CUM = list(accumulate((0.45, 0.40, 0.13, 0.02)))
DAYS_PER_YEAR = 365.2425
VARIANT_SURNAME_SHARE = 0.05  # of surnames that have a variant-form kanji
TRUE_VARIANTS = {"高": "髙", "崎": "﨑", "辺": "邊", "吉": "𠮷", "沢": "澤"}


def risk_multiplier(z: float, beta: float) -> float:
    """exp(βz − β²/2): mean 1 over z ~ N(0, 1), so the city-wide rate stays the base rate."""
    return math.exp(beta * z - beta * beta / 2)


def youngest_child_weights(max_age: int = 17) -> list[float]:
    """How old a family's youngest child is. Tuned so the child cohorts come out ≈ 12 k at age 0 rising to
    ≈ 15 k at 15 (births fell; families move in), with siblings added on top of the youngest."""
    return list(_YOUNGEST_WEIGHTS[: max_age + 1])


# fitted by iterating the family sizes and sibling gaps below against cohorts ∝ 1 + 0.02 × age
_YOUNGEST_WEIGHTS = (1.0, 1.013, 0.849, 0.686, 0.63, 0.574, 0.621, 0.666, 0.697, 0.712, 0.72, 0.726, 0.736, 0.763,
                     0.758, 0.773, 0.786, 0.792)


@dataclass
class Population:
    day0: int
    persons: list[Person] = field(default_factory=list)
    households: list[Household] = field(default_factory=list)

    def new_person(self, surname: Name, given: Name, sex: str, birth: int, relation: str, foreign: bool) -> Person:
        person = Person(len(self.persons), surname, given, sex, birth, relation, foreign)
        self.persons.append(person)
        return person

    def new_household(self, rng: random.Random, kind: str, risk: float, ward_code: str | None = None) -> Household:
        ward = ward_code or rng.choices(_WARD_CODES, cum_weights=_WARD_CUM)[0]
        h = Household(len(self.households), ward, rng.randrange(8),
                      (1 + rng.randrange(5), 1 + rng.randrange(30), 1 + rng.randrange(20)), risk, kind=kind)
        self.households.append(h)
        return h


class Builder:
    def __init__(self, seed: int, scale: float, day0: date, rates: Rates, names: NameBank) -> None:
        self.rng = random.Random(f"population/{seed}")
        self.scale = scale
        self.rates = rates
        self.names = names
        self.pop = Population(day0.toordinal())

    def family_name(self, foreign: bool) -> Name:
        """Some families' registered surname is a variant form (髙橋, 山﨑, 渡邊, 𠮷田): the registry holds it."""
        if foreign:
            return self.names.foreign_surname(self.rng)
        kanji, kana = self.names.surname(self.rng)
        if self.rng.random() < VARIANT_SURNAME_SHARE:
            for common, variant in TRUE_VARIANTS.items():
                if common in kanji:
                    return kanji.replace(common, variant, 1), kana
        return kanji, kana

    def birth_for_age(self, age_years: float) -> int:
        return self.pop.day0 - int((age_years + self.rng.random()) * DAYS_PER_YEAR)

    def person(self, surname: Name, sex: str, age: float, relation: str, foreign: bool) -> Person:
        given = self.names.foreign_given(self.rng, sex) if foreign else self.names.given_name(self.rng, sex)
        return self.pop.new_person(surname, given, sex, self.birth_for_age(age), relation, foreign)

    def family(self, ages: list[tuple[int, bool]]) -> list[Person]:
        """One household with children of the given (age, twin of the previous) eldest first; returns them."""
        rng, r = self.rng, self.rates
        z = rng.gauss(0.0, 1.0)
        u = rng.random() / risk_multiplier(z, 0.8)
        kind = ("single_mother" if u < r.single_mother_share else
                "single_father" if u < r.single_mother_share + r.single_father_share else "two_parent")
        foreign = rng.random() < r.foreign_share
        surname = self.family_name(foreign)
        household = self.pop.new_household(rng, kind, z)
        mother_age = ages[0][0] + min(44.0, max(17.0, rng.gauss(30.5 - 1.5 * max(z, 0), 4.5)))
        father_age = max(19.0, mother_age + rng.gauss(2.0, 3.0))
        mother = father = None
        if kind != "single_father":
            mother = self.person(surname, "2", mother_age, "妻" if kind == "two_parent" else "世帯主", foreign)
        if kind != "single_mother":
            father = self.person(surname, "1", father_age, "世帯主", foreign)
        for parent in (father, mother):
            if parent is not None:
                household.add(parent)
        if rng.random() < r.three_generation_share:
            sex = rng.choice("12")
            household.add(self.person(surname, sex, mother_age + rng.uniform(24, 34), "母" if sex == "2" else "父",
                                      foreign))
        children: list[Person] = []
        for age, twin in ages:
            sex = rng.choice("12")
            if twin and children:
                given = self.names.foreign_given(rng, sex) if foreign else self.names.given_name(rng, sex)
                child = self.pop.new_person(surname, given, sex, children[-1].birth, "子", foreign)
            else:
                child = self.person(surname, sex, age, "子", foreign)
            child.mother, child.father = mother, father
            household.add(child)
            children.append(child)
        return children

    def families(self) -> None:
        rng = self.rng
        target = self.rates.children_0_15 * self.scale
        cum = list(accumulate(youngest_child_weights()))
        ages_range = range(len(cum))
        made = 0
        while made < target:
            youngest = rng.choices(ages_range, cum_weights=cum)[0]
            k = rng.choices((1, 2, 3, 4), cum_weights=_CHILDREN_CUM)[0]
            ages = [(youngest, False)]
            for _ in range(k - 1):
                if rng.random() < self.rates.twin_rate:
                    ages.append((ages[-1][0], True))
                else:
                    ages.append((ages[-1][0] + rng.choice((2, 2, 3, 3, 4, 5)), False))
            children = self.family([a for a in reversed(ages) if a[0] <= 22])
            made += sum(1 for c in children if c.age(self.pop.day0) <= 15)

    def others(self) -> None:
        """Households without children up to the resident count: singles, couples, the elderly."""
        rng, pop = self.rng, self.pop
        target = self.rates.residents * self.scale
        while len(pop.persons) < target:
            foreign = rng.random() < self.rates.foreign_share
            surname = self.family_name(foreign)
            u = rng.random()  # adults: 32 % 18–35, 40 % 35–65, 28 % 65–95
            age = (18 + 17 * u / 0.32 if u < 0.32 else 35 + 30 * (u - 0.32) / 0.40 if u < 0.72
                   else 65 + 30 * (u - 0.72) / 0.28)
            couple = rng.random() < (0.35 if age < 30 else 0.55)
            household = pop.new_household(rng, "couple" if couple else "single", rng.gauss(0.0, 1.0))
            first_sex = rng.choice("12") if not couple else "1"
            household.add(self.person(surname, first_sex, age, "世帯主", foreign))
            if couple:
                household.add(self.person(surname, "2", max(18.0, age + rng.gauss(-2.0, 3.0)), "妻", foreign))

    def build(self) -> Population:
        self.families()
        self.others()
        return self.pop
