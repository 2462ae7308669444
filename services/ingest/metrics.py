"""Ingest's Prometheus metrics. Labels come only from fixed sets (outcomes, error classes, ways in).

Every refusal on every way in is counted in ``tsunagu_ingest_events_failed_total{reason, intake}``: the
worker counts what it dead-letters (``intake`` from the event's ``tsunagu.intake`` header, else ``kafka``),
the HTTP intake what it refuses, and the worker also counts the school importer's dead letters (the
importer is a short command that no Prometheus scrapes).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from contracts.histograms import observe_each
from contracts.sources import SOURCE_SYSTEMS
from services.ingest.domain.errors import ERROR_CLASSES, INTAKES

OUTCOMES = ("accepted", "rejected", "duplicate")
# Source time → stage, for end-to-end latency: the SLO bound (1 s) is a bucket edge; backfills land in the tail.
E2E_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)


def intake_of(headers: list[tuple[str, bytes]] | None) -> str:
    """The way in an event came, from its ``tsunagu.intake`` header (a fixed set; anything else is kafka)."""
    for key, value in headers or ():
        if key == "tsunagu.intake":
            name = value.decode("ascii", "replace")
            return name if name in INTAKES else "kafka"
    return "kafka"


@dataclass
class BatchTally:
    """What the worker observed in one batch, put into the metrics at once by ``IngestMetrics.add`` — the same
    counts, sums and buckets as ``observe`` / ``observe_source`` / ``observe_rejected`` per event, for one
    counter increment per label and one histogram update per batch instead of a few per event (≈ 4 µs an event)."""

    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    failures: list[tuple[str, str]] = field(default_factory=list)  # (error class, intake) per refusal
    durations: list[float] = field(default_factory=list)  # seconds, one per event
    source_times: dict[str, list[float]] = field(default_factory=dict)  # accepted events' source times per system
    rejected_systems: list[str | None] = field(default_factory=list)

    def observe(self, outcome: str, error_class: str | None, seconds: float, intake: str = "kafka") -> None:
        self.outcomes[outcome] += 1
        if error_class is not None:
            self.failures.append((error_class, intake))
        self.durations.append(seconds)

    def observe_source(self, system: str, source_time: float) -> None:
        times = self.source_times.get(system)
        if times is None:
            times = self.source_times[system] = []
        times.append(source_time)

    def observe_rejected(self, system: str | None) -> None:
        self.rejected_systems.append(system)


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
        # Per source system (a fixed set of 16): end-to-end latency's first stage and freshness.
        self.source_to_ingest = Histogram(
            "tsunagu_ingest_source_to_ingest_seconds",
            "From the source system handing an event over (its Kafka timestamp) to ingest accepting it",
            registry=registry, buckets=E2E_BUCKETS)
        self.source_events = Counter(
            "tsunagu_ingest_source_events_total", "Source events accepted, by source system", ["system"],
            registry=registry)
        self.source_last_event = Gauge(
            "tsunagu_ingest_source_last_event_timestamp_seconds",
            "When the source system handed over its last accepted event (Unix time), by source system", ["system"],
            registry=registry)
        self._source_events = {s: self.source_events.labels(system=s) for s in SOURCE_SYSTEMS}
        self._source_last = {s: self.source_last_event.labels(system=s) for s in SOURCE_SYSTEMS}
        self._last_seen: dict[str, float] = {}
        self.source_deadletters = Counter(
            "tsunagu_ingest_source_deadletters_total", "Source events dead-lettered, by source system", ["system"],
            registry=registry)
        self._source_deadletters = {s: self.source_deadletters.labels(system=s) for s in SOURCE_SYSTEMS}

    def observe(self, outcome: str, error_class: str | None, seconds: float, intake: str = "kafka") -> None:
        self._processed[outcome].inc()
        if error_class is not None:
            self._count_failure(error_class, intake)
        self.duration.observe(seconds)

    def add(self, tally: BatchTally, now: float | None = None) -> None:
        """A batch's observations (``BatchTally``), as if each had been observed on its own at ``now``."""
        for outcome, count in tally.outcomes.items():
            if count:
                self._processed[outcome].inc(count)
        for error_class, intake in tally.failures:
            self._count_failure(error_class, intake)
        observe_each(self.duration, tally.durations)
        now = time.time() if now is None else now
        for system, times in tally.source_times.items():
            events, last = self._source_events.get(system), self._source_last.get(system)
            if events is None or last is None:
                continue  # not a source system: no new label value
            events.inc(len(times))
            newest = max(times)
            if newest > self._last_seen.get(system, 0.0):
                self._last_seen[system] = newest
                last.set(newest)
            observe_each(self.source_to_ingest, [max(0.0, now - t) for t in times])
        for rejected in tally.rejected_systems:
            self.observe_rejected(rejected)

    def observe_rejected(self, system: str | None) -> None:
        counter = self._source_deadletters.get(system or "")
        if counter is not None:
            counter.inc()

    def observe_source(self, system: str, source_time: float, now: float | None = None) -> None:
        """An accepted event of ``system`` that the source handed over at ``source_time`` (Unix seconds)."""
        events, last = self._source_events.get(system), self._source_last.get(system)
        if events is None or last is None:
            return  # not a source system: no new label value
        events.inc()
        if source_time > self._last_seen.get(system, 0.0):  # replays and backfills do not move it backwards
            self._last_seen[system] = source_time
            last.set(source_time)
        self.source_to_ingest.observe(max(0.0, (time.time() if now is None else now) - source_time))

    def refused(self, error_class: str, intake: str) -> None:
        """A refusal made outside the worker (HTTP intake, school importer): the event never reaches the worker,
        so it counts as processed (rejected) here, and the failure ratio stays the ratio of all events."""
        self._processed["rejected"].inc()
        self._count_failure(error_class, intake)

    def _count_failure(self, error_class: str, intake: str) -> None:
        # A class outside the fixed set is counted as internal_error, so the labels stay bounded.
        child = self._failed.get((error_class, intake)) or self._failed[("internal_error", intake)]
        child.inc()
