"""The one place that builds ingest's settings, clock, stores, metrics and Kafka clients, and hands them on."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from prometheus_client import REGISTRY, CollectorRegistry, disable_created_metrics

from services.ingest.adapters.clock import SystemClock
from services.ingest.adapters.deadletter_reader import KafkaDeadLetters, read_dead_letters
from services.ingest.adapters.dedup import SqliteDedupStore
from services.ingest.adapters.import_ledger import ImportLedger
from services.ingest.adapters.kafka import KafkaPublisher
from services.ingest.adapters.kafka_batch import KafkaBatchPublisher
from services.ingest.config import IngestSettings
from services.ingest.metrics import IngestMetrics
from services.ingest.service_layer.handlers import IngestHandler
from services.ingest.service_layer.ports import Clock
from services.ingest.service_layer.replay import DeadLetter


class _Closeable(Protocol):
    def close(self) -> None: ...


_C = TypeVar("_C", bound=_Closeable)


@dataclass
class Container:
    """What ingest's entrypoints are given. Each process needs other stores and clients (the worker its dedup
    store, the HTTP intake a publisher and its id store, the importer a batch publisher and a ledger), so they are
    built by the methods below when asked for, never before; ``close`` closes every one that was built."""

    settings: IngestSettings
    clock: Clock
    registry: CollectorRegistry = REGISTRY  # where the worker's metrics are registered (and served)
    _opened: list[_Closeable] = field(default_factory=list, repr=False)

    def ingest_handler(self) -> IngestHandler:
        """The worker's use case, over the dedup store in data_dir (ids older than the retention forgotten)."""
        dedup = self._opened_here(SqliteDedupStore(self.settings.dedup_path))
        dedup.prune(self.settings.dedup_retention_days * 86_400.0)
        return IngestHandler(dedup=dedup, metrics=IngestMetrics(self.registry),
                             max_event_bytes=self.settings.max_event_bytes, clock=self.clock)

    def publisher(self, purpose: str, *, linger_ms: int = 5) -> KafkaPublisher:
        """A kafka-python producer, client id ``<app_id>-<purpose>`` (the HTTP intake, the replay)."""
        s = self.settings
        return self._opened_here(KafkaPublisher(s.kafka_bootstrap, client_id=f"{s.app_id}-{purpose}",
                                                max_request_bytes=s.producer_max_request_bytes, linger_ms=linger_ms,
                                                security=s.kafka_client_options()))

    def batch_publisher(self, purpose: str) -> KafkaBatchPublisher:
        """The bulk publisher of file imports, client id ``<app_id>-<purpose>``."""
        s = self.settings
        return self._opened_here(KafkaBatchPublisher(s.kafka_bootstrap, client_id=f"{s.app_id}-{purpose}",
                                                     max_request_bytes=s.producer_max_request_bytes,
                                                     security=s.kafka_client_options()))

    def import_ledger(self) -> ImportLedger:
        return self._opened_here(ImportLedger(self.settings.data_dir / "school-import-ledger.sqlite3"))

    def replay_ledger(self) -> ImportLedger:
        return self._opened_here(ImportLedger(self.settings.data_dir / "replay-ledger.sqlite3"))

    def http_ids(self) -> SqliteDedupStore:
        """The event ids the HTTP intake accepted, with their digests (409 for a re-used id)."""
        s = self.settings
        return self._opened_here(SqliteDedupStore(s.data_dir / f"http-ids-{s.app_id}.sqlite3", flush_every=1))

    def vendor_dead_letters(self) -> KafkaDeadLetters:
        """Where GET /v1/sources/{system}/deadletters reads."""
        return KafkaDeadLetters(self.settings.kafka_bootstrap, self.settings.kafka_client_options())

    def dead_letters_to_replay(self, from_offset: int | None) -> Iterator[DeadLetter]:
        return read_dead_letters(self.settings.kafka_bootstrap, from_offset, self.settings.kafka_client_options())

    def close(self) -> None:
        while self._opened:
            self._opened.pop().close()

    def _opened_here(self, thing: _C) -> _C:
        self._opened.append(thing)
        return thing


def bootstrap(settings: IngestSettings | None = None, *, clock: Clock | None = None,
              registry: CollectorRegistry = REGISTRY) -> Container:
    settings = settings or IngestSettings()
    logging.getLogger("tsunagu.ingest").setLevel(logging.INFO)
    disable_created_metrics()  # *_created gauges double the series and no dashboard reads them
    return Container(settings=settings, clock=clock or SystemClock(), registry=registry)
