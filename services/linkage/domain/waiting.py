"""Identities made from a school record alone (a student key and nothing else), indexed by the blocks they would
share with a registry child: what that child, arriving later, looks up to match them again
(``service_layer/late_match.py``). A look-up in this small index costs a few dictionary reads; looking through
the whole block index for every registry child cost ≈ 12 % of linkage's CPU.

The index is built from the persons held the first time it is needed (so a state loaded from the store has it
too) and kept up to date as such identities are made and merged away. An entry left behind by a rarer path (a
deletion, a must-link onto such an identity) names a person that is no longer one: readers check
``student_only`` and skip it.
"""

from __future__ import annotations

from services.linkage.domain.blocking import MultiMap, blocking_keys, slip_keys
from services.linkage.domain.model import Person
from services.linkage.domain.state import LinkageState

STUDENT = "student:"


def student_only(person: Person) -> str | None:
    """The student key of an identity that holds nothing else, else None."""
    if person.status == "merged" or len(person.keys) != 1:
        return None
    key = next(iter(person.keys))
    return key if key.startswith(STUDENT) else None


def _keys(person: Person) -> set[str]:
    return set(blocking_keys(person)) | set(slip_keys(person))


def student_blocks(state: LinkageState) -> MultiMap:
    index = state.student_blocks
    if index is None:
        index = state.student_blocks = MultiMap()
        # such an identity is a child (``new_person``), so in memory even when the adults are in the store
        for person in state.persons.held_values():
            if student_only(person) is not None:
                index.add_all(_keys(person), person.person_id)
    return index


def index_student(state: LinkageState, person: Person) -> None:
    """``person`` was just made from a school record alone."""
    if state.student_blocks is not None and student_only(person) is not None:
        state.student_blocks.add_all(_keys(person), person.person_id)


def unindex_student(state: LinkageState, person: Person) -> None:
    """``person`` is about to stop being one (merged into another)."""
    if state.student_blocks is not None and student_only(person) is not None:
        for key in _keys(person):
            state.student_blocks.remove(key, person.person_id)


def students_near(state: LinkageState, keys: list[str]) -> set[str]:
    index = student_blocks(state)
    found: set[str] = set()
    for key in keys:
        found.update(index.get(key))
    return found
