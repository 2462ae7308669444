"""End-to-end latency: the source event's hand-over time travels ingest → linkage → scoring → casework."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from contracts.topics.casework import AlertV1
from contracts.topics.ingest_records import RecordV1
from contracts.topics.linkage_facts import FactV1
from contracts.topics.scoring_flags import ChildFlagsV1
from services.casework.metrics import CaseworkMetrics, observe_since
from services.casework.service_layer.intake import alert_event_json
from services.ingest.adapters.dedup import MemoryDedupStore
from services.ingest.entrypoints.examples import example_event, topic_of
from services.ingest.metrics import IngestMetrics
from services.ingest.service_layer.handlers import Accepted, SourceMessage, process
from services.linkage.adapters.clock import FixedClock
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.state import LinkageState
from services.linkage.metrics import LinkageMetrics
from services.linkage.service_layer.handlers import Incoming, LinkageService
from services.linkage.service_layer.messages import encode
from services.linkage.service_layer.unit import Out
from services.scoring.metrics import ScoringMetrics
from services.scoring.service_layer.messages import decode_fact

pytestmark = pytest.mark.unit

HANDED_OVER = datetime(2026, 11, 1, 9, 0, 0, 250000, tzinfo=UTC)


def ingest(timestamp: float | None, registry: CollectorRegistry) -> tuple[Accepted, dict[str, Any]]:
    event = example_event("resident_registry.person.changed", event_id="e-1")
    message = SourceMessage(topic_of(event["type"]), 0, 1, b"k", json.dumps(event, ensure_ascii=False).encode(),
                            [], timestamp=timestamp)
    outcome = process(message, dedup=MemoryDedupStore(), metrics=IngestMetrics(registry), max_event_bytes=1 << 20)
    assert isinstance(outcome, Accepted)
    return outcome, json.loads(outcome.value)["data"]


def test_ingest_stamps_the_kafka_timestamp_and_counts_the_source() -> None:
    registry = CollectorRegistry()
    outcome, record = ingest(HANDED_OVER.timestamp(), registry)
    assert RecordV1.model_validate(record).source_time == HANDED_OVER.isoformat()
    assert outcome.system == "resident_registry"
    labels = {"system": "resident_registry"}
    assert registry.get_sample_value("tsunagu_ingest_source_events_total", labels) == 1
    assert registry.get_sample_value("tsunagu_ingest_source_last_event_timestamp_seconds", labels) == pytest.approx(
        HANDED_OVER.timestamp())
    assert registry.get_sample_value("tsunagu_ingest_source_to_ingest_seconds_count") == 1
    # every system's series exists from the start, so a silent source shows as 0, not as a gap
    assert registry.get_sample_value("tsunagu_ingest_source_events_total", {"system": "school_affairs"}) == 0


def test_without_a_kafka_timestamp_the_event_time_stands_in() -> None:
    _, record = ingest(None, CollectorRegistry())
    assert RecordV1.model_validate(record).source_time is not None


def test_linkage_puts_the_source_time_on_facts_without_changing_their_event_id() -> None:
    payload = {"fact_id": "f-1", "child_id": "c-1", "kind": "residence", "relation": "self", "status": "asserted",
               "source_system": "resident_registry", "record_id": "e-1", "attributes": {}}
    out = Out("fact", "c-1", payload, "2026-11-01T09:00:00+09:00")
    _, _, with_time, _ = encode(out, "/tsunagu/linkage", HANDED_OVER.isoformat())
    _, _, without, _ = encode(out, "/tsunagu/linkage")
    fact = FactV1.model_validate(json.loads(with_time)["data"])
    assert fact.source_time == HANDED_OVER.isoformat()
    assert FactV1.model_validate(json.loads(without)["data"]).source_time is None
    assert json.loads(with_time)["id"] == json.loads(without)["id"]
    assert "source_time" not in payload, "the compared payload stays as it was"


def test_linkage_records_source_to_linkage() -> None:
    registry = CollectorRegistry()
    LinkageMetrics(registry).observe_batch([], [HANDED_OVER.isoformat()], HANDED_OVER.replace(second=1))
    assert registry.get_sample_value("tsunagu_linkage_source_to_linkage_seconds_sum") == pytest.approx(1.0)


def test_linkage_measures_from_the_source_time_to_its_clock() -> None:
    outcome, _ = ingest(HANDED_OVER.timestamp(), CollectorRegistry())
    registry = CollectorRegistry()
    service = LinkageService(LinkageState(), None, LinkageMetrics(registry), MatchSettings(), "/tsunagu/linkage",
                             clock=FixedClock(HANDED_OVER.replace(second=3)))
    service.handle_records([Incoming(outcome.value, outcome.key, "ingest.records.v1", 0, 0)])
    assert registry.get_sample_value("tsunagu_linkage_source_to_linkage_seconds_count") == 1
    assert registry.get_sample_value("tsunagu_linkage_source_to_linkage_seconds_sum") == pytest.approx(3.0)


def test_linkage_observes_a_batch_once_per_record_handled() -> None:
    """A batch's records are observed together (``observe_batch``): one handling time and one source latency for
    each record handled, none for one refused; a source time that cannot be read is no observation."""
    outcome, _ = ingest(HANDED_OVER.timestamp(), CollectorRegistry())
    second, _ = ingest(HANDED_OVER.replace(second=1).timestamp(), CollectorRegistry())
    registry = CollectorRegistry()
    metrics = LinkageMetrics(registry)
    service = LinkageService(LinkageState(), None, metrics, MatchSettings(), "/tsunagu/linkage",
                             clock=FixedClock(HANDED_OVER.replace(second=3)))
    service.handle_records([Incoming(outcome.value, outcome.key, "ingest.records.v1", 0, 0),
                            Incoming(b"not json", None, "ingest.records.v1", 0, 1),
                            Incoming(second.value, second.key, "ingest.records.v1", 0, 2)])
    assert registry.get_sample_value("tsunagu_linkage_processing_duration_seconds_count") == 2
    assert registry.get_sample_value("tsunagu_linkage_source_to_linkage_seconds_count") == 2
    assert registry.get_sample_value("tsunagu_linkage_source_to_linkage_seconds_sum") == pytest.approx(3.0 + 2.0)
    assert registry.get_sample_value("tsunagu_linkage_source_to_linkage_seconds_bucket", {"le": "2.5"}) == 1
    metrics.observe_batch([], ["yesterday", None, "2026-11-01T09:00:00"], HANDED_OVER)  # unreadable, none, naive
    assert registry.get_sample_value("tsunagu_linkage_source_to_linkage_seconds_count") == 2


def test_scoring_reads_the_source_time_and_keeps_it_out_of_the_stored_fact() -> None:
    envelope = {"specversion": "1.0", "id": "ev-1", "source": "/tsunagu/linkage", "type": "linkage.fact.changed",
                "time": "2026-11-01T09:00:00+09:00", "subject": "c-1",
                "data": {"fact_id": "f-1", "child_id": "c-1", "kind": "residence", "relation": "self",
                         "source_system": "resident_registry", "record_id": "e-1", "attributes": {},
                         "source_time": HANDED_OVER.isoformat()}}
    _, fact = decode_fact(json.dumps(envelope).encode(), b"c-1")
    assert fact.source_time == HANDED_OVER.isoformat()
    assert "source_time" not in fact.stored
    registry = CollectorRegistry()
    ScoringMetrics(registry).observe_source({"source_time": fact.source_time}, HANDED_OVER.replace(second=2))
    assert registry.get_sample_value("tsunagu_scoring_source_to_scoring_seconds_sum") == pytest.approx(2.0)


def test_flags_and_alerts_carry_the_source_time_and_stay_backward_compatible() -> None:
    flags = {"child_id": "c-1", "ward_code": "40131", "as_of": "2026-11-01", "rules_version": "r",
             "weights_version": "w", "before": None, "after": {"flags": []}}
    assert ChildFlagsV1.model_validate(flags).source_time is None
    assert ChildFlagsV1.model_validate({**flags, "source_time": "x"}).source_time == "x"
    alert = SimpleNamespace(alert_id="a-1", child_id="c-1", ward_code="40131", raised_at=HANDED_OVER, tier="重点",
                            items=[3], reason="entered_tier")
    data = json.loads(alert_event_json(alert, HANDED_OVER.isoformat()))["data"]  # type: ignore[arg-type]
    assert AlertV1.model_validate(data).source_time == HANDED_OVER.isoformat()
    assert json.loads(alert_event_json(alert))["data"]["source_time"] is None  # type: ignore[arg-type]


def test_casework_observes_naive_and_aware_times_and_ignores_unknown() -> None:
    registry = CollectorRegistry()
    committed = CaseworkMetrics(registry).source_to_alert_committed
    observe_since(committed, HANDED_OVER.isoformat(), HANDED_OVER.replace(second=1))
    observe_since(committed, HANDED_OVER.replace(tzinfo=None), HANDED_OVER.replace(second=1))
    observe_since(committed, None, HANDED_OVER)
    observe_since(committed, "not a time", HANDED_OVER)
    assert registry.get_sample_value("tsunagu_casework_source_to_alert_committed_seconds_count") == 2
    assert registry.get_sample_value("tsunagu_casework_source_to_alert_committed_seconds_sum") == pytest.approx(2.0)
