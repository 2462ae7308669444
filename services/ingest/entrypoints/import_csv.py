"""Import a school media file (CSV/TSV, UTF-8 or Shift_JIS/CP932) into Tsunagu.

    python -m services.ingest.entrypoints.import_csv FILE [--kind students|attendance|checkup|survey]
        [--encoding auto|utf-8|cp932] [--rejects PATH] [--quiet]

Exit code 0: every row accepted or refused with a reason; 1: some rows could not be published (run
again: rows already imported are not sent twice); 2: the file itself cannot be read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from contracts.topics import ingest_deadletter
from services.ingest.adapters.csv_files import ENCODINGS, open_csv
from services.ingest.bootstrap import bootstrap
from services.ingest.domain.errors import IngestRejected
from services.ingest.domain.school_csv import FILE_KINDS
from services.ingest.service_layer.school_import import ImportReport, import_school_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="import_csv", description="Import a school media file (校務系).")
    parser.add_argument("file", type=Path)
    parser.add_argument("--kind", choices=sorted(FILE_KINDS), help="what the file holds (default: from the header)")
    parser.add_argument("--encoding", choices=ENCODINGS, default="auto")
    parser.add_argument("--rejects", type=Path, help="where rejected rows go (default: FILE.rejected.csv)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    container = bootstrap()
    settings = container.settings
    try:
        csv_file = open_csv(args.file, encoding=args.encoding)
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        report = import_school_file(
            csv_file, publisher=container.batch_publisher("import"), ledger=container.import_ledger(),
            now=container.clock.now,
            rejects_path=args.rejects or args.file.with_name(args.file.name + ".rejected.csv"),
            max_event_bytes=settings.max_event_bytes, kind=args.kind,
            progress=lambda rows: tqdm(rows, total=csv_file.row_count_estimate, unit="row", disable=args.quiet,
                                       file=sys.stderr, desc=args.file.name),
        )
    except IngestRejected as exc:
        print(f"cannot import {args.file}: {exc.reason}", file=sys.stderr)
        return 2
    finally:
        container.close()
    for line in summary_lines(report):
        print(line)
    return 0 if report.ok else 1


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


if __name__ == "__main__":
    sys.exit(main())
