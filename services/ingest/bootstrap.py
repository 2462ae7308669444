"""The one place that builds ingest's settings, stores, metrics and producers."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import REGISTRY, CollectorRegistry, disable_created_metrics

from services.ingest.adapters.dedup import SqliteDedupStore
from services.ingest.config import IngestSettings
from services.ingest.domain.freshness import ActivityTracker
from services.ingest.metrics import IngestMetrics
from services.ingest.service_layer.handlers import Accepted, Duplicate, Outcome, SourceMessage, process
from services.ingest.service_layer.source_status import status_messages


@dataclass
class IngestContext:
    settings: IngestSettings
    dedup: SqliteDedupStore
    metrics: IngestMetrics
    clock: Callable[[], float] = time.time
    activity: ActivityTracker = field(default_factory=lambda: ActivityTracker(time.time()))

    def handle(self, message: SourceMessage) -> Outcome:
        outcome = process(message, dedup=self.dedup, metrics=self.metrics,
                          max_event_bytes=self.settings.max_event_bytes)
        if isinstance(outcome, Accepted | Duplicate) and outcome.system:  # the source was heard from
            self.activity.record(outcome.system, outcome.source_time, self.clock(),
                                 new_event=isinstance(outcome, Accepted))
        return outcome

    def source_status(self) -> list[tuple[bytes, bytes]]:
        """Freshness per source system heard from, as (key, value) for ingest.source_status.v1."""
        return status_messages(self.activity, self.clock())


def bootstrap(settings: IngestSettings | None = None, registry: CollectorRegistry = REGISTRY) -> IngestContext:
    settings = settings or IngestSettings()
    logging.getLogger("tsunagu.ingest").setLevel(logging.INFO)
    disable_created_metrics()  # *_created gauges double the series and no dashboard reads them
    dedup = SqliteDedupStore(settings.dedup_path)
    dedup.prune(settings.dedup_retention_days * 86_400.0)
    return IngestContext(settings=settings, dedup=dedup, metrics=IngestMetrics(registry))
