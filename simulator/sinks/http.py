"""Ingest's HTTP intake: ``POST {base}/v1/sources/{system}/events`` with the envelope as JSON body."""

from __future__ import annotations

import httpx

from simulator.events import SourceEvent
from simulator.sinks.base import SendReport


class HttpSink:
    def __init__(self, base_url: str = "http://127.0.0.1:8001", *, timeout_s: float = 10.0,
                 client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(base_url=base_url, timeout=timeout_s)
        self._report = SendReport()

    def send(self, event: SourceEvent) -> None:
        try:
            response = self._client.post(f"/v1/sources/{event.system}/events", content=event.encode(),
                                         headers={"content-type": "application/json"})
        except httpx.HTTPError as exc:
            self._report.fail(event.topic, type(exc).__name__)
            return
        if response.is_success:
            self._report.sent[event.topic] += 1
        else:
            # the body may echo field values; keep only the status
            self._report.fail(event.topic, f"HTTP {response.status_code}")

    def close(self) -> SendReport:
        self._client.close()
        return self._report
