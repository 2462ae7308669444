"""Linkage's Prometheus metrics (base units, bounded labels, never a person or record id)."""

from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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
        self.persons = Gauge("tsunagu_linkage_persons", "Persons known to linkage", **kw)
        self.open_reviews = Gauge("tsunagu_linkage_open_reviews", "Review cases without a decision", **kw)
