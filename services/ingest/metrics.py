"""Ingest's Prometheus metrics. Labels come only from fixed sets (outcomes, error classes, ways in).

Every refusal on every way in is counted in ``tsunagu_ingest_events_failed_total{reason, intake}``: the
worker counts what it dead-letters (``intake`` from the event's ``tsunagu.intake`` header, else ``kafka``),
the HTTP intake what it refuses, and the worker also counts the school importer's dead letters (the
importer is a short command that no Prometheus scrapes).
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from services.ingest.domain.errors import ERROR_CLASSES, INTAKES

OUTCOMES = ("accepted", "rejected", "duplicate")


def intake_of(headers: list[tuple[str, bytes]] | None) -> str:
    """The way in an event came, from its ``tsunagu.intake`` header (a fixed set; anything else is kafka)."""
    for key, value in headers or ():
        if key == "tsunagu.intake":
            name = value.decode("ascii", "replace")
            return name if name in INTAKES else "kafka"
    return "kafka"


class IngestMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.processed = Counter(
            "tsunagu_ingest_events_processed_total", "Source events processed, by outcome",
            ["outcome"], registry=registry)
        self.failed = Counter(
            "tsunagu_ingest_events_failed_total",
            "Source events refused (dead-lettered or answered 4xx), by error class and way in",
            ["reason", "intake"], registry=registry)
        self.duration = Histogram(
            "tsunagu_ingest_processing_duration_seconds", "Time to validate and normalise one event",
            registry=registry, buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25))
        self.deadletter_publish_failures = Counter(
            "tsunagu_ingest_deadletter_publish_failures_total",
            "Dead letters the broker did not take (the source offset is then not committed)", registry=registry)
        # Every label value exists from the start, so rate() and alerts see zeros rather than gaps;
        # the children are kept because .labels() costs a lock and a lookup on every event.
        self._processed = {outcome: self.processed.labels(outcome=outcome) for outcome in OUTCOMES}
        self._failed = {(error_class, intake): self.failed.labels(reason=error_class, intake=intake)
                        for error_class in ERROR_CLASSES for intake in INTAKES}

    def observe(self, outcome: str, error_class: str | None, seconds: float, intake: str = "kafka") -> None:
        self._processed[outcome].inc()
        if error_class is not None:
            self._count_failure(error_class, intake)
        self.duration.observe(seconds)

    def refused(self, error_class: str, intake: str) -> None:
        """A refusal made outside the worker (HTTP intake, school importer): the event never reaches the worker,
        so it counts as processed (rejected) here, and the failure ratio stays the ratio of all events."""
        self._processed["rejected"].inc()
        self._count_failure(error_class, intake)

    def _count_failure(self, error_class: str, intake: str) -> None:
        # A class outside the fixed set is counted as internal_error, so the labels stay bounded.
        child = self._failed.get((error_class, intake)) or self._failed[("internal_error", intake)]
        child.inc()
