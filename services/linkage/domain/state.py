"""Linkage's state, with the indexes matching and attribution need.

Primary data (persons, source facts, births, reviews, processed records) is marked dirty when changed so a
store can persist exactly what changed in one transaction; the indexes are derived.

What matching reads on every record stays in memory: the children (and merged aliases), 世帯, births, reviews and
the key, blocking and frequency indexes. What only a change reaching it reads — the source facts (with what was
sent per child), the dependency index (token → source facts), the processed record ids and the adults (read when a
record, key or decision names them: ``PersonTable``) — lives in the store once the state is attached to one
(``attach``, done by the store's ``load``): read on demand, kept in memory while a batch changes it and until the
batch's transaction is committed, then only a bounded number of recent ones (``FACT_CACHE``, ``PERSON_CACHE``).
Without a store everything is kept in memory (tests, benchmarks, the ground-truth comparison). Issue 19: the source
facts and their index were ≈ 60 % of linkage's memory and grow with every record; then the adults' persons were.
"""

from __future__ import annotations

import heapq
import sys
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, Generic, Protocol, TypeVar

from services.linkage.domain.blocking import KEY_BITS, MultiMap, blocking_keys, slip_keys
from services.linkage.domain.identity import person_id_for
from services.linkage.domain.model import IDENTITY_FIELDS, Birth, PendingReview, Person, SourceFact

TABLES = ("person", "source_fact", "births", "review", "processed", "privacy")
ON_DEMAND = ("source_fact", "processed")  # read from the store when asked for, once attached to one
# fields the blocking keys and frequency tables are built from (plus status: merged persons leave the blocks)
MATCHED_FIELDS = frozenset({"kana_key", "kanji_key", "surname_kana_key", "given_kana_key", "birth_date",
                            "address_key", "status", "name_kana", "name_kanji"})  # names: with or without a space
KEYED_FIELDS = MATCHED_FIELDS - {"status"}
# person fields whose values many persons share (a day, a ward, a postal code, a household, a surname or given name,
# a 世帯's address): one string each (one-character values such as sex are shared by Python already). The last four
# since the seventh pass: ≈ 66 bytes less per person (1 358 → 1 292 at 80 k persons), for ≈ 0.3 µs per new person
SHARED_FIELDS = ("birth_date", "ward_code", "ward_since", "postal_code", "household_no", "surname_kana_key",
                 "given_kana_key", "address", "address_key")
NOTHING_BOUND: tuple[str, ...] = ()  # processed: most records bind no key (one shared empty value, not a list each)
FACT_CACHE = 20_000  # source facts kept in memory between batches once attached to a store (the most recent)
# adults kept in memory between batches once attached (the most recently used; children are always held): issue 19,
# ninth pass, docs/linkage.md "Memory, ninth pass"
PERSON_CACHE = 10_000

V = TypeVar("V")


class Backing(Protocol):
    """What the state reads on demand from its store (``adapters/store.py``): committed rows only — what a batch
    changed stays in memory until its transaction is committed."""

    def row(self, table: str, key: str) -> Any | None:
        """The stored row (decoded), or None."""
        ...

    def rows(self, table: str) -> Iterator[tuple[str, Any]]:
        """Every stored row of ``table`` (decoded), by key."""
        ...

    def keys(self, table: str) -> Iterable[str]:
        """Every stored key of ``table``."""
        ...

    def rows_after(self, table: str, after: str, limit: int) -> list[tuple[str, Any]]:
        """At most ``limit`` stored rows of ``table`` (decoded) whose keys follow ``after``, in key order."""
        ...

    def count(self, table: str) -> int: ...

    def holders(self, tokens: Collection[str]) -> Iterable[tuple[str, str]]:
        """(token, source fact key) of the dependency index, for these tokens."""
        ...

    def all_holders(self) -> Iterable[tuple[str, str]]:
        """The whole dependency index as (token, source fact key)."""
        ...

    def tokens(self) -> Iterable[str]:
        """The dependency index's tokens."""
        ...

    def token_count(self) -> int: ...


