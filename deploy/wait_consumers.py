"""Waits until each Tsunagu consumer group has joined (state Stable with at least one member)."""

from __future__ import annotations

import argparse
import sys
import time

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from contracts.kafka_security import options_from_env

GROUPS = ("tsunagu-ingest", "tsunagu-linkage", "tsunagu-scoring", "tsunagu-casework")


def stable_groups(admin: KafkaAdminClient, groups: tuple[str, ...]) -> set[str]:
    ready = set()
    # kafka-python 3 returns {group_id: {"group_state": ..., "members": [...]}}
    for group_id, description in admin.describe_groups(list(groups)).items():
        if description.get("group_state") == "Stable" and description.get("members"):
            ready.add(group_id)
    return ready


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--groups", nargs="*", default=list(GROUPS))
    args = parser.parse_args()
    groups = tuple(args.groups)
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, client_id="tsunagu-wait",
                             **options_from_env("TSUNAGU_ADMIN_"))
    deadline = time.monotonic() + args.timeout
    ready: set[str] = set()
    while time.monotonic() < deadline:
        try:
            ready = stable_groups(admin, groups)
        except KafkaError:
            ready = set()
        if ready == set(groups):
            print(f"consumers ready: {', '.join(groups)}")
            return 0
        time.sleep(1)
    print(f"consumers not ready in {args.timeout:.0f}s: {', '.join(sorted(set(groups) - ready))}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
