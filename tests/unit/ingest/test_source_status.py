"""Freshness per source system (issue 17): what ingest reports on ingest.source_status.v1."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry

from contracts.envelope import Envelope
from contracts.sources.cadence import SILENCE_ALLOWED_S
from contracts.topics.ingest_source_status import SourceStatusV1
from services.ingest.adapters.clock import FixedClock
from services.ingest.adapters.dedup import MemoryDedupStore
from services.ingest.config import IngestSettings
from services.ingest.domain.freshness import ActivityTracker
from services.ingest.entrypoints.examples import example_event, topic_of
from services.ingest.metrics import IngestMetrics
from services.ingest.service_layer.handlers import IngestHandler, SourceMessage
from services.ingest.service_layer.source_status import status_messages

pytestmark = pytest.mark.unit
T0 = 1_780_000_000.0  # some Unix time; the tracker only ever sees the times it is given
H = 3600.0


def test_the_last_event_time_is_the_newest_source_time_and_never_goes_back() -> None:
    tracker = ActivityTracker(started=T0)
    tracker.record("childcare", T0 - 50, now=T0)
    tracker.record("childcare", T0 - 10, now=T0 + 1)
    tracker.record("childcare", T0 - 9_000, now=T0 + 2)  # a backfill: counted, but not newer
    [status] = tracker.snapshot(now=T0 + 3)
    assert status.system == "childcare"
    assert status.last_event_time == T0 - 10
    assert status.events_24h == 3


def test_only_systems_heard_from_are_reported() -> None:
    tracker = ActivityTracker(started=T0)
    assert tracker.snapshot(now=T0 + 60) == []
    tracker.record("school_affairs", T0, now=T0)
    assert [s.system for s in tracker.snapshot(now=T0 + 60)] == ["school_affairs"]


def test_events_older_than_24_hours_leave_the_count_but_not_the_last_event_time() -> None:
    tracker = ActivityTracker(started=T0)
    tracker.record("disability", T0, now=T0)
    tracker.record("disability", T0 + 20 * H, now=T0 + 20 * H)
    assert tracker.snapshot(now=T0 + 23 * H)[0].events_24h == 2
    later = tracker.snapshot(now=T0 + 26 * H)[0]
    assert later.events_24h == 1
    assert later.last_event_time == T0 + 20 * H
    gone = tracker.snapshot(now=T0 + 50 * H)[0]
    assert gone.events_24h == 0 and gone.last_event_time == T0 + 20 * H


def test_the_count_says_since_when_it_counts() -> None:
    tracker = ActivityTracker(started=T0)
    tracker.record("childcare", T0, now=T0)
    assert tracker.snapshot(now=T0 + H)[0].counted_since == T0  # started an hour ago: the count is short
    assert tracker.snapshot(now=T0 + 30 * H)[0].counted_since == T0 + 6 * H


def test_the_messages_are_keyed_by_system_and_carry_the_contract_with_the_cadence() -> None:
    tracker = ActivityTracker(started=T0)
    tracker.record("resident_registry", T0 - 120, now=T0)
    [(key, value)] = status_messages(tracker, now=T0 + 30)
    assert key == b"resident_registry"
    event = Envelope[SourceStatusV1].model_validate_json(value)
    assert event.type == "ingest.source_status.reported" and event.subject == "resident_registry"
    assert event.time == datetime.fromtimestamp(T0 + 30, UTC)
    assert event.data.last_event_time == datetime.fromtimestamp(T0 - 120, UTC)
    assert event.data.events_24h == 1
    assert event.data.silence_allowed_s == SILENCE_ALLOWED_S["resident_registry"] == 4 * 86_400
    assert set(json.loads(value)["data"]) == {"system", "last_event_time", "events_24h", "counted_since",
                                              "silence_allowed_s"}  # nothing about a person


def test_the_worker_handler_counts_accepted_events_and_a_resent_one_still_says_the_source_is_alive() -> None:
    ctx = IngestHandler(dedup=MemoryDedupStore(), metrics=IngestMetrics(CollectorRegistry()),
                        max_event_bytes=IngestSettings().max_event_bytes,
                        clock=FixedClock(datetime.fromtimestamp(T0, UTC)))
    event = example_event("childcare.enrolment.started", event_id="e-1")
    good = json.dumps(event).encode()
    topic = topic_of("childcare.enrolment.started")
    ctx.handle(SourceMessage(topic, 0, 1, b"k", good, [], timestamp=T0 - 5))
    ctx.handle(SourceMessage(topic, 0, 2, b"k", good, [], timestamp=T0 - 1))  # sent again: heard, not counted
    ctx.handle(SourceMessage(topic, 0, 3, b"k", b"{poison", [], timestamp=T0))  # dead-lettered: not heard
    [(key, value)] = ctx.source_status()
    data = Envelope[SourceStatusV1].model_validate_json(value).data
    assert key == b"childcare"
    assert data.events_24h == 1
    assert data.last_event_time == datetime.fromtimestamp(T0 - 1, UTC)
