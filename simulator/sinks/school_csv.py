"""School media (校務系): one CSV per system, event type and delivery day, as school offices hand them over.

File name: ``<system>__<event kind>__<YYYYMMDD>.csv`` (e.g. ``school_affairs__attendance.reported__20250505.csv``).
Columns: the contract's field names in contract order, header row first; booleans 1/0, empty = null.
Encoding ``utf-8`` (with BOM, as spreadsheet software writes it) or ``cp932`` (Shift_JIS as Windows writes
it), CRLF line ends. Characters Shift_JIS cannot hold (𠮷, 﨑 …) are written as their common form, else 〓.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO, Any

from contracts.sources import SOURCE_SYSTEMS
from simulator.events import SourceEvent
from simulator.sinks.base import SendReport

SCHOOL_SYSTEMS = frozenset(name for name, s in SOURCE_SYSTEMS.items() if s.school_media)
FOLD = {"𠮷": "吉", "髙": "高", "﨑": "崎", "邉": "辺", "邊": "辺"}


def columns(system: str, event_type: str) -> list[str]:
    return list(SOURCE_SYSTEMS[system].event_types[event_type].model_fields)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def to_cp932(text: str) -> str:
    try:
        text.encode("cp932")
        return text
    except UnicodeEncodeError:
        out = []
        for ch in text:
            ch = FOLD.get(ch, ch)
            try:
                ch.encode("cp932")
            except UnicodeEncodeError:
                ch = "〓"
            out.append(ch)
        return "".join(out)


class SchoolCsvSink:
    def __init__(self, directory: Path, encoding: str = "utf-8") -> None:
        if encoding not in ("utf-8", "cp932"):
            raise ValueError("encoding must be utf-8 or cp932")
        self.directory = directory
        self.encoding = encoding
        directory.mkdir(parents=True, exist_ok=True)
        self._open: dict[str, tuple[IO[str], Any, list[str]]] = {}
        self._day = ""
        self._report = SendReport()
        self.files: list[Path] = []

    def send(self, event: SourceEvent) -> None:
        if event.system not in SCHOOL_SYSTEMS:
            self._report.fail(event.topic, "not a school system")
            return
        day = event.time.strftime("%Y%m%d")
        if day != self._day:
            self._close_all()
            self._day = day
        name = f"{event.system}__{event.type.split('.', 1)[1]}__{day}.csv"
        entry = self._open.get(name)
        if entry is None:
            path = self.directory / name
            f = path.open("w", encoding="utf-8-sig" if self.encoding == "utf-8" else "cp932", newline="")
            writer = csv.writer(f, lineterminator="\r\n")
            cols = columns(event.system, event.type)
            writer.writerow(cols)
            entry = self._open[name] = (f, writer, cols)
            self.files.append(path)
        _, writer, cols = entry
        row = [cell(event.data.get(c)) for c in cols]
        writer.writerow([to_cp932(v) for v in row] if self.encoding == "cp932" else row)
        self._report.sent[event.topic] += 1

    def _close_all(self) -> None:
        for f, _, _ in self._open.values():
            f.close()
        self._open.clear()

    def close(self) -> SendReport:
        self._close_all()
        return self._report
