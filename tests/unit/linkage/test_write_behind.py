"""Issue 19, twenty-ninth pass: SqliteStore's ``write_behind`` hands each batch's transaction to a thread of its own
and returns at once. Until the writer has committed it, the batches read the rows and the dependency index's
changes it holds from what was handed over. That must change nothing published and nothing stored: the same
messages, bytes for bytes, as the store that writes in the batches' thread, with the writer held back so that every
read meets transactions still in hand; and a transaction that fails stops the store, never skipped."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from services.linkage.adapters.store import SqliteStore
from services.linkage.domain.retention import forget_facts
from services.linkage.service_layer.ports import Message
from tests.unit.linkage.test_stored_state import _incoming, _memory_state, _records, _run, _service

pytestmark = pytest.mark.unit
HOLD_S = 10.0  # longest the test keeps the writer waiting (a read of the whole database lets it go at once)


def _stored(path: Path) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]], list[tuple[int, bytes]]]:
    with sqlite3.connect(path) as db:
        return (db.execute("SELECT tbl, k, v FROM state ORDER BY tbl, k").fetchall(),
                db.execute("SELECT token, k FROM deps ORDER BY token, k").fetchall(),
                db.execute("SELECT seq, v FROM outbox ORDER BY seq").fetchall())


def _held(store: SqliteStore) -> threading.Event:
    """Keeps the writer from starting anything handed to it until the event is set, or a read of the whole
    database (``flush``) needs it."""
    gate = threading.Event()
    assert store._writer is not None
    store._writer.submit(gate.wait, HOLD_S)
    flush = store.flush

    def let_go_then_flush() -> None:
        gate.set()
        flush()

    store.flush = let_go_then_flush  # type: ignore[method-assign]
    return gate


@pytest.mark.parametrize("cache", [0, 3])
def test_the_messages_of_a_held_writer_are_the_inline_ones_and_so_is_the_database_after(tmp_path: Path,
                                                                                        cache: int) -> None:
    records = _records()
    batches = [_incoming([r], i) for i, r in enumerate(records)] + [_incoming(records[:3], 100)]
    inline = SqliteStore(f"sqlite:///{tmp_path / 'inline.db'}")
    expected = _run(_service(inline, cache=cache), batches)
    inline.close()

    behind = SqliteStore(f"sqlite:///{tmp_path / 'behind.db'}", write_behind=True)
    service = _service(behind, cache=cache)
    gate = _held(behind)
    answered = behind.read_in_hand
    got = _run(service, batches)
    assert behind.read_in_hand > answered, "rows were read from transactions in hand"
    gate.set()
    behind.close()
    assert got == expected
    assert _stored(tmp_path / "behind.db") == _stored(tmp_path / "inline.db")

    reopened = SqliteStore(f"sqlite:///{tmp_path / 'behind.db'}", write_behind=True)
    assert reopened.loaded().deps.snapshot() == _memory_state(batches).deps.snapshot()
    reopened.close()


def test_the_dependency_index_in_hand_is_read_with_its_drops_removals_and_additions(tmp_path: Path) -> None:
    behind = SqliteStore(f"sqlite:///{tmp_path / 'd.db'}", write_behind=True)
    service = _service(behind)
    _run(service, [_incoming(_records()[:5])])
    behind.flush()
    state = service.state
    key = next(k for k in state.source_facts if k.startswith("public_assistance|"))
    tokens = sorted(t for t, ks in state.deps.snapshot().items() if key in ks)
    assert tokens
    gate = _held(behind)
    forget_facts(state, [key])  # its index entries removed, in a transaction the writer does not start yet
    behind.commit(state, [])
    assert behind._writes and not any(key == k for _, k in behind.holders(tokens))
    assert not any(key in state.dependents([token]) for token in tokens)
    gate.set()
    behind.close()
    with sqlite3.connect(tmp_path / "d.db") as db:
        assert db.execute("SELECT COUNT(*) FROM deps WHERE k = ?", (key,)).fetchone()[0] == 0


def test_a_transaction_that_failed_stops_the_store_and_nothing_after_it_is_written(tmp_path: Path) -> None:
    behind = SqliteStore(f"sqlite:///{tmp_path / 'f.db'}", write_behind=True)
    service = _service(behind)
    records = _records()
    _run(service, [_incoming(records[:2])])
    behind.flush()
    before = _stored(tmp_path / "f.db")

    def fail(*_args: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    written = behind._write
    behind._write = fail  # type: ignore[method-assign,assignment]
    service.handle_records(_incoming(records[2:4], 10))  # handed over; fails in the writer
    failed = behind.durable()
    assert failed is not None
    with pytest.raises(sqlite3.OperationalError):
        failed.result(timeout=HOLD_S)
    behind._write = written  # type: ignore[method-assign]
    with pytest.raises(sqlite3.OperationalError):
        service.handle_records(_incoming(records[4:6], 20))  # refused: the batch before it is not stored
    with pytest.raises(sqlite3.OperationalError):
        behind.durable()
    with pytest.raises(sqlite3.OperationalError):
        behind.close()
    assert _stored(tmp_path / "f.db") == before


def test_outbox_bytes_that_are_not_text_are_stored_as_they_came(tmp_path: Path) -> None:
    behind = SqliteStore(f"sqlite:///{tmp_path / 'o.db'}", write_behind=True)
    state = _service(behind).state
    messages: list[Message] = [("ingest.deadletter.v1", b"\xff\xfekey", b"\x00\xffnot text", {"reason": "x"}),
                ("linkage.facts.v1", "子".encode(), '{"名":"値"}'.encode(), {}),
                ("linkage.facts.v1", b"gone", None, {})]
    sent = behind.commit(state, messages)
    sent += behind.commit(state, messages[1:])
    assert [seq for seq, _ in sent] == [1, 2, 3, 4, 5]
    assert [m for _, m in behind.pending()] == messages + messages[1:]
    behind.acknowledge([1, 2])
    assert [seq for seq, _ in behind.pending()] == [3, 4, 5]
    behind.close()


def test_a_writer_that_does_not_commit_in_time_fails_the_store_with_what_it_waited_for(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from services.linkage.adapters import store as store_module

    monkeypatch.setattr(store_module, "WRITE_WAIT_S", 0.2)
    behind = SqliteStore(f"sqlite:///{tmp_path / 't.db'}", write_behind=True)
    service = _service(behind)
    gate = threading.Event()
    assert behind._writer is not None
    behind._writer.submit(gate.wait, HOLD_S)  # the writer stuck
    service.handle_records(_incoming(_records()[:2]))
    with pytest.raises(TimeoutError, match="did not commit a batch's transaction within 0 s"):
        behind.flush()
    with pytest.raises(TimeoutError):
        behind.durable()
    gate.set()
