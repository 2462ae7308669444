"""Shared helpers for ingest's unit tests: run one source event through the pipeline with fakes."""

from __future__ import annotations

import json
from typing import Any

from prometheus_client import CollectorRegistry

from services.ingest.adapters.dedup import MemoryDedupStore
from services.ingest.entrypoints.examples import topic_of
from services.ingest.metrics import IngestMetrics
from services.ingest.service_layer.handlers import Outcome, SourceMessage, process

MAX_BYTES = 1_048_576


class Harness:
    def __init__(self) -> None:
        self.dedup = MemoryDedupStore()
        self.registry = CollectorRegistry()
        self.metrics = IngestMetrics(self.registry)
        self.offset = 0

    def send(self, event: dict[str, Any] | bytes | None, topic: str | None = None, key: bytes | None = b"k",
             headers: list[tuple[str, bytes]] | None = None) -> Outcome:
        if isinstance(event, dict):
            topic = topic or topic_of(event["type"])
            value: bytes | None = json.dumps(event, ensure_ascii=False).encode()
        else:
            value = event
        assert topic is not None
        self.offset += 1
        return process(SourceMessage(topic, 0, self.offset, key, value, headers or []), dedup=self.dedup,
                       metrics=self.metrics, max_event_bytes=MAX_BYTES)

    def count(self, name: str, **labels: str) -> float:
        return self.registry.get_sample_value(name, labels) or 0.0
