"""Issue 19, seventh pass: attached to its store, the state reads source facts, processed record ids and the
dependency index from SQLite when a change reaches them and keeps only a bounded number in memory. That must change
nothing published: every message is the same bytes as with the whole state in memory, with no cache at all, and
across a restart in the middle."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from contracts.envelope import envelope_dict
from contracts.topics.ingest_records import EVENT_TYPE, RecordV1
from services.linkage.adapters import store as store_module
from services.linkage.adapters.clock import FixedClock
from services.linkage.adapters.store import WAL_BACKSTOP_PAGES, Checkpointer, SqliteStore, wal_restarts
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.retention import forget_facts
from services.linkage.domain.state import KeyFilter, LinkageState, StoredTable
from services.linkage.metrics import LinkageMetrics
from services.linkage.service_layer.handlers import Incoming, LinkageService
from services.linkage.service_layer.ports import Message
from tests.unit.linkage.factories import assistance, left, person, record, resident, student

pytestmark = pytest.mark.unit
MCH = "maternal_child_health"


def _records() -> list[RecordV1]:
    """A family's year: households, a 生活保護 case reaching its children, a school record linked late, a move
    between households, a pregnancy and a birth, a checkup, a child leaving, a case ending, and a replay."""
    first = [
        resident("2001", "H1", birth="1985-03-03", reason="initial_load", name_kana="ミライ ハハ", name_kanji="未来 母",
                 sex="2"),
        resident("1001", "H1", birth="2015-05-05", reason="initial_load", name_kana="ミライ イチ",
                 name_kanji="未来 一"),
        resident("1002", "H1", birth="2019-06-06", reason="initial_load", name_kana="ミライ ニ", name_kanji="未来 二"),
        resident("2002", "H2", birth="1960-01-01", reason="initial_load", name_kana="カコ ソフ",
                 name_kanji="過去 祖父"),
        assistance("started", "C1", "H1", "2001", "2025-04-10"),
        record(MCH, f"{MCH}.pregnancy.notified", [person("mother", atena_no="2001")], day="2025-04-20",
               pregnancy_id="P1", notification_date="2025-04-20"),
    ]
    second = [
        student("S1", "ミライ イチ", "未来 一", "2015-05-05"),
        resident("1002", "H2", birth="2019-06-06", reason="move_within", effective="2025-05-01",
                 name_kana="ミライ ニ", name_kanji="未来 二"),
        assistance("started", "C2", "H2", "2002", "2025-05-10"),
        record(MCH, f"{MCH}.birth.recorded", [person("mother", atena_no="2001"), person("child", atena_no="1003")],
               day="2025-07-20", pregnancy_id="P1", birth_date="2025-07-20", birth_weight_g=2400),
        resident("1003", "H1", birth="2025-07-20", reason="birth", effective="2025-07-25",
                 name_kana="ミライ サン", name_kanji="未来 三"),
        record(MCH, f"{MCH}.infant_checkup.recorded", [person("child", atena_no="1003")], day="2025-08-20",
               checkup="1m"),
        left("1001", "H1", "2025-09-01"),
        assistance("ended", "C1", "H1", "2001", "2025-09-30"),
    ]
    return first + second


def _incoming(records: list[RecordV1], start: int = 0) -> list[Incoming]:
    return [Incoming(json.dumps(envelope_dict(data=r, type_=EVENT_TYPE, source="/t", subject=None,
                                              event_id=r.record_id)).encode(), None, "ingest.records.v1", 0, start + i)
            for i, r in enumerate(records)]


def _service(store: SqliteStore | None, *, cache: int = 0) -> LinkageService:
    state = LinkageState()
    if store is not None:
        store.load(state)
        state.source_facts.cache_size = cache
    return LinkageService(state, store, LinkageMetrics(CollectorRegistry()), MatchSettings(), "/test",
                          clock=FixedClock(datetime(2025, 10, 1, 10, tzinfo=UTC)))


def _run(service: LinkageService, batches: list[list[Incoming]]) -> list[Message]:
    out: list[Message] = []
    for batch in batches:
        sent = service.handle_records(batch)
        if service.store is not None:
            service.store.acknowledge([seq for seq, _ in sent])
        out += [m for _, m in sent]
    return out


def test_attached_without_a_cache_publishes_what_the_state_in_memory_does(tmp_path: Path) -> None:
    records = _records()
    one_each = [_incoming([r], i) for i, r in enumerate(records)]
    replay = [_incoming(records[:3], 100)]  # redelivered: nothing again
    expected = _run(_service(None), one_each + replay)
    assert len(expected) > 15 and any(b'"relation":"household"' in (m[2] or b"") for m in expected)

    store = SqliteStore(f"sqlite:///{tmp_path / 'a.db'}")
    attached = _service(store)  # cache 0: every source fact read back from SQLite in the next batch
    assert _run(attached, one_each + replay) == expected
    assert attached.state.source_facts.reads > 0 and len(attached.state.source_facts.in_memory()) == 0
    store.close()

    split = 7  # a restart after the seventh record: a fresh state attached to the same store carries on
    restarted = SqliteStore(f"sqlite:///{tmp_path / 'b.db'}")
    before = _run(_service(restarted, cache=2), one_each[:split])
    restarted.close()
    again = SqliteStore(f"sqlite:///{tmp_path / 'b.db'}")
    after = _run(_service(again, cache=2), one_each[split:] + replay)
    assert before + after == expected
    assert again.loaded().deps.snapshot() == _memory_state(one_each).deps.snapshot()
    again.close()


def _memory_state(batches: list[list[Incoming]]) -> LinkageState:
    service = _service(None)
    _run(service, batches)
    return service.state


def test_removed_facts_are_gone_before_and_after_the_commit(tmp_path: Path) -> None:
    store = SqliteStore(f"sqlite:///{tmp_path / 'c.db'}")
    service = _service(store)
    _run(service, [_incoming(_records()[:5])])
    state = service.state
    key = next(k for k in state.source_facts if k.startswith("public_assistance|"))
    holders = {t: ks for t, ks in state.deps.snapshot().items() if key in ks}
    assert holders and key in state.source_facts
    forget_facts(state, [key])
    assert key not in state.source_facts and key not in list(state.source_facts.keys())
    assert not any(key in state.dependents([token]) for token in holders)
    store.commit(state, [])
    assert key not in state.source_facts and key not in store.loaded().source_facts
    assert not any(key in ks for ks in store.loaded().deps.snapshot().values())
    store.close()


def test_the_key_filter_never_misses_a_key_it_was_given_and_grows() -> None:
    keys = [f"record-{i}" for i in range(1_500_000)]
    found = KeyFilter(keys[:1000])
    assert all(k in found for k in keys[:1000])
    assert sum(k in found for k in keys[1000:21000]) < 200  # ≈ 0.5 % false positives at most
    assert found.segments == 1
    for k in keys[1000:]:
        found.add(k)
    assert found.segments == 3 and found.capacity >= found.count == len(keys)  # 262 144, then ×4, ×4 again
    assert all(k in found for k in keys)
    unseen = [f"other-{i}" for i in range(100_000)]
    assert sum(k in found for k in unseen) < 1_500  # ≈ 0.5 % per segment at most
    sized = KeyFilter(keys, len(keys))
    assert sized.segments == 1 and all(k in sized for k in keys)


class _Keys:
    """A store's keys for ``StoredTable.attach``, counting how often they are read."""

    def __init__(self, keys: list[str]) -> None:
        self.stored, self.reads = keys, 0

    def keys(self, _table: str) -> list[str]:
        self.reads += 1
        return self.stored

    def count(self, _table: str) -> int:
        return len(self.stored)


