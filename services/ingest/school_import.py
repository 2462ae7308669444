"""The school-media import use case: one CSV/TSV file → source events, rejects reported by row and reason."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from contracts.sources import SOURCE_SYSTEMS
from contracts.topics import ingest_deadletter
from contracts.topics.ingest_deadletter import DeadLetterHeaders
from services.ingest.adapters.csv_files import CsvFile, write_rejects
from services.ingest.adapters.import_ledger import ImportLedger
from services.ingest.adapters.kafka import Publisher, delivered
from services.ingest.domain import school_csv
from services.ingest.domain.errors import IngestRejected
from services.ingest.domain.intake import decode_event
from services.ingest.domain.records import record_key, record_payload

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


def import_school_file(csv_file: CsvFile, *, publisher: Publisher, ledger: ImportLedger, now: Callable[[], datetime],
                       rejects_path: Path, max_event_bytes: int, progress: Progress = _no_progress,
                       kind: str | None = None) -> ImportReport:
    kind = kind or school_csv.detect_kind(csv_file.header)
    fields = school_csv.column_fields(kind, csv_file.header)
    report = ImportReport(file=csv_file.path, encoding=csv_file.encoding, kind=kind)
    rejects: list[tuple[int, str, str, list[str]]] = []
    pending: list[tuple[str, Any]] = []
    seen: set[str] = set()
    newly_rejected: list[tuple[str, str]] = []
    for line, cells in progress(csv_file.rows()):
        event_id: str | None = None
        envelope_bytes: bytes | None = None
        system = school_csv.KIND_SYSTEM[kind]
        try:
            event_type, payload = school_csv.row_payload(kind, fields, cells)
            event_id = school_csv.row_event_id(system, event_type, payload)
            if event_id in seen:
                report.repeated_in_file += 1
                continue
            seen.add(event_id)
            if ledger.outcome(event_id) == "published":
                report.already_imported += 1
                continue
            envelope = {"specversion": "1.0", "id": event_id, "source": f"/fukuoka/{system}/media",
                        "type": event_type, "time": now().isoformat(), "datacontenttype": "application/json",
                        "schemaversion": 1, "data": payload}
            envelope_bytes = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
            source = SOURCE_SYSTEMS[system]
            key = record_key(record_payload(system, decode_event(source, envelope_bytes, max_event_bytes)))
            headers = [("tsunagu.intake", b"csv"), ("tsunagu.csv.file", csv_file.path.name.encode()),
                       ("tsunagu.csv.line", str(line).encode())]
            pending.append((event_id, publisher.publish(source.topic, key.encode(), envelope_bytes, headers)))
        except IngestRejected as exc:
            reason = _in_column_names(kind, exc.reason)
            rejects.append((line, exc.error_class, reason, cells))
            report.rejected[exc.error_class] += 1
            row_id = event_id or school_csv.row_event_id(kind, "unreadable", {"cells": "\x1f".join(cells)})
            if ledger.outcome(row_id) is None:  # tell the dead-letter topic once, not on every re-import
                _dead_letter(publisher, csv_file, kind, line, cells, envelope_bytes, row_id, system,
                             exc.error_class, reason)
                newly_rejected.append((row_id, "rejected"))
                report.dead_lettered += 1
    publisher.flush()
    published = [event_id for event_id, future in pending if delivered(future)]
    report.publish_failures = len(pending) - len(published)
    report.published = len(published)
    ledger.record([*newly_rejected, *((event_id, "published") for event_id in published)])
    if rejects:
        write_rejects(rejects_path, csv_file.header, rejects)
        report.rejects_file = rejects_path
    return report


def _in_column_names(kind: str, reason: str) -> str:
    # data.birth_date → 生年月日 (birth_date): the school knows its columns, not our field names.
    return re.sub(r"data\.([a-z_]+)", lambda m: f"{school_csv.japanese_column(kind, m.group(1))} ({m.group(1)})",
                  reason)


def _dead_letter(publisher: Publisher, csv_file: CsvFile, kind: str, line: int, cells: list[str],
                 envelope_bytes: bytes | None, row_id: str, system: str, error_class: str, reason: str) -> None:
    # The event as built when the row got that far (replayable after a fix), else the row by column.
    value = envelope_bytes or json.dumps({"csv_file": csv_file.path.name, "line": line,
                                          "cells": dict(zip(csv_file.header, cells, strict=False))},
                                         ensure_ascii=False).encode("utf-8")
    headers = DeadLetterHeaders(reason=reason, error_class=error_class, topic=SOURCE_SYSTEMS[system].topic,
                                partition=-1, offset=line, event_id=row_id, system=system).to_kafka()
    publisher.publish(ingest_deadletter.TOPIC.name, None, value,
                      [("tsunagu.intake", b"csv"), ("tsunagu.csv.file", csv_file.path.name.encode()), *headers])


def summary_lines(report: ImportReport) -> Iterator[str]:
    yield f"file: {report.file} ({report.encoding}, {report.kind})"
    yield f"accepted and published: {report.published}"
    yield f"already imported earlier (not sent again): {report.already_imported}"
    if report.repeated_in_file:
        yield f"identical rows repeated within the file (sent once): {report.repeated_in_file}"
    total = sum(report.rejected.values())
    yield f"rejected: {total}" + "".join(f"\n  {cls}: {n}" for cls, n in sorted(report.rejected.items()))
    if report.rejects_file:
        yield f"rejected rows, with line number and reason: {report.rejects_file}"
        yield f"also sent to {ingest_deadletter.TOPIC.name}: {report.dead_lettered} (rows refused for the first time)"
    if report.publish_failures:
        yield f"NOT published (broker did not confirm; run the import again): {report.publish_failures}"
