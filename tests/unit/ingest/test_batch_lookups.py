"""The worker prepares a batch's events, reads their ids from the dedup store at once, then resolves each in order:
the same outcomes, byte for byte, as handling each event on its own."""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from contracts.sources import SYSTEM_BY_TOPIC
from services.ingest.adapters.clock import FixedClock
from services.ingest.adapters.dedup import MemoryDedupStore, SqliteDedupStore
from services.ingest.domain.intake import decode_event
from services.ingest.entrypoints.examples import PAYLOADS, example_event, topic_of
from services.ingest.metrics import IngestMetrics
from services.ingest.service_layer import handlers
from services.ingest.service_layer.handlers import IngestHandler, SourceMessage, content_digest
from services.ingest.service_layer.ports import NOT_SEEN

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 5, tzinfo=UTC)


def _message(offset: int, event: dict[str, Any] | bytes, topic: str | None = None) -> SourceMessage:
    value = event if isinstance(event, bytes) else json.dumps(event, ensure_ascii=False).encode()
    return SourceMessage(topic or topic_of(str(event["type"])), 0, offset, b"k",  # type: ignore[index]
                         value, [], timestamp=1_767_500_000.0 + offset)


def _handler(path: Path) -> IngestHandler:
    return IngestHandler(dedup=SqliteDedupStore(path), metrics=IngestMetrics(CollectorRegistry()),
                         max_event_bytes=1 << 20, clock=FixedClock(NOW))


def _fields(outcome: object) -> tuple[str, dict[str, Any]]:
    return type(outcome).__name__, dict(outcome.__dict__) if hasattr(outcome, "__dict__") else {
        name: getattr(outcome, name) for name in outcome.__dataclass_fields__}  # type: ignore[attr-defined]


def test_a_batch_over_the_sqlite_store_gives_the_outcomes_of_its_events_one_by_one(tmp_path: Path) -> None:
    events = [example_event(t, event_id=f"e-{i}") for i, t in enumerate(sorted(PAYLOADS))]
    enrolment = example_event("childcare.enrolment.started", event_id="c-1")
    earlier = [_message(i, event) for i, event in enumerate([*events[:6], enrolment])]  # on disk before the batch
    batch = [
        *(_message(10 + i, event) for i, event in enumerate(events)),  # e-0 … e-5 retries of what is on disk
        _message(40, events[7]),  # a repeat inside the batch
        _message(41, b"{not json", topic="source.childcare.v1"),
        _message(42, b"{}", topic="source.nowhere.v1"),
        _message(43, {**enrolment, "data": {**enrolment["data"], "start_date": "2025-05-01"}}),  # id re-used
        _message(44, example_event("childcare.enrolment.started", event_id="new", start_date="2025-02-30")),
    ]
    outcomes = {}
    for name, by_batch in (("one", False), ("batch", True)):
        handler = _handler(tmp_path / f"{name}.sqlite3")
        handler.dedup.confirm_all([o.dedup_key for o in handler.handle_batch(earlier)])  # type: ignore[union-attr]
        handler.dedup.flush()
        outcomes[name] = handler.handle_batch(batch) if by_batch else [handler.handle(m) for m in batch]

    assert [_fields(o) for o in outcomes["batch"]] == [_fields(o) for o in outcomes["one"]]
    kinds = [type(o).__name__ for o in outcomes["batch"]]
    assert kinds[:6] == ["Duplicate"] * 6, "the ids on disk are found"
    assert kinds[6:len(events)] == ["Accepted"] * (len(events) - 6)
    assert kinds[len(events)] == "Duplicate", "a repeat inside the batch sees the reservation before it"
    assert [getattr(o, "error_class", None) for o in outcomes["batch"][len(events) + 1:len(events) + 5]] == \
        ["not_json", "unknown_system", "duplicate_id_different_content", "invalid_value"]


