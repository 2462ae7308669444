"""The worker counts a batch at once (metrics, freshness, dedup confirmations): the same counts as event by event."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from services.ingest.adapters.clock import FixedClock
from services.ingest.adapters.dedup import MemoryDedupStore, SqliteDedupStore
from services.ingest.entrypoints.examples import PAYLOADS, example_event, topic_of
from services.ingest.metrics import IngestMetrics
from services.ingest.service_layer.handlers import IngestHandler, SourceMessage

pytestmark = pytest.mark.unit


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample but the *_created ones (when each series was made; the worker turns them off)."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for m in registry.collect() for s in m.samples
            if not s.name.endswith("_created")}


NOW = datetime.fromtimestamp(time.time() - 30, UTC)  # the freshness clock; source_to_ingest reads the real time


def _messages() -> list[SourceMessage]:
    def message(offset: int, event: dict[str, object] | bytes, topic: str | None = None, age_s: float = 100.0,
                headers: list[tuple[str, bytes]] | None = None) -> SourceMessage:
        value = event if isinstance(event, bytes) else json.dumps(event, ensure_ascii=False).encode()
        topic = topic or topic_of(str(event["type"]))  # type: ignore[index]
        return SourceMessage(topic, 0, offset, b"k", value, headers or [], timestamp=time.time() - age_s)

    events = [example_event(t, event_id=f"e-{i}") for i, t in enumerate(sorted(PAYLOADS))]
    changed = example_event("childcare.enrolment.started", event_id="e-5", start_date="2025-05-01")
    return [
        *(message(i, event, age_s=100.0 + i) for i, event in enumerate(events)),
        message(90, events[3], age_s=20.0),  # sent again: heard from, not counted, a newer time
        message(91, b"{not json", topic="source.childcare.v1"),
        message(92, b"{", topic="source.childcare.v1", headers=[("tsunagu.intake", b"http")]),
        message(93, b"{}", topic="source.nowhere.v1"),
        message(94, changed),  # the same id with other content
        message(95, events[0], age_s=5000.0),
    ]


def _handler(registry: CollectorRegistry) -> IngestHandler:
    return IngestHandler(dedup=MemoryDedupStore(), metrics=IngestMetrics(registry), max_event_bytes=1 << 20,
                         clock=FixedClock(NOW))


def test_a_batch_gives_the_outcomes_counts_and_freshness_of_its_events_handled_one_by_one() -> None:
    one, batch = CollectorRegistry(), CollectorRegistry()
    by_one, by_batch = _handler(one), _handler(batch)

    messages = _messages()
    singles = [by_one.handle(m) for m in messages]
    outcomes = by_batch.handle_batch(messages)

    assert [type(o).__name__ for o in outcomes].count("Accepted") == len(PAYLOADS)
    assert [(type(o), getattr(o, "value", None), getattr(o, "error_class", None)) for o in outcomes] == \
        [(type(o), getattr(o, "value", None), getattr(o, "error_class", None)) for o in singles]
    expected, got = _samples(one), _samples(batch)
    assert expected.keys() == got.keys()
    for name, value in expected.items():
        if name[0].startswith("tsunagu_ingest_processing_duration_seconds") and name[0] != \
                "tsunagu_ingest_processing_duration_seconds_count":
            continue  # how long each event took differs between the two runs
        if name[0] == "tsunagu_ingest_source_to_ingest_seconds_sum":
            assert got[name] == pytest.approx(value, abs=5.0)  # the two runs read the clock moments apart
            continue
        assert got[name] == value, name
    assert got[("tsunagu_ingest_events_failed_total", (("intake", "http"), ("reason", "not_json")))] == 1
    assert got[("tsunagu_ingest_events_processed_total", (("outcome", "duplicate"),))] == 2
    assert by_batch.activity.snapshot(NOW.timestamp()) == by_one.activity.snapshot(NOW.timestamp())


def test_confirming_a_batch_of_ids_stores_each_with_its_digest(tmp_path: Path) -> None:
    store = SqliteDedupStore(tmp_path / "dedup.sqlite3", flush_every=2)
    for n in range(3):
        store.reserve(("childcare", f"e-{n}"), f"digest-{n}")
    store.confirm_all([("childcare", "e-0"), ("childcare", "e-1")])  # two: flushed at once
    store.release(("childcare", "e-2"))
    store.close()

    again = SqliteDedupStore(tmp_path / "dedup.sqlite3")
    assert again.lookup(("childcare", "e-0")) == "digest-0"
    assert again.lookup(("childcare", "e-1")) == "digest-1"
    assert not again.seen(("childcare", "e-2"))
    again.close()
