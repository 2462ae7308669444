"""The one place that builds ingest's settings, stores, metrics and producers."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, disable_created_metrics

from services.ingest.adapters.dedup import SqliteDedupStore
from services.ingest.config import IngestSettings
from services.ingest.metrics import IngestMetrics
from services.ingest.pipeline import Outcome, SourceMessage, process


@dataclass
class IngestContext:
    settings: IngestSettings
    dedup: SqliteDedupStore
    metrics: IngestMetrics

    def handle(self, message: SourceMessage) -> Outcome:
        return process(message, dedup=self.dedup, metrics=self.metrics,
                       max_event_bytes=self.settings.max_event_bytes)


def bootstrap(settings: IngestSettings | None = None, registry: CollectorRegistry = REGISTRY) -> IngestContext:
    settings = settings or IngestSettings()
    logging.getLogger("tsunagu.ingest").setLevel(logging.INFO)
    disable_created_metrics()  # *_created gauges double the series and no dashboard reads them
    dedup = SqliteDedupStore(settings.dedup_path)
    dedup.prune(settings.dedup_retention_days * 86_400.0)
    return IngestContext(settings=settings, dedup=dedup, metrics=IngestMetrics(registry))