def test_a_table_whose_key_filter_fills_does_not_read_every_key_of_the_store_again() -> None:
    """Until 4 Dec 2026 a full filter was rebuilt from the store's keys on the batches' thread (≈ 12 million keys
    read again over a scale-1.0 drain, seconds each time); it grows by a segment now."""
    backing = _Keys([f"stored-{i}" for i in range(1000)])
    table: StoredTable[str] = StoredTable("processed", lambda _key, row: str(row), 0)
    table.attach(backing)  # type: ignore[arg-type]
    assert backing.reads == 1
    for batch in range(6):
        for i in range(100_000):
            table[f"record-{batch}-{i}"] = "x"
        table.committed()  # each batch's end: the cache trimmed (0 kept), the filter as it is
    assert backing.reads == 1
    assert "record-5-99999" in table._stored and "stored-999" in table._stored


def test_checkpoints_on_their_own_thread_change_nothing_published_and_copy_the_wal_into_the_database(
        tmp_path: Path) -> None:
    records = _records()
    batches = [_incoming([r], i) for i, r in enumerate(records)]
    expected = _run(_service(None), batches)

    outcomes: list[tuple[bool, int]] = []
    store = SqliteStore(f"sqlite:///{tmp_path / 'd.db'}", checkpoint_interval_s=0.005,
                        on_checkpoint=lambda ok, pages: outcomes.append((ok, pages)))
    assert store.checkpointer is not None
    assert store._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WAL_BACKSTOP_PAGES
    service = _service(store)
    published: list[Message] = []
    for batch in batches:
        published += _run(service, [batch])
        time.sleep(0.002)  # checkpoints between and during the batches
    assert published == expected
    deadline = time.monotonic() + 10
    rounds = store.checkpointer.rounds
    while store.checkpointer.rounds < rounds + 2 and time.monotonic() < deadline:
        time.sleep(0.01)  # a round that began after the last commit
    assert store.checkpointer.rounds >= rounds + 2, "the checkpoint thread runs"
    assert len(outcomes) >= 2 and all(ok for ok, _pages in outcomes), "each round's outcome told (the worker's metrics)"
    assert outcomes[-1][1] == store.checkpointer.pages > 0, "and the WAL's pages then"

    # every page copied and nothing written since: the next batch's write starts the WAL over, which the next round
    # finds (fewer pages than the round before)
    restarts = store.checkpointer.restarts
    newcomer = resident("2003", "H3", birth="1970-02-02", reason="initial_load", name_kana="ホカ ヒト",
                        name_kanji="他 人")
    _run(service, [_incoming([newcomer], 200)])
    rounds = store.checkpointer.rounds
    while store.checkpointer.rounds < rounds + 2 and time.monotonic() < deadline + 10:
        time.sleep(0.01)
    assert store.checkpointer.restarts > restarts, "the WAL started over"

    # the database file alone (no WAL): what the batches wrote is in it, copied by the thread (the batches'
    # connection checkpoints only past the backstop, far beyond these few pages)
    alone = tmp_path / "alone.db"
    shutil.copyfile(tmp_path / "d.db", alone)
    copied = sqlite3.connect(alone)
    try:
        rows = copied.execute("SELECT COUNT(*) FROM state").fetchone()[0]
    finally:
        copied.close()
    assert rows == store._db.execute("SELECT COUNT(*) FROM state").fetchone()[0] > 0
    store.close()
    assert not store.checkpointer._thread.is_alive(), "closing the store ends its thread"