def test_prefetched_lookups_answer_what_the_disk_holds_until_it_changes(tmp_path: Path) -> None:
    store = SqliteDedupStore(tmp_path / "dedup.sqlite3", flush_every=10_000)
    on_disk = {("childcare", f"d-{n}"): f"digest-{n}" for n in range(1200)}  # more than one query's worth
    on_disk[("childcare", "old")] = None  # stored before digests existed
    on_disk[("school_students", "d-1")] = "other system"
    for key, digest in on_disk.items():
        store.reserve(key, digest)
    store.confirm_all(list(on_disk))
    store.flush()
    store.reserve(("childcare", "reserved"), "r")
    store.reserve(("childcare", "confirmed"), "c")
    store.confirm(("childcare", "confirmed"))
    keys = [*on_disk, ("childcare", "reserved"), ("childcare", "confirmed"), ("childcare", "never"),
            ("school_students", "d-2")]
    from_disk = {key: store.lookup(key) for key in keys}

    store.prefetch(keys)
    assert {key: store.lookup(key) for key in keys} == from_disk
    assert from_disk[("childcare", "old")] is None and from_disk[("childcare", "never")] is NOT_SEEN

    store.reserve(("childcare", "never"), "n")  # reserved, confirmed and flushed after the prefetch
    store.confirm(("childcare", "never"))
    store.flush()
    assert store.lookup(("childcare", "never")) == "n"

    store.prefetch(keys)
    store.prune(older_than_s=-60.0)  # forgets every id
    assert store.lookup(("childcare", "d-0")) is NOT_SEEN
    store.close()


def test_the_content_digest_is_blake2b_of_the_models_json() -> None:
    for event_type in sorted(PAYLOADS):
        event = example_event(event_type, event_id=f"id-{event_type}", name_kanji="髙橋 花子")
        envelope = decode_event(SYSTEM_BY_TOPIC[topic_of(event_type)], json.dumps(event).encode(), 1 << 20)
        assert content_digest(envelope) == hashlib.blake2b(envelope.model_dump_json().encode(),
                                                           digest_size=16).hexdigest()


def test_a_record_that_fails_to_build_is_refused_only_when_its_id_is_new(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    event = example_event("childcare.enrolment.started", event_id="bug")
    handler = _handler(tmp_path / "dedup.sqlite3")
    [first] = handler.handle_batch([_message(0, event)])
    handler.dedup.confirm(first.dedup_key)  # type: ignore[union-attr]

    def broken(system: str, envelope: object) -> dict[str, Any]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(handlers, "record_payload", broken)
    with caplog.at_level(logging.ERROR, logger="tsunagu.ingest"):
        retry, new = handler.handle_batch([_message(1, event), _message(2, {**event, "id": "bug-2"})])
    assert type(retry).__name__ == "Duplicate", "a retry is dropped before its record is needed"
    assert (type(new).__name__, new.error_class, new.reason) == (  # type: ignore[union-attr]
        "Rejected", "internal_error", "unexpected RuntimeError")
    assert len([r for r in caplog.records if "unexpected RuntimeError" in r.getMessage()]) == 1


class _FailingBatchQuery:
    """The store's connection, but its second query for many ids fails (a disk error halfway through a prefetch)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db, self.queries = db, 0

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if " IN (" in sql:
            self.queries += 1
            if self.queries == 2:
                raise sqlite3.OperationalError("disk I/O error")
        return self.db.execute(sql, *args)

    def close(self) -> None:
        self.db.close()


def test_ids_whose_prefetch_failed_are_looked_up_on_disk(tmp_path: Path) -> None:
    store = SqliteDedupStore(tmp_path / "dedup.sqlite3")
    stored = [("childcare", "a"), ("school_students", "b")]
    for key in stored:
        store.reserve(key, f"digest-{key[1]}")
    store.confirm_all(stored)
    store.flush()
    store._db = _FailingBatchQuery(store._db)  # type: ignore[assignment]
    with pytest.raises(sqlite3.OperationalError):
        store.prefetch([*stored, ("school_students", "new")])  # childcare answered, school_students not
    assert [store.lookup(key) for key in stored] == ["digest-a", "digest-b"]
    assert store.lookup(("school_students", "new")) is NOT_SEEN
    store.close()


def test_a_batch_whose_prefetch_fails_is_looked_up_one_by_one(caplog: pytest.LogCaptureFixture) -> None:
    class Unreadable(MemoryDedupStore):
        def prefetch(self, keys: Iterable[tuple[str, str]]) -> None:
            raise sqlite3.OperationalError("disk I/O error")

    events = [example_event("childcare.enrolment.started", event_id=f"p-{n}") for n in range(3)]
    handler = IngestHandler(dedup=Unreadable(), metrics=IngestMetrics(CollectorRegistry()), max_event_bytes=1 << 20,
                            clock=FixedClock(NOW))
    with caplog.at_level(logging.WARNING, logger="tsunagu.ingest"):
        outcomes = handler.handle_batch([_message(n, event) for n, event in enumerate([*events, events[0]])])
    assert [type(o).__name__ for o in outcomes] == ["Accepted", "Accepted", "Accepted", "Duplicate"]
    assert "looked up one by one" in caplog.text