class KeyFilter:
    """Which keys may be stored (a Bloom filter over Python's string hash, 16 bits and three probes per key:
    ≈ 0.5 % false positives per segment): a key it has never seen is not looked up in the store. Most lookups are
    for keys not there (a new record id, an adult's residence fact, a token nothing reads). Never forgets a key (a
    removed key is just looked up). Grows without reading a key again: when the newest segment holds as many keys as
    it was sized for, a segment four times its size takes the next (a key may be in any; at most ≈ 0.5 % false
    positives each). Until 4 Dec 2026 a full filter was rebuilt from every key of its table in the store, on the
    batches' thread: at scale 1.0 ≈ 12 million keys read again in all, each rebuild holding the records up for
    seconds."""

    BITS_PER_KEY = 16
    GROWTH = 4  # each segment this many times the bits of the one before

    def __init__(self, keys: Iterable[str] = (), expected: int = 0) -> None:
        bits = 1 << 22  # 512 KiB: 262 144 keys before the second segment
        while bits < 2 * self.BITS_PER_KEY * expected:
            bits <<= 1
        self._segments: list[tuple[int, bytearray]] = []  # (mask, bits) of each segment, the newest last
        self._mask = 0
        self._bits = bytearray()
        self._room = 0  # keys the newest segment takes before the next is added
        self.count = 0
        self._grow(bits)
        for key in keys:
            self.add(key)

    def _grow(self, bits: int) -> None:
        self._mask, self._bits = bits - 1, bytearray(bits >> 3)
        self._segments.append((self._mask, self._bits))
        self._room = bits // self.BITS_PER_KEY

    def add(self, key: str) -> None:
        if self._room <= 0:
            self._grow((self._mask + 1) * self.GROWTH)
        h = hash(key)
        a, b, mask, bits = h & self._mask, (h >> 32) | 1, self._mask, self._bits
        bits[a >> 3] |= 1 << (a & 7)
        a = (a + b) & mask
        bits[a >> 3] |= 1 << (a & 7)
        a = (a + b) & mask
        bits[a >> 3] |= 1 << (a & 7)
        self._room -= 1
        self.count += 1

    def __contains__(self, key: str) -> bool:
        h = hash(key)
        b = (h >> 32) | 1
        for mask, bits in self._segments:
            a = h & mask
            if not bits[a >> 3] & (1 << (a & 7)):
                continue
            a = (a + b) & mask
            if not bits[a >> 3] & (1 << (a & 7)):
                continue
            a = (a + b) & mask
            if bits[a >> 3] & (1 << (a & 7)):
                return True
        return False

    @property
    def segments(self) -> int:
        return len(self._segments)

    @property
    def capacity(self) -> int:
        """The keys its segments were sized for (more fill a segment past ≈ 0.5 % false positives)."""
        return sum((mask + 1) // self.BITS_PER_KEY for mask, _ in self._segments)


class StoredTable(Generic[V]):
    """A table of the state by key: all of it in memory until ``attach``; then the store's rows, read when asked
    for, with what this batch read or changed kept in memory (so an object read twice in a batch is the same
    object) and, between batches, the ``cache_size`` most recently used.

    A value changed must be marked dirty (``LinkageState.touch``) while it is in memory: put back (``[key] =``)
    what came from iterating, which is not kept."""

    def __init__(self, table: str, build: Callable[[str, Any], V], cache_size: int) -> None:
        self.table, self._build, self.cache_size = table, build, cache_size
        self._mem: dict[str, V] = {}
        self._gone: set[str] = set()  # removed in this batch, still stored until the commit
        self.backing: Backing | None = None
        self._stored = KeyFilter()  # keys that may be in the store (attached)
        self.reads = 0  # rows read from the store (the cache's misses)

    def attach(self, backing: Backing) -> None:
        self.backing = backing
        self._stored = KeyFilter(backing.keys(self.table), backing.count(self.table))

    def get(self, key: str, default: Any = None) -> Any:
        mem = self._mem
        value = mem.get(key)
        if value is not None:
            if self.backing is not None:  # most recently used last
                del mem[key]
                mem[key] = value
            return value
        if self.backing is None or key not in self._stored or key in self._gone:
            return default
        row = self.backing.row(self.table, key)
        if row is None:
            return default
        self.reads += 1
        value = mem[key] = self._build(key, row)
        return value

    def __getitem__(self, key: str) -> V:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __setitem__(self, key: str, value: V) -> None:
        if self.backing is not None:
            if key not in self._mem:  # held: read from the store (so known to the filter) or set before
                self._stored.add(key)
            if self._gone:
                self._gone.discard(key)
        self._mem[key] = value

    def __delitem__(self, key: str) -> None:
        if self.pop(key, None) is None:
            raise KeyError(key)

    def pop(self, key: str, default: Any = None) -> Any:
        value = self.get(key)
        if value is None:
            return default
        del self._mem[key]
        if self.backing is not None:
            self._gone.add(key)
        return value

    def items(self) -> Iterator[tuple[str, V]]:
        """Every entry (from the store: one row at a time, not kept; entries added in this batch last)."""
        if self.backing is None:
            yield from list(self._mem.items())
            return
        seen: set[str] = set()
        for key, row in self.backing.rows(self.table):
            if key in self._gone:
                continue
            value = self._mem.get(key)
            if value is not None:
                seen.add(key)
                yield key, value
            else:
                yield key, self._build(key, row)
        for key in [k for k in self._mem if k not in seen]:
            value = self._mem.get(key)
            if value is not None and self.backing.row(self.table, key) is None:  # new in this batch
                yield key, value

    def slice(self, after: str, limit: int) -> tuple[list[tuple[str, V]], str | None]:
        """At most ``limit`` entries whose keys follow ``after``, in key order, and the key to go on after (None:
        none follow). Bounded work for a scan in steps (the retention purge) between batches: attached, it reads
        the committed rows only (what a batch has in hand is not among them)."""
        if self.backing is None:
            keys = heapq.nsmallest(limit, (key for key in self._mem if key > after))
            return [(key, self._mem[key]) for key in keys], keys[-1] if len(keys) == limit else None
        rows = self.backing.rows_after(self.table, after, limit)
        found: list[tuple[str, V]] = []
        for key, row in rows:
            if key in self._gone:
                continue
            value = self._mem.get(key)
            found.append((key, value if value is not None else self._build(key, row)))
        return found, rows[-1][0] if len(rows) == limit else None

    def values(self) -> Iterator[V]:
        return (value for _, value in self.items())

    def keys(self) -> Iterator[str]:
        return (key for key, _ in self.items())

    def __iter__(self) -> Iterator[str]:
        return self.keys()

    def __len__(self) -> int:
        if self.backing is None:
            return len(self._mem)
        stored = self.backing.count(self.table)
        new = sum(1 for key in self._mem if self.backing.row(self.table, key) is None)
        gone = sum(1 for key in self._gone if self.backing.row(self.table, key) is not None)
        return stored + new - gone

    def in_memory(self) -> dict[str, V]:
        """What is held in memory now (the benchmark's sizes)."""
        return self._mem

    def committed(self) -> None:
        """The batch's changes are stored: forget what was removed, keep only the most recently used."""
        self._gone.clear()
        if self.backing is None:
            return
        if len(self._mem) > self.cache_size:
            for key in list(islice(self._mem, len(self._mem) - self.cache_size)):
                del self._mem[key]


def held_always(person: Person) -> bool:
    """Kept in memory even when the state is attached to a store: a child (matching compares records with them on
    every record: the blocks, a 世帯's children) or a merged alias (a deletion finds a person's aliases among
    these). The rest — the adults, ≈ 84 % of persons — are read when a record, a key or a decision names them."""
    return person.is_child or person.merged_into is not None


class PersonTable:
    """The persons by id. All in memory until ``attach``; then the children and merged aliases (``held_always``)
    still are, and the other persons are the store's rows, read when asked for: what this batch read or changed
    stays in memory until the batch is committed, then the ``cache_size`` most recently used.

    Every person ``held_always`` is in memory at any time (``held``), so what only concerns children (a 世帯's
    children, retention of children, a deletion's aliases) need not read the store. A person changed must be
    marked dirty (``LinkageState.touch``); at the batch's end (``settle``) the changed ones are placed again
    (a person who became a child is held from then on). Iterating (``items``) reads the store, one row at a time,
    not kept: put back (``[key] =``) what is changed."""

    def __init__(self, build: Callable[[str, Any], Person], cache_size: int) -> None:
        self._held: dict[str, Person] = {}  # everyone until attached; then children and merged aliases
        self._cache: dict[str, Person] = {}  # attached: the other persons in memory, least recently used first
        self._gone: set[str] = set()  # removed in this batch, still stored until the commit
        self._build, self.cache_size = build, cache_size
        self.backing: Backing | None = None
        self._stored = KeyFilter()  # ids that may be in the store (attached)
        self._count = 0  # attached: how many persons there are (stored, plus new, less removed)
        self.reads = 0  # rows read from the store (the cache's misses)

    def attach(self, backing: Backing) -> None:
        assert not self._held, "attach a fresh state"
        self.backing = backing
        self._count = backing.count("person")
        self._stored = KeyFilter(backing.keys("person"), self._count)

    def loaded(self, person: Person) -> None:
        """A stored person as the store is loaded (counted already): held if it must be, else left to the store."""
        if self.backing is None or held_always(person):
            self._held[person.person_id] = person

    def get(self, key: str, default: Any = None) -> Any:
        person = self._held.get(key)
        if person is not None:
            return person
        if self.backing is None:
            return default
        cache = self._cache
        person = cache.get(key)
        if person is not None:  # most recently used last
            del cache[key]
            cache[key] = person
            return person
        if key not in self._stored or key in self._gone:
            return default
        row = self.backing.row("person", key)
        if row is None:
            return default
        self.reads += 1
        person = cache[key] = self._build(key, row)
        return person

    def held(self, key: str) -> Person | None:
        """The person if in memory now (never read from the store): every ``held_always`` person is."""
        person = self._held.get(key)
        return person if person is not None else self._cache.get(key)

    def held_values(self) -> list[Person]:
        """Every person in memory now: all of them when not attached, else at least every ``held_always`` one."""
        return [*self._held.values(), *self._cache.values()]

    def __getitem__(self, key: str) -> Person:
        person = self.get(key)
        if person is None:
            raise KeyError(key)
        return person

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    def __setitem__(self, key: str, person: Person) -> None:
        if self.backing is None:
            self._held[key] = person
            return
        if key not in self._held and key not in self._cache:
            if key in self._gone:
                self._gone.discard(key)
                self._count += 1
            elif key not in self._stored or self.backing.row("person", key) is None:
                self._count += 1
            self._stored.add(key)
        self._place(key, person)

    def _place(self, key: str, person: Person) -> None:
        if held_always(person):
            self._held[key] = person
            self._cache.pop(key, None)
        else:
            self._cache[key] = person
            self._held.pop(key, None)

    def __delitem__(self, key: str) -> None:
        if self.pop(key, None) is None:
            raise KeyError(key)

    def pop(self, key: str, default: Any = None) -> Any:
        person = self.get(key)
        if person is None:
            return default
        self._held.pop(key, None)
        if self.backing is not None:
            self._cache.pop(key, None)
            self._gone.add(key)
            self._count -= 1
        return person

    def __len__(self) -> int:
        return len(self._held) if self.backing is None else self._count

    def items(self) -> Iterator[tuple[str, Person]]:
        """Every person (attached: from the store, one row at a time, not kept; persons new in this batch last)."""
        if self.backing is None:
            yield from list(self._held.items())
            return
        seen: set[str] = set()
        for key, row in self.backing.rows("person"):
            if key in self._gone:
                continue
            person = self.held(key)
            if person is not None:
                seen.add(key)
                yield key, person
            else:
                yield key, self._build(key, row)
        for key, person in [(k, p) for k, p in (*self._held.items(), *self._cache.items()) if k not in seen]:
            if self.backing.row("person", key) is None:  # new in this batch
                yield key, person

    def values(self) -> Iterator[Person]:
        return (person for _, person in self.items())

    def keys(self) -> Iterator[str]:
        return (key for key, _ in self.items())

    def __iter__(self) -> Iterator[str]:
        return self.keys()

    def in_memory(self) -> list[dict[str, Person]]:
        """What is held in memory now (the benchmark's sizes)."""
        return [self._held, self._cache]

    def settle(self, changed: Iterable[str]) -> None:
        """The batch's changed persons placed again (held, or cached, by what they are now)."""
        if self.backing is None:
            return
        for key in changed:
            person = self.held(key)
            if person is not None:
                self._place(key, person)

    def committed(self) -> None:
        """The batch's changes are stored: forget what was removed, keep only the most recently used adults."""
        self._gone.clear()
        if self.backing is None:
            return
        cache = self._cache
        if len(cache) > self.cache_size:
            for key in list(islice(cache, len(cache) - self.cache_size)):
                del cache[key]


def _uuid_int(pid: str) -> int | None:
    """A person id in its canonical form (``identity.uuid5``: 36 characters, lower-case) as its 128-bit number, else
    None."""
    if len(pid) != 36 or pid[8] != "-" or pid[13] != "-" or pid[18] != "-" or pid[23] != "-":
        return None
    try:
        n = int(pid.replace("-", ""), 16)
    except ValueError:
        return None
    return n if _uuid_str(n) == pid else None


def _uuid_str(n: int) -> str:
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Households:
    """世帯 number → its resident members' ids, the 世帯 number as its hash (``blocking.KEY_BITS``: readers check a
    member's own number). A member not held in memory (an adult: ``held_always``) is kept as its id's 128-bit
    number, 48 bytes instead of a string of 88 that nothing else holds (≈ 1.3 M adults at scale 1.0: issue 19,
    twelfth pass); a child's id is the string the child holds. ``get`` gives strings either way."""

    def __init__(self) -> None:
        self._d: dict[int, str | int | list[str | int]] = {}

    def add(self, household_no: str, pid: str, held: bool) -> None:
        h = hash(household_no) & KEY_BITS
        member: str | int = pid
        if not held:
            n = _uuid_int(pid)
            if n is not None:
                member = n
        cur = self._d.get(h)
        if cur is None:
            self._d[h] = member
        elif type(cur) is list:
            if member not in cur:
                cur.append(member)
        elif cur != member:
            self._d[h] = [cur, member]  # type: ignore[list-item]

    def remove(self, household_no: str, pid: str) -> None:
        h = hash(household_no) & KEY_BITS
        cur = self._d.get(h)
        if cur is None:
            return
        forms: tuple[str | int, ...] = (pid,)
        n = _uuid_int(pid)
        if n is not None:
            forms = (pid, n)
        if type(cur) is list:
            for form in forms:
                if form in cur:
                    cur.remove(form)
            if len(cur) == 1:
                self._d[h] = cur[0]
            elif not cur:
                del self._d[h]
        elif cur in forms:
            del self._d[h]

    def get(self, household_no: str) -> tuple[str, ...]:
        cur = self._d.get(hash(household_no) & KEY_BITS)
        if cur is None:
            return ()
        if type(cur) is list:
            return tuple(m if type(m) is str else _uuid_str(m) for m in cur)  # type: ignore[arg-type]
        return (cur if type(cur) is str else _uuid_str(cur),)  # type: ignore[arg-type]

    def snapshot(self) -> dict[int, set[str]]:
        """Every 世帯's members, by the number's hash (tests: two indexes of one process compared)."""
        out: dict[int, set[str]] = {}
        for h, cur in self._d.items():
            members = cur if type(cur) is list else [cur]
            out[h] = {m if type(m) is str else _uuid_str(m) for m in members}  # type: ignore[arg-type]
        return out

    def __len__(self) -> int:
        return len(self._d)


MADE_IDS = 16_384  # person ids kept made from their keys (``KeyOwners.made_id``): ≈ 4 MiB


class KeyOwners:
    """key → the id of the person it names. Most keys name the person whose id was made from them (a person's id is
    ``person_id_for`` its first key, the 宛名番号 of nearly every resident): those are not kept here — the id is
    made again from the key and that person asked whether it holds the key, which the caller reads anyway. Only
    the others are kept (a student id bound to a registry person, keys moved by a merge or a split): ≈ 1.8 M keys
    of ≈ 2 M at scale 1.0, ≈ 0.2 GB, were the first kind (issue 19, twelfth pass).

    Exact as long as a key is in the ``keys`` of at most the one person it is bound to, which ``bind`` and
    ``unbind`` keep (``LinkageState.bind_key``; a merge unbinds each key from the alias before binding it to the
    target)."""

    def __init__(self, persons: PersonTable) -> None:
        self._persons = persons
        self._other: dict[str, str] = {}  # keys whose owner's id was not made from them
        # the ids made from the keys asked for lately (emptied when full): asked ≈ 3.3 times per record, each a SHA-1
        # (≈ 4 % of the worker's samples at scale 0.05, 2.5 % with these kept; issue 19, twentieth pass)
        self._made: dict[str, str] = {}
        self.made_limit = MADE_IDS

    def made_id(self, key: str) -> str:
        """``person_id_for(key)``, from the keys asked for lately when it is one of them."""
        pid = self._made.get(key)
        if pid is None:
            if len(self._made) >= self.made_limit:
                self._made.clear()
            pid = self._made[key] = person_id_for(key)
        return pid

    def get(self, key: str, default: str | None = None) -> str | None:
        pid = self._other.get(key)
        if pid is not None:
            return pid
        pid = self.made_id(key)
        person: Person | None = self._persons.get(pid)
        return pid if person is not None and key in person.keys else default

    def owner(self, key: str) -> Person | None:
        """The person the key names (``get``, and that person, read once)."""
        pid = self._other.get(key)
        if pid is not None:
            found: Person | None = self._persons.get(pid)
            return found
        person: Person | None = self._persons.get(self.made_id(key))
        return person if person is not None and key in person.keys else None

    def bind(self, key: str, person_id: str) -> None:
        if person_id == self.made_id(key):
            self._other.pop(key, None)
        else:
            self._other[key] = person_id

    def unbind(self, key: str, person_id: str) -> None:
        """The key leaves ``person_id`` (already out of its ``keys``), if it was bound to it."""
        if self._other.get(key) == person_id:
            del self._other[key]

    def items(self) -> Iterator[tuple[str, str]]:
        """Every key and its owner (tests, benchmarks: reads every person)."""
        for pid, person in self._persons.items():
            for key in person.keys:
                if self.get(key) == pid:
                    yield key, pid

    def kept(self) -> dict[str, str]:
        """The keys kept because their owner's id was not made from them (the benchmark's sizes)."""
        return self._other


class DepsIndex:
    """Which source facts read what (token → source fact keys): any change to a token re-attributes them. In
    memory until the state is attached to a store, then the store's (``holders``) with this batch's changes on
    top. Every change is also kept for the store (``take_changes``), in memory and attached alike."""

    def __init__(self) -> None:
        self._mem: defaultdict[str, set[str]] = defaultdict(set)
        self._added: defaultdict[str, set[str]] = defaultdict(set)
        self._removed: defaultdict[str, set[str]] = defaultdict(set)
        self._dropped: set[str] = set()  # tokens whose stored holders all go
        self.backing: Backing | None = None
        self._stored = KeyFilter()  # tokens that may be in the store (attached)

    def attach(self, backing: Backing) -> None:
        self.backing = backing
        self._mem.clear()
        self._stored = KeyFilter(backing.tokens(), backing.token_count())

    def add(self, token: str, key: str) -> None:
        if self.backing is None:
            self._mem[token].add(key)
        elif token not in self._added:
            self._stored.add(token)
        self._added[token].add(key)
        removed = self._removed.get(token)
        if removed:
            removed.discard(key)

    def discard(self, token: str, key: str) -> None:
        if self.backing is None:
            holders = self._mem.get(token)
            if holders is not None:
                holders.discard(key)
                if not holders:
                    del self._mem[token]
        self._removed[token].add(key)
        added = self._added.get(token)
        if added:
            added.discard(key)

    def drop(self, token: str) -> None:
        """Forgets the token (every source fact reading it)."""
        self._mem.pop(token, None)
        self._dropped.add(token)
        self._added.pop(token, None)
        self._removed.pop(token, None)

    def holders(self, tokens: Iterable[str]) -> set[str]:
        found: set[str] = set()
        if self.backing is None:
            for token in tokens:
                holders = self._mem.get(token)
                if holders:
                    found |= holders
            return found
        tokens = list(tokens)
        removed, added = self._removed, self._added
        stored, dropped = self._stored, self._dropped
        asked = [t for t in tokens if t in stored and t not in dropped]
        if asked:
            for token, key in self.backing.holders(asked):
                gone = removed.get(token)
                if not gone or key not in gone:
                    found.add(key)
        for token in tokens:
            more = added.get(token)
            if more:
                found |= more
        return found

    def in_memory(self) -> list[Any]:
        """What is held in memory now (the benchmark's sizes)."""
        return [self._mem, self._added, self._removed, self._dropped]

    def snapshot(self) -> dict[str, set[str]]:
        """The whole index as a dict (tests; from the store when attached: reads it all)."""
        if self.backing is None:
            return {token: set(keys) for token, keys in self._mem.items() if keys}
        tokens: set[str] = {t for t, _ in self.backing.all_holders()} | set(self._added)
        return {t: keys for t in sorted(tokens) if (keys := self.holders([t]))}

    def take_changes(self) -> tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]:
        """(tokens dropped, (token, key) removed, (token, key) added) since the last call, in that order to apply."""
        changes = (sorted(self._dropped), [(t, k) for t, keys in self._removed.items() for k in keys],
                   [(t, k) for t, keys in self._added.items() for k in keys])
        self._dropped.clear()
        self._removed.clear()
        self._added.clear()
        return changes