def test_a_batch_that_read_before_every_page_was_copied_still_starts_the_wal_over(tmp_path: Path) -> None:
    """Issue 19, twenty-first pass: SQLite starts the WAL over only in a write transaction whose snapshot was taken
    with every page copied. A batch's reads begin before the checkpoint thread's round has copied the last commit;
    written in that read transaction, the WAL never started over: at scale 1.0 it grew to the backstop
    (``WAL_BACKSTOP_PAGES``) and the batches' own COMMIT checkpointed it, fsyncs and all."""
    records = _records()
    path = tmp_path / "w.db"
    store = SqliteStore(f"sqlite:///{path}")  # no thread: the test's own checkpoints stand in for its rounds
    service = _service(store)
    _run(service, [_incoming(records[:6])])
    checkpointer = sqlite3.connect(path, isolation_level=None)
    for i, one in enumerate(records[6:], 6):
        assert store.row("source_fact", "no such key") is None  # the batch's first read: its read transaction begins
        busy, pages, copied = checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert (busy, copied) == (0, pages) and pages > 0, "the round copied every page (the read does not stop it)"
        before = wal_restarts(path)
        _run(service, [_incoming([one], i)])
        assert wal_restarts(path) == before + 1, "the batch's write started the WAL over"
    checkpointer.close()
    store.close()


