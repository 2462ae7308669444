"""Replay dead letters to their source topics, once the cause is fixed.

    python -m services.ingest.entrypoints.replay_deadletters [--system S] [--error-class C] [--event-id ID]
        [--from-offset N] [--again] [--dry-run]

Reads ingest.deadletter.v1 up to its end at start-up; each dead letter is replayed once (a ledger in
data_dir remembers it) unless --again.
"""

from __future__ import annotations

import argparse
import sys

from services.ingest.bootstrap import bootstrap
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
    container = bootstrap()
    try:
        report = replay(container.dead_letters_to_replay(args.from_offset), publisher=container.publisher("replay"),
                        ledger=container.replay_ledger(),
                        only=ReplayFilter(args.system, args.error_class, args.event_id),
                        again=args.again, dry_run=args.dry_run)
    finally:
        container.close()
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
