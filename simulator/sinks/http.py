"""Ingest's HTTP intake: ``POST {base}/v1/sources/{system}/events`` with the envelope as JSON body.

Each system has its own bearer token (docs/vendor-guide.md); without a token file the development
convention ``dev-<system>`` is used, which ingest accepts only outside production.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from simulator.events import SourceEvent
from simulator.sinks.base import SendReport


class HttpSink:
    def __init__(self, base_url: str = "http://127.0.0.1:8001", *, tokens: dict[str, str] | None = None,
                 timeout_s: float = 10.0, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(base_url=base_url, timeout=timeout_s)
        self._tokens = tokens or {}
        self._report = SendReport()

    def send(self, event: SourceEvent) -> None:
        try:
            token = self._tokens.get(event.system, f"dev-{event.system}")
            response = self._client.post(f"/v1/sources/{event.system}/events", content=event.encode(),
                                         headers={"content-type": "application/json",
                                                  "authorization": f"Bearer {token}"})
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


def load_tokens(path: Path | None) -> dict[str, str]:
    """``{system: token}`` from a JSON file (the same shape ingest's ``http_tokens_file`` reads)."""
    return {str(k): str(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()} if path else {}
