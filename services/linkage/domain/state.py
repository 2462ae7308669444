"""Linkage's whole state in memory, with the indexes matching and attribution need.

Primary data (persons, source facts, births, reviews, processed records) is marked dirty when changed so a
store can persist exactly what changed in one transaction; the indexes are derived and rebuilt on load.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from services.linkage.domain.blocking import MultiMap, blocking_keys
from services.linkage.domain.model import Birth, PendingReview, Person, SourceFact

TABLES = ("person", "source_fact", "births", "review", "processed", "privacy")
# fields the blocking keys and frequency tables are built from (plus status: merged persons leave the blocks)
MATCHED_FIELDS = frozenset({"kana_key", "kanji_key", "surname_kana_key", "given_kana_key", "birth_date",
                            "address_key", "status", "name_kana", "name_kanji"})  # names: with or without a space
KEYED_FIELDS = MATCHED_FIELDS - {"status"}
# person fields whose values many persons share (a day, a ward, a postal code, a household): one string each
# (one-character values such as sex are shared by Python already; kept to five: interning costs CPU per new person)
SHARED_FIELDS = ("birth_date", "ward_code", "ward_since", "postal_code", "household_no")
NOTHING_BOUND: tuple[str, ...] = ()  # processed: most records bind no key (one shared empty value, not a list each)


class LinkageState:
    def __init__(self) -> None:
        self.persons: dict[str, Person] = {}
        self.source_facts: dict[str, SourceFact] = {}
        self.births: dict[str, list[Birth]] = {}  # mother key → births
        self.reviews: dict[str, PendingReview] = {}
        self.processed: dict[str, Sequence[str]] = {}  # record id → keys that record bound
        # deletions (service_layer/privacy.py): "salt", "deny:<keyed hash of a deleted key>", "request:<id>"
        self.privacy: dict[str, Any] = {}
        # derived indexes
        self.key_owner: dict[str, str] = {}
        self.households: dict[str, set[str]] = defaultdict(set)
        self.deps: dict[str, set[str]] = defaultdict(set)  # token → source fact keys
        self.birth_by_pregnancy: dict[str, Birth] = {}
        self.deferred_by_record: dict[str, set[str]] = defaultdict(set)  # decisions waiting for their record
        self.cannot_by_key: dict[str, set[str]] = defaultdict(set)  # key → persons it must never link to
        self.reviews_by_candidate: dict[str, set[str]] = defaultdict(set)  # person id → open reviews naming it
        self.blocks = MultiMap()
        self.birth_date_freq: Counter[str] = Counter()
        self.kana_freq: Counter[str] = Counter()
        self.kanji_freq: Counter[str] = Counter()
        self.surname_freq: Counter[str] = Counter()
        self.given_freq: Counter[str] = Counter()
        self.dirty: dict[str, set[str]] = {t: set() for t in TABLES}
        self._loading: dict[str, str] = {}  # while loading: one string per record id named in several rows

    # --- persons and keys -------------------------------------------------------------------------------
    def person_for_key(self, key: str) -> Person | None:
        pid = self.key_owner.get(key)
        return self.persons.get(pid) if pid else None

    def resolve(self, person_id: str) -> Person | None:
        person = self.persons.get(person_id)
        while person is not None and person.merged_into:
            person = self.persons.get(person.merged_into)
        return person

    def add_person(self, person: Person) -> None:
        for name in SHARED_FIELDS:
            value = getattr(person, name)
            if type(value) is str:
                setattr(person, name, sys.intern(value))
        self.persons[person.person_id] = person
        for key in person.keys:
            self.key_owner[key] = person.person_id
        for key in person.cannot_link:
            self.cannot_by_key[key].add(person.person_id)
        self._index(person)
        self.touch("person", person.person_id)

    def bind_key(self, person: Person, key: str, bound_by: str) -> None:
        person.keys[key] = bound_by
        self.key_owner[key] = person.person_id
        self.touch("person", person.person_id)

    def add_cannot_link(self, person: Person, key: str) -> None:
        if key not in person.cannot_link:
            person.cannot_link.append(key)
            self.cannot_by_key[key].add(person.person_id)
            self.touch("person", person.person_id)

    def unbind_key(self, person: Person, key: str) -> None:
        person.keys.pop(key, None)
        if self.key_owner.get(key) == person.person_id:
            del self.key_owner[key]
        self.touch("person", person.person_id)

    def update_person(self, person: Person, changes: dict[str, Any]) -> set[str]:
        """Applies identity/household changes; returns the dependency tokens the change invalidates."""
        changed = {k: v for k, v in changes.items() if getattr(person, k) != v}
        if not changed:
            return set()
        old_household = person.household_no
        # blocks and frequencies depend on the matched fields, and on the status only through "merged" (a merged
        # person is in no block): known → resident, or resident → left, leaves them as they are
        reblock = not KEYED_FIELDS.isdisjoint(changed) or ("status" in changed and "merged" in (person.status,
                                                                                                   changed["status"]))
        child_blocks = "is_child" in changed and not reblock and person.status != "merged"  # blocks hold children
        rehouse = "household_no" in changed or "status" in changed
        if rehouse:
            self._unindex_household(person)
        if reblock:
            self._unindex_blocks(person)
        for name, value in changed.items():
            setattr(person, name, sys.intern(value) if name in SHARED_FIELDS and type(value) is str else value)
        if rehouse:
            self._index_household(person)
        if reblock:
            self._index_blocks(person)
        elif child_blocks and person.status != "merged":
            if person.is_child:
                self.blocks.add_all(blocking_keys(person), person.person_id)
            else:
                for key in blocking_keys(person):
                    self.blocks.remove(key, person.person_id)
        self.touch("person", person.person_id)
        tokens = {f"person:{person.person_id}"}
        if rehouse or "is_child" in changed:
            tokens |= {f"hh:{h}" for h in (old_household, person.household_no) if h}
        return tokens

    def _index(self, p: Person) -> None:
        self._index_household(p)
        self._index_blocks(p)

    def _index_household(self, p: Person) -> None:
        if p.household_no and p.status == "resident":
            self.households[p.household_no].add(p.person_id)

    def _unindex_household(self, p: Person) -> None:
        members = self.households.get(p.household_no) if p.household_no else None
        if members is not None:
            members.discard(p.person_id)
            if not members:
                del self.households[p.household_no]  # type: ignore[arg-type]

    def _counters(self, p: Person) -> tuple[tuple[Counter[str], str | None], ...]:
        return ((self.kana_freq, p.kana_key), (self.kanji_freq, p.kanji_key),
                (self.surname_freq, p.surname_kana_key), (self.given_freq, p.given_kana_key),
                (self.birth_date_freq, p.birth_date))

    def _index_blocks(self, p: Person) -> None:
        """Blocks hold children only (a school record is a child's, and an adult is never a pupil: born years
        apart is a hard guard); the name and birth-date frequencies count everyone."""
        if p.status == "merged":
            return
        if p.is_child:
            self.blocks.add_all(blocking_keys(p), p.person_id)
        for counter, value in self._counters(p):
            if value:
                counter[value] += 1

    def _unindex_blocks(self, p: Person) -> None:
        if p.status == "merged":
            return
        if p.is_child:
            for key in blocking_keys(p):
                self.blocks.remove(key, p.person_id)
        for counter, value in self._counters(p):
            if value:
                counter[value] -= 1
                if counter[value] <= 0:
                    del counter[value]

    def remove_person(self, person: Person) -> None:
        """Forgets a person and every index entry naming it (a deletion on request)."""
        self._unindex_household(person)
        self._unindex_blocks(person)
        for key in person.keys:
            if self.key_owner.get(key) == person.person_id:
                del self.key_owner[key]
        for key in person.cannot_link:
            self.cannot_by_key.get(key, set()).discard(person.person_id)
        self.persons.pop(person.person_id, None)
        self.touch("person", person.person_id)

    def household_children(self, household_no: str) -> list[Person]:
        members = (self.persons[pid] for pid in sorted(self.households.get(household_no, ())))
        return [p for p in members if p.is_child and p.status == "resident"]

    # --- source facts, births, reviews ----------------------------------------------------------------------
    def put_source_fact(self, sf: SourceFact) -> None:
        sf.system = sys.intern(sf.system)  # a few systems, a string each
        self.source_facts[sf.key] = sf
        self.touch("source_fact", sf.key)

    def set_deps(self, sf: SourceFact, deps: Iterable[str]) -> None:
        new = sorted(set(deps))
        if new == sf.deps:
            return
        new = [sys.intern(token) for token in new]  # the same tokens name many facts: one string each
        for token in sf.deps:
            self.deps[token].discard(sf.key)
        for token in new:
            self.deps[token].add(sf.key)
        sf.deps = new
        self.touch("source_fact", sf.key)

    def dependents(self, tokens: Iterable[str]) -> set[str]:
        found: set[str] = set()
        for token in tokens:
            found |= self.deps.get(token, set())
        return found

    def add_birth(self, birth: Birth) -> bool:
        known = self.births.setdefault(birth.mother_key, [])
        if any(b.child_key == birth.child_key for b in known):
            return False
        known.append(birth)
        if birth.pregnancy_id:
            self.birth_by_pregnancy[birth.pregnancy_id] = birth
        self.touch("births", birth.mother_key)
        return True

    def put_review(self, review: PendingReview) -> None:
        self.reviews[review.review_id] = review
        if review.decision and not review.decided:
            self.deferred_by_record[review.record_id].add(review.review_id)
        else:
            self.deferred_by_record.get(review.record_id, set()).discard(review.review_id)
        if review.candidate_person_id and review.decision is None and review.decided is None:
            self.reviews_by_candidate[review.candidate_person_id].add(review.review_id)
        elif review.candidate_person_id in self.reviews_by_candidate:
            self.reviews_by_candidate[review.candidate_person_id].discard(review.review_id)
        self.touch("review", review.review_id)

    def mark_processed(self, record_id: str, bound_keys: list[str]) -> None:
        """``bound_keys`` may still grow while the record is handled (a decision waiting for it binds more)."""
        self.processed[record_id] = bound_keys
        self.touch("processed", record_id)

    def settle_processed(self, record_id: str) -> None:
        """The record is handled: a record that bound nothing keeps the shared empty value."""
        if not self.processed.get(record_id, True):
            self.processed[record_id] = NOTHING_BOUND

    # --- persistence support --------------------------------------------------------------------------------
    def touch(self, table: str, key: str) -> None:
        self.dirty[table].add(key)

    def take_dirty(self) -> dict[str, dict[str, Any | None]]:
        """What changed since the last call, as JSON-ready rows (None = deleted)."""
        rows: dict[str, dict[str, Any | None]] = {}
        for table, keys in self.dirty.items():
            rows[table] = {key: self._row(table, key) for key in keys}
            keys.clear()
        return rows

    def _row(self, table: str, key: str) -> Any | None:
        if table == "person":
            return self.persons[key].to_dict() if key in self.persons else None
        if table == "source_fact":
            return self.source_facts[key].to_dict() if key in self.source_facts else None
        if table == "births":
            return [b.to_dict() for b in self.births.get(key, [])]
        if table == "review":
            return self.reviews[key].to_dict() if key in self.reviews else None
        if table == "privacy":
            return self.privacy.get(key)
        return self.processed.get(key)

    def load_row(self, table: str, key: str, row: Any) -> None:
        """One stored row into the state (``end_load`` after the last)."""
        share = self._loading.setdefault
        if table == "person":
            person = Person.from_dict(row)
            person.keys = {k: share(v, v) for k, v in person.keys.items()}
            self.add_person(person)
        elif table == "source_fact":
            row["record_id"] = share(row["record_id"], row["record_id"])
            sf = SourceFact.from_dict(row)
            sf.system = sys.intern(sf.system)
            sf.deps = [sys.intern(token) for token in sf.deps]
            sf.sent = {self._person_id(cid): entry for cid, entry in sf.sent.items()}
            self.source_facts[key] = sf
            for token in sf.deps:
                self.deps[token].add(key)
        elif table == "births":
            for raw in row:
                birth = Birth(**raw)
                self.births.setdefault(key, []).append(birth)
                if birth.pregnancy_id:
                    self.birth_by_pregnancy[birth.pregnancy_id] = birth
        elif table == "review":
            self.put_review(PendingReview.from_dict(row))
        elif table == "processed":
            self.processed[share(key, key)] = row or NOTHING_BOUND
        elif table == "privacy":
            self.privacy[key] = row

    def end_load(self) -> None:
        self._loading.clear()
        self.clear_dirty()

    def _person_id(self, person_id: str) -> str:
        """The person's own id string (one string, not one per place that names the person)."""
        person = self.persons.get(person_id)
        return person.person_id if person is not None else person_id

    def clear_dirty(self) -> None:
        for keys in self.dirty.values():
            keys.clear()