# review reasons that do not come from the match weights: nothing a newly arrived person changes
NOT_ON_WEIGHTS = frozenset({"birth_date_conflict", "student_id_bound_to_other_person", "no_identifying_keys",
                            "no_persons_in_record", "registry_birth_date_changed", "decision_first"})


class Counts:
    """How many persons hold each value (a full name, a surname, a birth date): the term frequencies matching
    weighs an agreement with. Keyed by the value's hash (``blocking.KEY_BITS``), as the blocks are: at scale 1.0
    the full names alone are ≈ 3 M strings, most held by no one else (the adults are in the store)."""

    def __init__(self) -> None:
        self._d: dict[int, int] = {}

    def add(self, value: str) -> None:
        h = hash(value) & KEY_BITS
        self._d[h] = self._d.get(h, 0) + 1

    def discard(self, value: str) -> None:
        h = hash(value) & KEY_BITS
        n = self._d.get(h, 0) - 1
        if n > 0:
            self._d[h] = n
        else:
            self._d.pop(h, None)

    def get(self, value: str, default: int = 0) -> int:
        return self._d.get(hash(value) & KEY_BITS, default)

    def __getitem__(self, value: str) -> int:
        return self._d.get(hash(value) & KEY_BITS, 0)

    def __len__(self) -> int:
        return len(self._d)


