"""The test-reader pattern in a loop against the real broker: a fresh consumer *group* per iteration (the fixture
that once hung `make test`) beside the group-less reader of ``tests/kafka_reader.py``.

    .venv/bin/python benchmarks/reader_join_loop.py --bootstrap 127.0.0.1:9092 --iterations 200

Prints, per pattern, how many iterations did not become ready within the deadline and the time to ready
(p50 / max). See docs/kafka.md, "Test readers".
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.kafka_reader import TopicReader

TOPIC = "bench.reader-join.v1"


def grouped(bootstrap: str, deadline_s: float) -> bool:
    consumer = KafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id=f"bench-reader-{uuid.uuid4().hex[:8]}",
                             auto_offset_reset="latest")
    try:
        deadline = time.monotonic() + deadline_s
        while not consumer.assignment() and time.monotonic() < deadline:
            consumer.poll(timeout_ms=200)
        return bool(consumer.assignment())
    finally:
        consumer.close()


def groupless(bootstrap: str, deadline_s: float) -> bool:
    with TopicReader(bootstrap, TOPIC) as reader:
        return len(reader.consumer.assignment()) == 6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--deadline", type=float, default=30.0, help="seconds to wait for an assignment")
    args = parser.parse_args()
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap)
    try:
        admin.create_topics([NewTopic(TOPIC, 6, 1)])
    except TopicAlreadyExistsError:
        pass
    admin.close()
    for name, attempt in (("consumer group + poll until assigned (old fixture)", grouped),
                          ("assign by hand (tests/kafka_reader.py)", groupless)):
        failed, times = 0, []
        for _ in range(args.iterations):
            started = time.monotonic()
            if not attempt(args.bootstrap, args.deadline):
                failed += 1
            times.append(time.monotonic() - started)
        times.sort()
        print(f"{name}: {args.iterations} iterations, {failed} not ready within {args.deadline:.0f} s; "
              f"ready in p50 {times[len(times) // 2]:.2f} s, max {times[-1]:.2f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
