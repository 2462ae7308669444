"""kill -9 the worker mid-stream, start it again, count: nothing may be lost; repeats carry the same id.

    .venv/bin/python benchmarks/ingest_worker_kill9.py --bootstrap 127.0.0.1:9092 [--events 20000]

Delivery is at-least-once: events acknowledged by the broker but not yet committed (or not yet on the
dedup store's disk) are emitted again after the restart, with the same record_id, which downstream drops.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from ingest_worker_poison import GROUP, collect, end_offsets, wait_for_group
from kafka import KafkaConsumer, KafkaProducer

from services.ingest.entrypoints.examples import PAYLOADS, example_event, topic_of

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    tag, types, data = uuid.uuid4().hex, sorted(PAYLOADS), Path(tempfile.mkdtemp(prefix="ingest-kill9-"))
    env = {**os.environ, "TSUNAGU_INGEST_KAFKA_BOOTSTRAP": args.bootstrap, "TSUNAGU_INGEST_APP_ID": GROUP,
           "TSUNAGU_INGEST_DATA_DIR": str(data), "TSUNAGU_INGEST_METRICS_PORT": "0",
           "TSUNAGU_INGEST_LOG_LEVEL": "error"}

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "services.ingest.entrypoints.worker"], cwd=ROOT, env=env,
                                stdout=(data / "worker.log").open("ab"), stderr=subprocess.STDOUT)

    worker = start()
    wait_for_group(args.bootstrap)
    time.sleep(5)  # catch up with anything older
    probe = KafkaConsumer(bootstrap_servers=args.bootstrap)
    start_offsets = end_offsets(probe, "ingest.records.v1")
    probe.close()
    producer = KafkaProducer(bootstrap_servers=args.bootstrap, linger_ms=20)
    for i in range(args.events):
        event_type = types[i % len(types)]
        producer.send(topic_of(event_type), key=str(i).encode(),
                      value=json.dumps(example_event(event_type, event_id=f"{tag}-{i}")).encode())
    producer.flush()
    producer.close()
    third = args.events // 3
    first_third_by = time.monotonic() + 600
    while len(collect(args.bootstrap, start_offsets, tag.encode(), third, timeout_s=5)[0]) < third:
        if time.monotonic() > first_third_by:  # the worker is still before the first third
            worker.kill()
            raise SystemExit("the ingest worker did not get a third of the events through in 600 s")
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    print(f"killed (SIGKILL) with about a third of {args.events:,} events through")
    worker = start()
    deadline, ids = time.monotonic() + 900, Counter[str]()
    try:
        while time.monotonic() < deadline and len(ids) < args.events:
            records, _ = collect(args.bootstrap, start_offsets, tag.encode(), 10**9, timeout_s=20)
            ids = Counter(json.loads(value)["id"] for value, _ in records)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    lost = args.events - len(ids)
    repeats = sum(n - 1 for n in ids.values())
    print(f"lost: {lost}; emitted again with the same record_id: {repeats} ({100 * repeats / args.events:.2f} %)")
    return 0 if lost == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
