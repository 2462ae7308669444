"""Casework's Prometheus metrics. Labels come from small fixed sets; never a child, person or user id.

One ``CaseworkMetrics`` per registry, built by bootstrap and handed down on the container (the worker, the web, the
audit trail through the session: service_layer/audit_log.py). ``process_metrics()`` is the process's instance on
the default registry, which the metrics port and the web's ``/metrics`` expose.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from contracts.vocabulary import WARD_CODES

# Source time → stage, for end-to-end latency: the SLO bound (1 s) is a bucket edge; backfills land in the tail.
E2E_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)
WARD_LABELS = frozenset(WARD_CODES)


class CaseworkMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.flags_processed = Counter(
            "tsunagu_casework_flags_processed_total", "Flag and profile messages applied, by outcome", ["outcome"],
            registry=registry)
        self.flags_failed = Counter(
            "tsunagu_casework_flags_failed_total", "Input messages skipped as invalid or failed, by reason",
            ["reason"], registry=registry)
        self.processing_duration = Histogram(
            "tsunagu_casework_processing_duration_seconds", "Time to apply one input message",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5), registry=registry)
        self.alerts_raised = Counter(
            "tsunagu_casework_alerts_raised_total", "Alerts raised, by ward", ["ward"], registry=registry)
        self.outbox_published = Counter(
            "tsunagu_casework_outbox_published_total", "Events published from the outbox, by topic", ["topic"],
            registry=registry)
        self.outbox_pending = Gauge(
            "tsunagu_casework_outbox_pending", "Outbox events waiting to be published", registry=registry)
        self.http_requests = Counter(
            "tsunagu_casework_http_requests_total", "Web requests, by route group and status class",
            ["route", "status"], registry=registry)
        self.http_duration = Histogram(
            "tsunagu_casework_http_request_duration_seconds", "Web request duration", ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5), registry=registry)
        self.access_denied = Counter(
            "tsunagu_casework_access_denied_total", "Requests refused by access control", ["reason"],
            registry=registry)
        self.logins = Counter(
            "tsunagu_casework_logins_total", "Login attempts, by outcome", ["outcome"], registry=registry)
        self.sse_clients = Gauge("tsunagu_casework_sse_clients", "Open live-inbox connections", registry=registry)
        self.audit_entries = Counter(
            "tsunagu_casework_audit_entries_total", "Audit entries written, by action", ["action"],
            registry=registry)
        self.source_to_alert_committed = Histogram(
            "tsunagu_casework_source_to_alert_committed_seconds",
            "From the source system handing an event over to the alert it caused being committed (in the inbox)",
            buckets=E2E_BUCKETS, registry=registry)
        self.alert_to_sse_sent = Histogram(
            "tsunagu_casework_alert_to_sse_sent_seconds",
            "From an alert being raised to the live inbox sending it to an open browser", buckets=E2E_BUCKETS,
            registry=registry)
        # 区が未確定の対象者: flagged children whose listing waits for a ward (in no inbox). Set by the worker from
        # the case database every held_gauge_interval_s (service_layer/held_listings.py); 0 in the web process.
        self.listings_held = Gauge(
            "tsunagu_casework_listings_held", "Children whose listing is held because no ward is known",
            registry=registry)
        self.listing_held_oldest_seconds = Gauge(
            "tsunagu_casework_listing_held_oldest_seconds", "Age of the oldest held listing (0 when none)",
            registry=registry)

        # Retention (service_layer/retention.py): rows removed per store, purge runs, the last successful run.
        self.retention_purged = Counter(
            "tsunagu_casework_retention_purged_total", "Rows removed by the retention purge, by store "
            "(alerts, case_steps, review_cases, outbox)", ["store"], registry=registry)
        self.retention_runs = Counter(
            "tsunagu_casework_retention_purge_runs_total", "Retention purge runs, by outcome (ok, failed)",
            ["outcome"], registry=registry)
        self.retention_last_run = Gauge(
            "tsunagu_casework_retention_last_purge_timestamp_seconds", "When the last retention purge finished "
            "(Unix time; 0 before the first)", registry=registry)

    def alert_raised(self, ward_code: str | None) -> None:
        self.alerts_raised.labels(ward=ward_label(ward_code)).inc()


@functools.cache
def process_metrics() -> CaseworkMetrics:
    """The process's metrics on the default registry: one instance however often bootstrap runs (the CLIs and the
    tests build several containers in one process)."""
    return CaseworkMetrics(REGISTRY)


def ward_label(ward_code: str | None) -> str:
    return ward_code if ward_code in WARD_LABELS else "other"


def observe_since(histogram: Histogram, then: datetime | str | None, now: datetime) -> None:
    """Seconds from ``then`` (aware, or naive UTC as SQLite returns it; RFC 3339 text) to ``now``; none if unknown."""
    if then is None:
        return
    try:
        start = datetime.fromisoformat(then) if isinstance(then, str) else then
        start = start if start.tzinfo else start.replace(tzinfo=UTC)
        histogram.observe(max(0.0, (now - start).total_seconds()))
    except (ValueError, TypeError):
        return