def review_block_keys(review: PendingReview) -> set[str]:
    """The blocks a person would share with the review's record: its own keys and those of a slip of its birth
    date (the second chance matching takes for a record that would be new)."""
    identity = Person("-", **{k: v for k, v in review.identity.items() if k in IDENTITY_FIELDS})
    return set(blocking_keys(identity)) | set(slip_keys(identity))


class LinkageState:
    def __init__(self) -> None:
        self.persons = PersonTable(self._person, PERSON_CACHE)
        self.source_facts: StoredTable[SourceFact] = StoredTable("source_fact", self._source_fact, FACT_CACHE)
        self.births: dict[str, list[Birth]] = {}  # mother key → births
        self.reviews: dict[str, PendingReview] = {}
        # record id → keys that record bound
        self.processed: StoredTable[Sequence[str]] = StoredTable("processed", _processed, 0)
        # deletions (service_layer/privacy.py): "salt", "deny:<keyed hash of a deleted key>", "request:<id>"
        self.privacy: dict[str, Any] = {}
        # derived indexes
        self.key_owner = KeyOwners(self.persons)
        # 世帯 → its resident persons (a bare id for one, else a list: a set each was 216 bytes, ≈ 2 persons a 世帯)
        self.households = Households()
        self.deps = DepsIndex()  # token → source fact keys
        self.birth_by_pregnancy: dict[str, Birth] = {}
        self.deferred_by_record: dict[str, set[str]] = defaultdict(set)  # decisions waiting for their record
        self.cannot_by_key: dict[str, set[str]] = defaultdict(set)  # key → persons it must never link to
        self.reviews_by_candidate: dict[str, set[str]] = defaultdict(set)  # person id → open reviews naming it
        self.blocks = MultiMap()
        # open reviews of a student record matched on the weights, by the blocks its identity (and a slip of its
        # birth date) falls in: a registry child arriving there matches them again (service_layer/late_match.py)
        self.review_blocks = MultiMap()
        # identities made from a school record alone, by their blocking and slip keys (domain/waiting.py): built
        # when first needed, from the persons held
        self.student_blocks: MultiMap | None = None
        self.birth_date_freq = Counts()
        self.kana_freq = Counts()
        self.kanji_freq = Counts()
        self.surname_freq = Counts()
        self.given_freq = Counts()
        self.dirty: dict[str, set[str]] = {t: set() for t in TABLES}
        self._loading: dict[str, str] = {}  # while loading: one string per record id named in several rows

    def attach(self, backing: Backing) -> None:
        """From now on the source facts, the processed records and the dependency index are the store's, read on
        demand (``ON_DEMAND``), and so are the persons not ``held_always`` (loaded to build the indexes, then left
        to the store); the state must hold none of them yet (a fresh state, before ``load_row``)."""
        self.persons.attach(backing)
        self.source_facts.attach(backing)
        self.processed.attach(backing)
        self.deps.attach(backing)

    # --- persons and keys -------------------------------------------------------------------------------
    def person_for_key(self, key: str) -> Person | None:
        return self.key_owner.owner(key)

    def resolve(self, person_id: str) -> Person | None:
        person = self.persons.get(person_id)
        while person is not None and person.merged_into:
            person = self.persons.get(person.merged_into)
        return person

    def add_person(self, person: Person, stored: bool = False) -> None:
        """``stored``: a person loaded from the store (``load_row``)."""
        _share(person)
        if stored:
            self.persons.loaded(person)
        else:
            self.persons[person.person_id] = person
        for key in person.keys:
            self.key_owner.bind(key, person.person_id)
        for key in person.cannot_link:
            self.cannot_by_key[key].add(person.person_id)
        self._index(person)
        self.touch("person", person.person_id)

    def bind_key(self, person: Person, key: str, bound_by: str) -> None:
        person.keys[key] = bound_by
        self.key_owner.bind(key, person.person_id)
        self.touch("person", person.person_id)

    def add_cannot_link(self, person: Person, key: str) -> None:
        if key not in person.cannot_link:
            person.cannot_link.append(key)
            self.cannot_by_key[key].add(person.person_id)
            self.touch("person", person.person_id)

    def unbind_key(self, person: Person, key: str) -> None:
        person.keys.pop(key, None)
        self.key_owner.unbind(key, person.person_id)
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
            self.households.add(p.household_no, p.person_id, self.persons.backing is None or held_always(p))

    def _unindex_household(self, p: Person) -> None:
        if p.household_no:
            self.households.remove(p.household_no, p.person_id)

    def _counters(self, p: Person) -> tuple[tuple[Counts, str | None], ...]:
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
                counter.add(value)

    def _unindex_blocks(self, p: Person) -> None:
        if p.status == "merged":
            return
        if p.is_child:
            for key in blocking_keys(p):
                self.blocks.remove(key, p.person_id)
        for counter, value in self._counters(p):
            if value:
                counter.discard(value)

    def remove_person(self, person: Person) -> None:
        """Forgets a person and every index entry naming it (a deletion on request)."""
        self._unindex_household(person)
        self._unindex_blocks(person)
        for key in person.keys:
            self.key_owner.unbind(key, person.person_id)
        for key in person.cannot_link:
            self.cannot_by_key.get(key, set()).discard(person.person_id)
        self.persons.pop(person.person_id, None)
        self.touch("person", person.person_id)

    def household_children(self, household_no: str) -> list[Person]:
        held = self.persons.held  # every child is in memory: the adults of the 世帯 are not read from the store
        members = (held(pid) for pid in sorted(self.households.get(household_no)))
        return [p for p in members if p is not None and p.is_child and p.status == "resident"
                and p.household_no == household_no]  # not a 世帯 number that shares the index's hash

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
        old = set(new)
        for token in sf.deps:
            if token not in old:
                self.deps.discard(token, sf.key)
        old = set(sf.deps)
        for token in new:
            if token not in old:
                self.deps.add(token, sf.key)
        sf.deps = new
        self.changed_fact(sf)

    def changed_fact(self, sf: SourceFact) -> None:
        """``sf`` changed: kept in memory (it may have come from iterating) and written with the batch."""
        self.source_facts[sf.key] = sf
        self.touch("source_fact", sf.key)

    def remove_source_fact(self, key: str) -> SourceFact | None:
        """Forgets a source fact and its dependency index entries (retention, deletion)."""
        sf = self.source_facts.pop(key, None)
        if sf is not None:
            for token in sf.deps:
                self.deps.discard(token, key)
            self.touch("source_fact", key)
        return sf

    def dependents(self, tokens: Iterable[str]) -> set[str]:
        return self.deps.holders(tokens)

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
        if review.subject_key is not None and review.subject_key.startswith("student:") \
                and review.reason not in NOT_ON_WEIGHTS and review.identity:
            keys = review_block_keys(review)
            if review.decision is None and review.decided is None:
                self.review_blocks.add_all(keys, review.review_id)
            else:
                for key in keys:
                    self.review_blocks.remove(key, review.review_id)
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
        """What changed since the last call, as JSON-ready rows (None = deleted); the dependency index's changes
        are ``deps.take_changes()``. ``committed()`` once they are stored."""
        rows: dict[str, dict[str, Any | None]] = {}
        for table, keys in self.dirty.items():
            rows[table] = {key: self._row(table, key) for key in keys}
            if table == "person":
                held = self.persons.held
                for key in keys:
                    person = held(key)
                    if person is not None and person.key_identities:
                        _share_identities(person)
                self.persons.settle(keys)
            keys.clear()
        return rows

    def committed(self) -> None:
        """The batch's changes are stored: what is read on demand leaves memory but for the most recent."""
        self.persons.committed()
        self.source_facts.committed()
        self.processed.committed()

    def _row(self, table: str, key: str) -> Any | None:
        if table == "person":
            person = self.persons.get(key)
            return person.to_dict() if person is not None else None
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
            self.add_person(person, stored=True)
            if person.key_identities:
                _share_identities(person)
        elif table == "source_fact":
            row["record_id"] = share(row["record_id"], row["record_id"])
            sf = self._source_fact(key, row)
            self.source_facts[key] = sf
            for token in sf.deps:
                self.deps.add(token, key)
        elif table == "births":
            for raw in row:
                birth = Birth(**raw)
                self.births.setdefault(key, []).append(birth)
                if birth.pregnancy_id:
                    self.birth_by_pregnancy[birth.pregnancy_id] = birth
        elif table == "review":
            self.put_review(PendingReview.from_dict(row))
        elif table == "processed":
            self.processed[share(key, key)] = _processed(key, row)
        elif table == "privacy":
            self.privacy[key] = row

    def end_load(self) -> None:
        self._loading.clear()
        self.clear_dirty()

    def _source_fact(self, key: str, row: dict[str, Any]) -> SourceFact:
        """A stored source fact row as the object (its strings shared with the persons' where they are equal)."""
        sf = SourceFact.from_dict(row)
        sf.system = sys.intern(sf.system)
        sf.deps = [sys.intern(token) for token in sf.deps]
        sf.sent = {self._person_id(cid): entry for cid, entry in sf.sent.items()}
        return sf

    def _person(self, _key: str, row: dict[str, Any]) -> Person:
        """A stored person row as the object (read on demand: not a child; ``add_person``'s shared strings)."""
        person = Person.from_dict(row)
        _share(person)
        return person

    def _person_id(self, person_id: str) -> str:
        """The person's own id string (one string, not one per place that names the person)."""
        person = self.persons.held(person_id)  # the children a fact was sent to are: no read for the others
        return person.person_id if person is not None else person_id

    def clear_dirty(self) -> None:
        for keys in self.dirty.values():
            keys.clear()
        self.deps.take_changes()
        self.committed()


def _share(person: Person) -> None:
    """The fields many persons share as one string each (``SHARED_FIELDS``)."""
    for name in SHARED_FIELDS:
        value = getattr(person, name)
        if type(value) is str:
            setattr(person, name, sys.intern(value))


_IDENTITY_NAMES = frozenset(IDENTITY_FIELDS)


def _share_identities(person: Person) -> None:
    """What each key came with (``key_identities``: a student record's name, birth date, address …) holds the
    person's own string where the two are equal: one string, not two (≈ 0.5 k bytes less per child with a
    student id; the values are equal, so nothing read or written changes)."""
    for identity in person.key_identities.values():
        same: list[tuple[str, str]] = []
        for name, value in identity.items():
            if name in _IDENTITY_NAMES and type(value) is str:
                own = getattr(person, name)
                if own is not value and own == value:
                    same.append((name, own))
        for name, own in same:
            identity[name] = own


def _processed(_key: str, row: Any) -> Sequence[str]:
    return row or NOTHING_BOUND