def test_the_checkpoint_thread_starts_the_wal_over_while_batches_write_back_to_back(tmp_path: Path) -> None:
    """Issue 19, twenty-fourth pass: with batches back to back a PASSIVE round nearly never ends before the next batch
    writes, so it never syncs the database file and the WAL never starts over; at scale 1.0 the WAL grew to the
    backstop every few seconds and the batches' COMMIT finished the checkpoint, ≈ 0.6 s of syncs and copying on the
    batches' thread each time. Past ``finish_from_pages`` the thread finishes it itself (``Checkpointer._finish``).
    Here the writer has no backstop at all: only the thread can keep the WAL small (without the finish, this WAL
    grew to ≈ 34 600 pages and never started over)."""
    path = tmp_path / "b.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA synchronous=NORMAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # no backstop: the batches never checkpoint
    writer.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB)")
    checkpointer = Checkpointer(str(path), 0.001, finish_from_pages=200)
    checkpointer.start()
    rng, value, largest = random.Random(1), os.urandom(1500), 0
    try:
        for _ in range(400):  # ≈ 30 pages a transaction, one after the other
            writer.execute("BEGIN IMMEDIATE")
            writer.executemany("INSERT OR REPLACE INTO t VALUES (?, ?)",
                               [(rng.randrange(20_000), value) for _ in range(30)])
            writer.execute("COMMIT")
            checkpointer.committed()
            largest = max(largest, os.path.getsize(f"{path}-wal") // 4096)
            time.sleep(0.002)  # the next batch's matching: no write lock held
    finally:
        checkpointer.stop()
    assert checkpointer.finished > 0, "rounds finished checkpoints the writes kept PASSIVE ones from finishing"
    assert wal_restarts(path) >= 5, "so the WAL started over, again and again"
    # how large it got depends on when the thread got a core: 575–9 256 pages in 25 runs on one machine, 3 000 at
    # most on another; without the finish it grew to ≈ 34 600 and never started over
    assert largest < 20_000, f"and stayed well below the WAL without the finish: {largest} pages at most"
    assert writer.execute("SELECT COUNT(*) FROM t").fetchone()[0] > 0
    writer.close()


def test_the_page_cache_grows_with_the_database_up_to_its_ceiling(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 19, twenty-first pass: at scale 1.0 the state's B-trees no longer fit a 16 MiB cache and each row's
    descent read its pages from the file; the cache now follows the database's size (``CACHE_SHARE``), bounded."""
    monkeypatch.setattr(store_module, "CACHE_EVERY", 1)  # a look at every commit
    monkeypatch.setattr(store_module, "CACHE_SHARE", 1)  # the whole file: a few pages here
    records = _records()
    fixed = SqliteStore(f"sqlite:///{tmp_path / 'fixed.db'}", cache_kib=16)  # no ceiling above it: stays
    growing = SqliteStore(f"sqlite:///{tmp_path / 'growing.db'}", cache_kib=16, cache_max_kib=40)
    assert growing.cache_kib < 40, "a new database: below the ceiling"
    published = [_run(_service(store), [_incoming(records)]) for store in (fixed, growing)]
    assert published[0] == published[1]
    pages = growing._db.execute("PRAGMA page_count").fetchone()[0]
    assert pages * 4 > 40, "the test's database outgrew the ceiling"
    assert growing.cache_kib == 40 and growing._db.execute("PRAGMA cache_size").fetchone()[0] == -40
    assert fixed.cache_kib == 16 and fixed._db.execute("PRAGMA cache_size").fetchone()[0] == -16
    for store in (fixed, growing):
        store.close()


def test_a_store_in_memory_or_without_an_interval_checkpoints_in_its_commits(tmp_path: Path) -> None:
    for store in (SqliteStore(f"sqlite:///{tmp_path / 'e.db'}"),
                  SqliteStore("sqlite:///:memory:", checkpoint_interval_s=1)):
        assert store.checkpointer is None
        store.close()


def test_a_batch_reads_in_one_transaction_that_its_commit_ends(tmp_path: Path) -> None:
    """Issue 19, twentieth pass: each on-demand read outside a transaction began and ended one of its own (file locks,
    the WAL index checked each time). A batch's reads now share one read transaction, which its commit ends before
    its write transaction begins; a restart's load leaves none open (the checkpoints would wait at its snapshot)."""
    records = _records()
    store = SqliteStore(f"sqlite:///{tmp_path / 'f.db'}")
    service = _service(store)  # cache 0: the next batches read every source fact they touch back from SQLite
    assert not store._db.in_transaction, "the load ends the reads its key filters made"
    _run(service, [_incoming(records[:6])])
    statements: list[str] = []
    store._db.set_trace_callback(statements.append)
    reads_before = service.state.source_facts.reads
    _run(service, [_incoming(records[6:], 6)])
    assert service.state.source_facts.reads > reads_before, "the batch read rows back"
    begins = [s for s in statements if s.startswith("BEGIN")]
    selects = [s for s in statements if s.startswith("SELECT") and "FROM state" in s]
    assert len(selects) > 1
    # one read transaction for all of the batch's reads, ended by its commit's write transaction; the outbox cleared
    # in its own
    assert begins == ["BEGIN", "BEGIN IMMEDIATE", "BEGIN IMMEDIATE"], begins
    assert not store._db.in_transaction
    store._db.set_trace_callback(None)

    assert store.row("source_fact", "no such key") is None and store._db.in_transaction
    store.acknowledge([1])  # a read no write followed: the next transaction on the connection ends it
    assert not store._db.in_transaction
    store.row("source_fact", "no such key")
    store.end_reads()
    assert not store._db.in_transaction
    assert set(store.loaded().source_facts.keys()) == set(service.state.source_facts.keys())
    store.close()
