"""The school-media import use case: one CSV/TSV file → source events, rejects reported by row and reason."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from contracts.envelope import envelope_dict
from contracts.sources import SOURCE_SYSTEMS
from contracts.topics import ingest_deadletter
from contracts.topics.ingest_deadletter import DeadLetterHeaders
from services.ingest.domain import school_csv
from services.ingest.domain.errors import IngestRejected
from services.ingest.domain.intake import validate_envelope
from services.ingest.domain.records import record_key, record_payload
from services.ingest.service_layer.ports import Ledger, Publisher, SchoolFile, delivered

CSV_SERVICE = "ingest-csv"  # tsunagu.dlq.service of the importer's dead letters (the worker counts them)
Progress = Callable[[Iterable[tuple[int, list[str]]]], Iterable[tuple[int, list[str]]]]


@dataclass
class ImportReport:
    file: Path
    encoding: str
    kind: str
    published: int = 0
    already_imported: int = 0
    repeated_in_file: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    publish_failures: int = 0
    rejects_file: Path | None = None
    dead_lettered: int = 0

    @property
    def ok(self) -> bool:
        return self.publish_failures == 0


def _no_progress(rows: Iterable[tuple[int, list[str]]]) -> Iterable[tuple[int, list[str]]]:
    return rows


def import_school_file(csv_file: SchoolFile, *, publisher: Publisher, ledger: Ledger, now: Callable[[], datetime],
                       rejects_path: Path, max_event_bytes: int, progress: Progress = _no_progress,
                       kind: str | None = None) -> ImportReport:
    kind = kind or school_csv.detect_kind(csv_file.header)
    run = _Run(csv_file, kind, school_csv.column_fields(kind, csv_file.header), publisher, ledger,
               now().isoformat(), max_event_bytes)
    chunk: list[tuple[int, list[str]]] = []
    for row in progress(csv_file.rows()):
        chunk.append(row)
        if len(chunk) == CHUNK_ROWS:
            run.import_chunk(chunk)
            chunk = []
    run.import_chunk(chunk)
    publisher.flush()
    published = [event_id for event_id, future in run.pending if delivered(future)]
    report = run.report
    report.publish_failures = len(run.pending) - len(published)
    report.published = len(published)
    ledger.record([*run.newly_rejected, *((event_id, "published") for event_id in published)])
    if run.rejects:
        csv_file.write_rejects(rejects_path, sorted(run.rejects, key=lambda r: r[0]))
        report.rejects_file = rejects_path
    return report


CHUNK_ROWS = 2_000  # rows looked up in the ledger with one query


@dataclass
class _Run:
    csv_file: SchoolFile
    kind: str
    fields: list[str | None]
    publisher: Publisher
    ledger: Ledger
    time: str  # one import, one time: the rows were all exported together
    max_event_bytes: int
    report: ImportReport = field(init=False)
    rejects: list[tuple[int, str, str, list[str]]] = field(default_factory=list)
    pending: list[tuple[str, Any]] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    newly_rejected: list[tuple[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.report = ImportReport(file=self.csv_file.path, encoding=self.csv_file.encoding, kind=self.kind)
        self.system = school_csv.KIND_SYSTEM[self.kind]
        self.source = SOURCE_SYSTEMS[self.system]
        self.file_header = ("tsunagu.csv.file", self.csv_file.path.name.encode())

    def import_chunk(self, rows: list[tuple[int, list[str]]]) -> None:
        parsed: list[tuple[int, list[str], str, dict[str, Any], str]] = []
        for line, cells in rows:
            try:
                event_type, payload = school_csv.row_payload(self.kind, self.fields, cells)
            except IngestRejected as exc:
                self.reject(line, cells, exc, None, None)
                continue
            event_id = school_csv.row_event_id(self.system, event_type, payload)
            if event_id in self.seen:
                self.report.repeated_in_file += 1
                continue
            self.seen.add(event_id)
            parsed.append((line, cells, event_type, payload, event_id))
        known = self.ledger.outcomes([p[4] for p in parsed])
        for line, cells, event_type, payload, event_id in parsed:
            if known.get(event_id) == "published":
                self.report.already_imported += 1
                continue
            envelope = envelope_dict(data=payload, type_=event_type, source=f"/fukuoka/{self.system}/media",
                                     subject=None, event_id=event_id, time=self.time)
            envelope_bytes = orjson.dumps(envelope)
            try:
                if len(envelope_bytes) > self.max_event_bytes:
                    raise IngestRejected("too_large", f"row is {len(envelope_bytes)} bytes as an event; "
                                         f"the limit is {self.max_event_bytes}")
                # The worker's own validation, on the dict we built (no print-and-parse round trip).
                key = record_key(record_payload(self.system, validate_envelope(self.source, envelope)))
            except IngestRejected as exc:
                self.reject(line, cells, exc, event_id, envelope_bytes, known.get(event_id))
                continue
            headers = [("tsunagu.intake", b"csv"), self.file_header, ("tsunagu.csv.line", str(line).encode())]
            self.pending.append((event_id, self.publisher.publish(self.source.topic, key.encode(), envelope_bytes,
                                                                  headers)))

    def reject(self, line: int, cells: list[str], exc: IngestRejected, event_id: str | None,
               envelope_bytes: bytes | None, known: str | None = None) -> None:
        reason = _in_column_names(self.kind, exc.reason)
        self.rejects.append((line, exc.error_class, reason, cells))
        self.report.rejected[exc.error_class] += 1
        row_id = event_id or school_csv.row_event_id(self.kind, "unreadable", {"cells": "\x1f".join(cells)})
        if event_id is None:
            known = self.ledger.outcome(row_id)
        if known is None:  # tell the dead-letter topic once, not on every re-import
            _dead_letter(self.publisher, self.csv_file, self.kind, line, cells, envelope_bytes, row_id, self.system,
                         exc.error_class, reason)
            self.newly_rejected.append((row_id, "rejected"))
            self.report.dead_lettered += 1


def _in_column_names(kind: str, reason: str) -> str:
    # data.birth_date → 生年月日 (birth_date): the school knows its columns, not our field names.
    return re.sub(r"data\.([a-z_]+)", lambda m: f"{school_csv.japanese_column(kind, m.group(1))} ({m.group(1)})",
                  reason)


def _dead_letter(publisher: Publisher, csv_file: SchoolFile, kind: str, line: int, cells: list[str],
                 envelope_bytes: bytes | None, row_id: str, system: str, error_class: str, reason: str) -> None:
    # The event as built when the row got that far (replayable after a fix), else the row by column.
    value = envelope_bytes or json.dumps({"csv_file": csv_file.path.name, "line": line,
                                          "cells": dict(zip(csv_file.header, cells, strict=False))},
                                         ensure_ascii=False).encode("utf-8")
    headers = DeadLetterHeaders(reason=reason, error_class=error_class, topic=SOURCE_SYSTEMS[system].topic,
                                partition=-1, offset=line, event_id=row_id, system=system,
                                service=CSV_SERVICE).to_kafka()
    publisher.publish(ingest_deadletter.TOPIC.name, None, value,
                      [("tsunagu.intake", b"csv"), ("tsunagu.csv.file", csv_file.path.name.encode()), *headers])

