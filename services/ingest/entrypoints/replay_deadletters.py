"""Replay dead letters to their source topics, once the cause is fixed.

    python -m services.ingest.entrypoints.replay_deadletters [--system S] [--error-class C] [--event-id ID]
        [--from-offset N] [--again] [--dry-run]

Reads ingest.deadletter.v1 up to its end at start-up; each dead letter is replayed once (a ledger in
data_dir remembers it) unless --again.
"""

from __future__ import annotations

import argparse
import sys

from services.ingest.adapters.deadletter_reader import read_dead_letters
from services.ingest.adapters.import_ledger import ImportLedger
from services.ingest.adapters.kafka import KafkaPublisher
from services.ingest.config import IngestSettings
from services.ingest.domain.errors import ERROR_CLASSES
from services.ingest.service_layer.replay import ReplayFilter, replay


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="replay_deadletters", description="Replay dead letters to their source.")
    parser.add_argument("--system", help="only dead letters of this source system")
    parser.add_argument("--error-class", choices=ERROR_CLASSES)
    parser.add_argument("--event-id")
    parser.add_argument("--from-offset", type=int)
    parser.add_argument("--again", action="store_true", help="also those replayed before")
    parser.add_argument("--dry-run", action="store_true", help="count, publish nothing")
    args = parser.parse_args(argv)
    settings = IngestSettings()
    publisher = KafkaPublisher(settings.kafka_bootstrap, client_id=f"{settings.app_id}-replay",
                               max_request_bytes=settings.producer_max_request_bytes,
                               security=settings.kafka_client_options())
    ledger = ImportLedger(settings.data_dir / "replay-ledger.sqlite3")
    try:
        letters = read_dead_letters(settings.kafka_bootstrap, args.from_offset, settings.kafka_client_options())
        report = replay(letters, publisher=publisher,
                        ledger=ledger, only=ReplayFilter(args.system, args.error_class, args.event_id),
                        again=args.again, dry_run=args.dry_run)
    finally:
        publisher.close()
        ledger.close()
    verb = "would replay" if args.dry_run else "replayed"
    print(f"{verb}: {sum(report.replayed.values())}" +
          "".join(f"\n  {system}: {n}" for system, n in sorted(report.replayed.items())))
    print(f"replayed before (use --again): {report.replayed_before}")
    print(f"not matching the filter: {report.not_matching}")
    print(f"not from a source topic (not replayable): {report.not_replayable}")
    if report.last_offset is not None:
        print(f"last dead-letter offset read: {report.last_offset}")
    if report.publish_failures:
        print(f"NOT replayed (broker did not confirm; run again): {report.publish_failures}")
    return 1 if report.publish_failures else 0


if __name__ == "__main__":
    sys.exit(main())
