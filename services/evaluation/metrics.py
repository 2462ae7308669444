"""Evaluation's Prometheus metrics. Labels come from small fixed sets (topic kind, outcome, reason)."""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram


class EvaluationMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.events_processed = Counter(
            "tsunagu_evaluation_events_processed_total", "Input messages applied to the store, by kind and outcome",
            ["kind", "outcome"], registry=registry)
        self.events_failed = Counter(
            "tsunagu_evaluation_events_failed_total", "Input messages skipped or retried, by kind and reason",
            ["kind", "reason"], registry=registry)
        self.processing_duration = Histogram(
            "tsunagu_evaluation_processing_duration_seconds", "Time to apply one input message",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5), registry=registry)
        self.report_duration = Histogram(
            "tsunagu_evaluation_report_duration_seconds", "Time to build one report, by kind", ["kind"],
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300), registry=registry)
        self.retention_purged = Counter(
            "tsunagu_evaluation_retention_purged_total", "Rows removed by the retention purge, by store (cases, "
            "steps)", ["store"], registry=registry)
        self.retention_runs = Counter(
            "tsunagu_evaluation_retention_purge_runs_total", "Retention purge runs, by outcome (ok, failed)",
            ["outcome"], registry=registry)
        self.scheduled_reports = Counter(
            "tsunagu_evaluation_scheduled_reports_total",
            "Reports the worker produced on its schedule, by kind (weekly, period) and outcome "
            "(published, written: files only, failed: retried later, too_large: written, never published)",
            ["kind", "outcome"], registry=registry)
        self.scheduled_report_last_success = Gauge(
            "tsunagu_evaluation_scheduled_report_last_success_timestamp_seconds",
            "When a scheduled report of this kind was last produced (Unix time)", ["kind"], registry=registry)
