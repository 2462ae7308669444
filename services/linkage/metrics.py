"""Linkage's Prometheus metrics (base units, bounded labels, never a person or record id)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from contracts.histograms import observe_each

# Source time → stage, for end-to-end latency: the SLO bound (1 s) is a bucket edge; backfills land in the tail.
E2E_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)


class LinkageMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        kw: dict[str, Any] = {"registry": registry} if registry is not None else {}
        self.records_processed = Counter(
            "tsunagu_linkage_records_processed_total", "Records handled, by outcome "
            "(linked, new, review, pending, duplicate, ignored, deadletter)", ["outcome"], **kw)
        self.records_failed = Counter(
            "tsunagu_linkage_records_failed_total", "Records or decisions that could not be handled, by reason",
            ["reason"], **kw)
        self.processing_duration = Histogram(
            "tsunagu_linkage_processing_duration_seconds", "Time to handle one record",
            buckets=(0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0), **kw)
        self.messages_published = Counter(
            "tsunagu_linkage_messages_published_total", "Messages published, by channel", ["channel"], **kw)
        self.decisions_applied = Counter(
            "tsunagu_linkage_decisions_applied_total", "Review decisions, by decision and outcome",
            ["decision", "outcome"], **kw)
        self.deletions = Counter(
            "tsunagu_linkage_deletions_total", "Deletion requests (privacy.deletions.v1), by outcome "
            "(deleted, unknown_child, duplicate)", ["outcome"], **kw)
        self.disclosures = Counter(
            "tsunagu_linkage_disclosures_total", "Disclosure requests (privacy.disclosures.v1) answered, by outcome "
            "(held, not_held, invalid)", ["outcome"], **kw)
        self.retention_purged = Counter(
            "tsunagu_linkage_retention_purged_total", "Source facts removed by the retention purge, by kind",
            ["kind"], **kw)
        self.retention_runs = Counter(
            "tsunagu_linkage_retention_purge_runs_total", "Retention purge runs, by outcome (ok, failed)",
            ["outcome"], **kw)
        self.wal_checkpoints = Counter(
            "tsunagu_linkage_wal_checkpoints_total", "SQLite WAL checkpoints run on the store's own thread, by "
            "outcome (ok, failed)", ["outcome"], **kw)
        self.wal_pages = Gauge(
            "tsunagu_linkage_wal_pages", "Pages in the store's WAL at the last checkpoint round (it starts over when "
            "a batch writes after a round copied every page; growing to the backstop: the checkpoints fall behind)",
            **kw)
        self.persons = Gauge("tsunagu_linkage_persons", "Persons known to linkage", **kw)
        self.open_reviews = Gauge("tsunagu_linkage_open_reviews", "Review cases without a decision", **kw)
        self.source_to_linkage = Histogram(
            "tsunagu_linkage_source_to_linkage_seconds",
            "From the source system handing an event over to linkage having handled its record",
            buckets=E2E_BUCKETS, **kw)

    def wal_checkpoint_round(self, ok: bool, pages: int) -> None:
        """A round of the store's checkpoint thread (``adapters/store.Checkpointer``): its outcome, the WAL's size."""
        self.wal_checkpoints.labels("ok" if ok else "failed").inc()
        if ok:
            self.wal_pages.set(pages)

    def observe_batch(self, durations: Sequence[float], source_times: Iterable[str | None], now: datetime) -> None:
        """A batch handled: each record's handling time, and each source event's time (RFC 3339, if known) against
        ``now`` — one update of each histogram per batch (``observe_each``: ≈ 10 µs a record less than two
        ``observe`` calls, issue 19). An unparsable or naive source time is no observation rather than a wrong one."""
        observe_each(self.processing_duration, durations)
        latencies: list[float] = []
        for source_time in source_times:
            if source_time:
                try:
                    latencies.append(max(0.0, (now - datetime.fromisoformat(source_time)).total_seconds()))
                except (ValueError, TypeError):
                    pass
        observe_each(self.source_to_linkage, latencies)
