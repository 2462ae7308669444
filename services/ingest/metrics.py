"""Ingest's Prometheus metrics. Labels come only from fixed sets (outcomes, error classes)."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from services.ingest.domain.errors import ERROR_CLASSES

OUTCOMES = ("accepted", "rejected", "duplicate")


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.processed = Counter(
            "tsunagu_ingest_events_processed_total", "Source events processed, by outcome",
            ["outcome"], registry=registry)
        self.failed = Counter(
            "tsunagu_ingest_events_failed_total", "Source events dead-lettered, by error class",
            ["reason"], registry=registry)
        self.duration = Histogram(
            "tsunagu_ingest_processing_duration_seconds", "Time to validate and normalise one event",
            registry=registry, buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25))
        self.deadletter_publish_failures = Counter(
            "tsunagu_ingest_deadletter_publish_failures_total",
            "Dead letters the broker did not take (the source offset is then not committed)", registry=registry)
        # Every label value exists from the start, so rate() and alerts see zeros rather than gaps;
        # the children are kept because .labels() costs a lock and a lookup on every event.
        self._processed = {outcome: self.processed.labels(outcome=outcome) for outcome in OUTCOMES}
        self._failed = {error_class: self.failed.labels(reason=error_class) for error_class in ERROR_CLASSES}

    def observe(self, outcome: str, error_class: str | None, seconds: float) -> None:
        self._processed[outcome].inc()
        if error_class is not None:
            self._failed[error_class].inc()
        self.duration.observe(seconds)
