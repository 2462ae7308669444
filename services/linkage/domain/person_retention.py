"""Retention of persons (保有の制限, docs/privacy.md "Retention in casework and linkage"): which children linkage no
longer needs to keep. Pure.

Decided rule: a person who **left the city (転出) or turned 18** ``years`` or more ago, and is **nobody's mother**
and no **member of a household with a resident child**, can go. Implemented for the persons linkage knows as
children (``is_child``): the day they left is their residence fact's ``valid_to``, the day they turned 18 follows
from their birth date. Adults linkage never knew as children (parents, household heads) have no leave day stored
and are kept. Merged aliases go with the person they were merged into. A person leaving is then removed as on a
deletion, but **without** the deny-list: a later record about them (a return to the city) creates them afresh.
"""

from __future__ import annotations

from datetime import date

from services.linkage.domain.identity import atena_key
from services.linkage.domain.model import Person
from services.linkage.domain.retention import years_before
from services.linkage.domain.state import LinkageState


def left_on(state: LinkageState, person: Person) -> date | None:
    """The day a child left the city, from its residence fact; None when it did not, or the day is unknown."""
    if person.status != "left":
        return None
    for key in person.keys:
        if not key.startswith(atena_key("")):
            continue
        sf = state.source_facts.get(f"residence|{key}")
        if sf is not None and sf.valid_to:
            try:
                return date.fromisoformat(sf.valid_to[:10])
            except ValueError:
                return None
    return None


def adult_on(person: Person) -> date | None:
    """The day the person turned 18; None when the birth date is unknown."""
    try:
        born = date.fromisoformat((person.birth_date or "")[:10])
    except ValueError:
        return None
    return years_before(born, -18)


def _still_needed(state: LinkageState, person: Person) -> bool:
    """A mother (births name her), or a member of a household where a resident child lives."""
    if any(key in state.births for key in person.keys):
        return True
    if person.household_no:
        return any(child.person_id != person.person_id for child in state.household_children(person.household_no))
    return False


def expired_persons(state: LinkageState, years: int, today: date) -> list[str]:
    """Ids of the children who left, or turned 18, at least ``years`` before ``today`` and are needed by nobody
    (sorted)."""
    if years < 1:
        return []
    cutoff = years_before(today, years)
    found = []
    for person in state.persons.held_values():  # every child is in memory, attached or not (``held_always``)
        if person.merged_into is not None or not person.is_child:
            continue
        days = [d for d in (left_on(state, person), adult_on(person)) if d is not None]
        if days and min(days) <= cutoff and not _still_needed(state, person):
            found.append(person.person_id)
    return sorted(found)
