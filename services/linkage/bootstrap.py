"""The one place that builds linkage's settings, clock, store, state, metrics and service, and hands them on."""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from contracts.progress import Progress
from services.linkage.adapters.clock import SystemClock
from services.linkage.adapters.review_topics import KafkaReviewTopics
from services.linkage.adapters.store import SqliteStore
from services.linkage.config import LinkageSettings
from services.linkage.domain.matching import MatchSettings
from services.linkage.domain.state import LinkageState
from services.linkage.metrics import LinkageMetrics
from services.linkage.service_layer.handlers import LinkageService
from services.linkage.service_layer.ports import Clock

log = logging.getLogger("tsunagu.linkage")
# The cyclic collector's generation thresholds for linkage's process (Python's default: 700, 10, 10). Linkage makes
# no cyclic garbage (its state is trees of dicts, lists and slotted objects; temporaries are freed by reference
# counting: benchmarks/linkage_speed counts what the collector finds, 0 objects over 100 k persons), yet at the
# default the collector scanned the young survivors of every 700 allocations again and again: 12–13 % of a registry
# load's CPU at 100 k persons. A young generation of 50 000 cuts that to ≈ 5 % (docs/linkage.md, Speed) and still
# collects any cycle, later; the older generations keep their defaults (a full collection still waits for the
# long-lived objects to grow by a quarter).
GC_THRESHOLDS = (50_000, 20, 10)


def tune_collector() -> None:
    """Linkage's collector thresholds (``GC_THRESHOLDS``), for the worker and the benchmarks that stand for it."""
    gc.set_threshold(*GC_THRESHOLDS)


def match_settings(settings: LinkageSettings) -> MatchSettings:
    return MatchSettings(link_probability=settings.link_probability, new_probability=settings.new_probability,
                         margin_bits=settings.margin_bits)


@dataclass
class Container:
    """What linkage's entrypoints are given. The worker's service loads the whole state from the store, which the
    review CLI must not wait for, so each part is built by the method below when asked for, never before."""

    settings: LinkageSettings
    clock: Clock
    registry: CollectorRegistry | None = None  # where the service's metrics are registered (None: the default)

    def linkage_service(self) -> LinkageService:
        """The worker's use cases over the state loaded from the store (state and outbox in data_dir), attached to it
        (source facts, processed record ids and the dependency index read from it on demand)."""
        state = LinkageState()
        state.source_facts.cache_size = self.settings.fact_cache
        metrics = LinkageMetrics(self.registry)
        store = SqliteStore(self.settings.database_url, cache_kib=self.settings.sqlite_cache_mib * 1024,
                            cache_max_kib=self.settings.sqlite_cache_max_mib * 1024,
                            checkpoint_interval_s=self.settings.sqlite_checkpoint_s,
                            on_checkpoint=metrics.wal_checkpoint_round,
                            write_behind=self.settings.sqlite_write_behind)
        rows = store.load(state)  # persons and what matching needs; source facts and processed ids stay in SQLite
        log.info("linkage state loaded: %d rows, %d persons", rows, len(state.persons))
        gc.collect()
        gc.freeze()  # the loaded registry lives as long as the process: keep full collections from rescanning it
        tune_collector()
        service = LinkageService(state, store, metrics, match_settings(self.settings),
                                 self.settings.source_uri, clock=self.clock)
        service.progress = Progress(self.settings.progress_interval_s, self.settings.progress_after_s)
        return service

    def review_topics(self) -> KafkaReviewTopics:
        """linkage.review.v1 and linkage.decisions.v1, for the review CLI."""
        return KafkaReviewTopics(self.settings.kafka_bootstrap, self.settings.kafka_client_options())


def bootstrap(settings: LinkageSettings | None = None, *, clock: Clock | None = None,
              registry: CollectorRegistry | None = None) -> Container:
    return Container(settings=settings or LinkageSettings(), clock=clock or SystemClock(), registry=registry)
