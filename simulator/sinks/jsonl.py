"""JSON Lines: one ``{"topic", "key", "value"}`` object per line, the value being the CloudEvents envelope."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO

import orjson

from simulator.events import SourceEvent
from simulator.sinks.base import SendReport


def jsonl_line(event: SourceEvent) -> bytes:
    return b'{"topic":"%s","key":%s,"value":%s}' % (event.topic.encode(), orjson.dumps(event.key), event.encode())


class JsonlSink:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[bytes] = path.open("wb")
        self._report = SendReport()

    def send(self, event: SourceEvent) -> None:
        self._file.write(jsonl_line(event) + b"\n")
        self._report.sent[event.topic] += 1

    def close(self) -> SendReport:
        self._file.close()
        return self._report


def read_jsonl(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
