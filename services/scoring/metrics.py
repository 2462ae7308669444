"""Scoring's Prometheus metrics. Labels come from small fixed sets: outcomes, reasons, item numbers."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

# Source time → stage, for end-to-end latency: the SLO bound (1 s) is a bucket edge; backfills land in the tail.
E2E_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0)


class ScoringMetrics:
    def __init__(self, registry: CollectorRegistry = REGISTRY) -> None:
        self.facts_processed = Counter(
            "tsunagu_scoring_facts_processed_total", "Fact messages handled, by outcome",
            ["outcome"], registry=registry)
        self.facts_failed = Counter(
            "tsunagu_scoring_facts_failed_total", "Fact messages skipped as unusable, by reason",
            ["reason"], registry=registry)
        self.processing_duration = Histogram(
            "tsunagu_scoring_processing_duration_seconds", "Time to handle one fact message",
            buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5), registry=registry)
        self.flags_raised = Counter(
            "tsunagu_scoring_flags_raised_total", "Flags raised on a child, by guideline item", ["item"],
            registry=registry)
        self.flags_cleared = Counter(
            "tsunagu_scoring_flags_cleared_total", "Flags cleared on a child, by guideline item", ["item"],
            registry=registry)
        self.messages_published = Counter(
            "tsunagu_scoring_messages_published_total", "scoring.flags.v1 messages sent, by trigger",
            ["trigger"], registry=registry)
        self.sweep_duration = Histogram(
            "tsunagu_scoring_sweep_duration_seconds", "Time of one clock re-evaluation over local children",
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120), registry=registry)
        self.deletions = Counter(
            "tsunagu_scoring_deletions_total", "Children forgotten on a deletion request, by way in (request, fact) "
            "and outcome (deleted, not_held)", ["via", "outcome"], registry=registry)
        self.opt_outs = Counter(
            "tsunagu_scoring_opt_outs_total", "privacy.optouts.v1 messages (利用停止), by outcome (opted_out, "
            "withdrawn, stale, tombstone_forgotten, tombstone_kept, tombstone_not_held)", ["outcome"],
            registry=registry)
        self.disclosures = Counter(
            "tsunagu_scoring_disclosures_total", "privacy.disclosures.v1 requests (開示) answered, by outcome (held, "
            "not_held, invalid)", ["outcome"], registry=registry)
        self.rule_file_checks = Counter(
            "tsunagu_scoring_rule_file_checks_total", "Start-up comparisons of the rule file with HQ's adoption "
            "record, by outcome (adopted, not_adopted, changed, versions_differ, record_unreadable)", ["outcome"],
            registry=registry)
        self.rule_file_adopted = Gauge(
            "tsunagu_scoring_rule_file_adopted", "1 when the rule file this worker runs is the one HQ adopted, "
            "0 when it runs an unadopted one (development only: production refuses to start)", registry=registry)
        self.restore_duration = Histogram(
            "tsunagu_scoring_state_restore_seconds", "Time to load the state of newly assigned partitions from the "
            "changelog (at start and after each rebalance; nothing is scored meanwhile)",
            buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600), registry=registry)
        self.children = Gauge(
            "tsunagu_scoring_children", "Children held in this instance's state", registry=registry)
        self.backlog_waiting = Gauge(
            "tsunagu_scoring_backlog_waiting_children", "Children whose assessment waits for a backlog to be through "
            "(CATCH_UP_AFTER_S)", registry=registry)
        self.backlog_upstream_unread = Gauge(
            "tsunagu_scoring_backlog_upstream_unread_records", "Source events not through linkage yet, as linkage's "
            "progress reports of a backlog say (summed over its instances heard from within CATCH_UP_MAX_HOLD_S; 0 "
            "when none reports). While it falls, held children wait past CATCH_UP_MAX_HOLD_S (up to "
            "CATCH_UP_DRAIN_HOLD_S)",
            registry=registry)
        self.backlog_released = Counter(
            "tsunagu_scoring_backlog_released_total", "Children whose held assessment was evaluated and published "
            "when changed, by how: through (the backlog quiet and read) or held_too_long (CATCH_UP_MAX_HOLD_S: on a "
            "history as partial as the backlog)", ["how"], registry=registry)
        for how in ("through", "held_too_long"):
            self.backlog_released.labels(how=how)
        self.source_to_scoring = Histogram(
            "tsunagu_scoring_source_to_scoring_seconds",
            "From the source system handing an event over to scoring sending the flags change it caused",
            buckets=E2E_BUCKETS, registry=registry)
        for item in range(1, 20):
            self.flags_raised.labels(item=str(item))
            self.flags_cleared.labels(item=str(item))

    def count_changes(self, raised: list[int], cleared: list[int]) -> None:
        for item in raised:
            self.flags_raised.labels(item=str(item)).inc()
        for item in cleared:
            self.flags_cleared.labels(item=str(item)).inc()

    def observe_source(self, data: dict[str, object], now: datetime | None = None) -> None:
        """A flags change sent; ``data`` is its ChildFlagsV1 JSON (``source_time`` absent when the clock caused it)."""
        source_time = data.get("source_time")
        if not isinstance(source_time, str):
            return
        try:
            seconds = ((now or datetime.now(UTC)) - datetime.fromisoformat(source_time)).total_seconds()
        except (ValueError, TypeError):  # unparsable or naive: no observation rather than a wrong one
            return
        self.source_to_scoring.observe(max(0.0, seconds))
