"""Casework's Prometheus metrics. Labels come from small fixed sets; never a child, person or user id."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

FLAGS_PROCESSED = Counter(
    "tsunagu_casework_flags_processed_total", "Flag and profile messages applied, by outcome", ["outcome"])
FLAGS_FAILED = Counter(
    "tsunagu_casework_flags_failed_total", "Input messages skipped as invalid or failed, by reason", ["reason"])
PROCESSING_SECONDS = Histogram(
    "tsunagu_casework_processing_duration_seconds", "Time to apply one input message",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
ALERTS_RAISED = Counter("tsunagu_casework_alerts_raised_total", "Alerts raised, by ward", ["ward"])
OUTBOX_PUBLISHED = Counter(
    "tsunagu_casework_outbox_published_total", "Events published from the outbox, by topic", ["topic"])
OUTBOX_PENDING = Gauge("tsunagu_casework_outbox_pending", "Outbox events waiting to be published")
HTTP_REQUESTS = Counter(
    "tsunagu_casework_http_requests_total", "Web requests, by route group and status class", ["route", "status"])
HTTP_SECONDS = Histogram(
    "tsunagu_casework_http_request_duration_seconds", "Web request duration", ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5))
ACCESS_DENIED = Counter("tsunagu_casework_access_denied_total", "Requests refused by access control", ["reason"])
LOGINS = Counter("tsunagu_casework_logins_total", "Login attempts, by outcome", ["outcome"])
SSE_CLIENTS = Gauge("tsunagu_casework_sse_clients", "Open live-inbox connections")
AUDIT_ENTRIES = Counter("tsunagu_casework_audit_entries_total", "Audit entries written, by action", ["action"])

WARD_LABELS = frozenset({"40131", "40132", "40133", "40134", "40135", "40136", "40137"})


def ward_label(ward_code: str | None) -> str:
    return ward_code if ward_code in WARD_LABELS else "other"
