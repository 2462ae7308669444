"""Import of a 130,000-row school attendance file (Shift_JIS/CP932), as a city would run it.

    .venv/bin/python benchmarks/ingest_school_csv.py [--rows 130000] [--bootstrap 127.0.0.1:9092]

With --bootstrap the rows go to a real broker (the importer's batch publisher, acks=all); without, to memory, which
measures reading, validation and normalisation alone. Target (issue 4): under 30 s.
A second run of the same file shows the idempotent re-import (nothing sent).
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from services.ingest.adapters.csv_files import open_csv
from services.ingest.adapters.import_ledger import ImportLedger
from services.ingest.adapters.kafka import MemoryPublisher
from services.ingest.adapters.kafka_batch import KafkaBatchPublisher
from services.ingest.entrypoints.import_csv import summary_lines
from services.ingest.service_layer.ports import Publisher
from services.ingest.service_layer.school_import import import_school_file


def write_attendance(path: Path, rows: int, seed: int = 11) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="cp932", newline="") as out:
        out.write("児童生徒番号,学校コード,年度,月,欠席日数,遅刻回数,授業日数\r\n")
        for i in range(rows):
            school = f"B1402{rng.randrange(200):08d}"
            out.write(f"S{i:07d},{school},2025,{rng.randint(1, 12)},{rng.choice([0, 0, 0, 1, 2, 5, 12])},"
                      f"{rng.choice([0, 0, 1, 3])},{rng.randint(15, 22)}\r\n")


def run(path: Path, publisher: Publisher, ledger: ImportLedger) -> None:
    started, cpu = time.perf_counter(), time.process_time()
    report = import_school_file(open_csv(path), publisher=publisher, ledger=ledger, now=lambda: datetime.now(UTC),
                                rejects_path=path.with_suffix(".rejected.csv"), max_event_bytes=1 << 20)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    for line in summary_lines(report):
        print("  " + line)
    print(f"  → {wall:.1f} s wall ({cpu:.1f} s CPU), {report.published / wall:,.0f} rows/s published; "
          f"load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=130_000)
    parser.add_argument("--bootstrap")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "attendance.csv"
        write_attendance(path, args.rows)
        print(f"school CSV import: {args.rows} rows, {path.stat().st_size / 1e6:.1f} MB, CP932, "
              f"{'broker ' + args.bootstrap if args.bootstrap else 'in-memory publisher'}")
        publisher: Publisher = (KafkaBatchPublisher(args.bootstrap, "bench-school-import")
                                if args.bootstrap else MemoryPublisher())
        ledger = ImportLedger(Path(tmp) / "ledger.sqlite3")
        print("first import:")
        run(path, publisher, ledger)
        print("same file again:")
        run(path, publisher, ledger)
        publisher.close()


if __name__ == "__main__":
    main()
