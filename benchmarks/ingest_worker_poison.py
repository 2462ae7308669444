"""The worker on a real broker: 100,000 good events of all 16 systems with 1 % poison mixed in.

    .venv/bin/python benchmarks/ingest_worker_poison.py --bootstrap 127.0.0.1:9092 [--events 100000]

Publishes with kafka-python (its rate is the raw-Kafka baseline), runs the real worker process
(``python -m services.ingest.entrypoints.worker``), then checks exactly: every good event once in
ingest.records.v1, every poison event once in ingest.deadletter.v1, nothing else with this run's tag.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from contracts.topics.ingest_deadletter import DeadLetterHeaders
from services.ingest.entrypoints.examples import PAYLOADS, example_event, topic_of

ROOT = Path(__file__).resolve().parents[1]
GROUP = "tsunagu-ingest-bench"


def poison(tag: str, i: int, rng: random.Random) -> tuple[str, bytes, str]:
    """(topic, value, expected error class) — each carries the tag so it can be found again."""
    event_id = f"{tag}-p{i}"
    kind = rng.randrange(6)
    if kind == 0:
        return "source.resident-registry.v1", f"{{not json {event_id}".encode(), "not_json"
    if kind == 1:
        return "source.childcare.v1", b"\xff\xfe" + event_id.encode(), "invalid_encoding"
    if kind == 2:
        event = example_event("childcare.enrolment.started", event_id=event_id)
        return "source.disability.v1", json.dumps(event).encode(), "unknown_type"
    if kind == 3:
        event = example_event("public_assistance.case.started", event_id=event_id, start_date="平成32年1月1日")
        return "source.public-assistance.v1", json.dumps(event, ensure_ascii=False).encode(), "invalid_value"
    if kind == 4:
        event = example_event("maternal_child_health.birth.recorded", event_id=event_id)
        del event["data"]["mother_atena_no"]
        return "source.maternal-child-health.v1", json.dumps(event).encode(), "invalid_data"
    event = example_event("school_affairs.attendance.reported", event_id=event_id, absence_days="many")
    return "source.school-affairs.v1", json.dumps(event).encode(), "invalid_data"


def wait_for_group(bootstrap: str, timeout_s: float = 180) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            group = admin.describe_groups([GROUP]).get(GROUP) or {}
            if group.get("group_state") == "Stable" and group.get("members"):
                return
            time.sleep(1)
        raise TimeoutError("the worker did not join its consumer group")
    finally:
        admin.close()


def end_offsets(consumer: KafkaConsumer, topic: str) -> dict[TopicPartition, int]:
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
    return dict(consumer.end_offsets(partitions))


def collect(bootstrap: str, start: dict[TopicPartition, int], tag: bytes, expected: int,
            timeout_s: float) -> tuple[list[tuple[bytes, list[tuple[str, bytes]]]], float]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             max_partition_fetch_bytes=4 << 20, fetch_max_bytes=8 << 20)
    consumer.assign(list(start))
    for tp, offset in start.items():
        consumer.seek(tp, offset)
    found: list[tuple[bytes, list[tuple[str, bytes]]]] = []
    deadline = time.monotonic() + timeout_s
    last = time.monotonic()
    while len(found) < expected and time.monotonic() < deadline:
        for batch in consumer.poll(timeout_ms=500, max_records=5000).values():
            for m in batch:
                if tag in (m.value or b""):
                    found.append((m.value, list(m.headers)))
                    last = time.monotonic()
    consumer.close()
    return found, last


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--poison-rate", type=float, default=0.01)
    args = parser.parse_args()
    rng = random.Random(5)
    tag = uuid.uuid4().hex
    types = sorted(PAYLOADS)
    n_poison = round(args.events * args.poison_rate)
    good = [(topic_of(t), json.dumps(example_event(t, event_id=f"{tag}-g{i}",
                                                   **_varied(t, i, rng)), ensure_ascii=False).encode())
            for i, t in ((i, types[i % len(types)]) for i in range(args.events))]
    bad = [poison(tag, i, rng) for i in range(n_poison)]
    stream = [(topic, value, None) for topic, value in good] + [(t, v, cls) for t, v, cls in bad]
    rng.shuffle(stream)

    data_dir = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    env = {**os.environ, "TSUNAGU_INGEST_KAFKA_BOOTSTRAP": args.bootstrap, "TSUNAGU_INGEST_APP_ID": GROUP,
           "TSUNAGU_INGEST_DATA_DIR": str(data_dir), "TSUNAGU_INGEST_METRICS_PORT": "0",
           "TSUNAGU_INGEST_LOG_LEVEL": "error"}
    log = (data_dir / "worker.log").open("wb")
    worker = subprocess.Popen([sys.executable, "-m", "services.ingest.entrypoints.worker"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_group(args.bootstrap)
        time.sleep(5)  # let it catch up with anything published before this run
        probe = KafkaConsumer(bootstrap_servers=args.bootstrap)
        records_start = end_offsets(probe, "ingest.records.v1")
        dlq_start = end_offsets(probe, "ingest.deadletter.v1")
        probe.close()

        cpu_before = _cpu_seconds(worker.pid)
        producer = KafkaProducer(bootstrap_servers=args.bootstrap, linger_ms=20, batch_size=256 * 1024,
                                 max_request_size=4 << 20)
        started = time.monotonic()
        for topic, value, _ in stream:
            producer.send(topic, key=b"bench", value=value)
        producer.flush()
        published = time.monotonic()
        print(f"published {len(stream):,} events ({n_poison} poison) with kafka-python in {published - started:.1f} s "
              f"= {len(stream) / (published - started):,.0f} events/s (raw Kafka baseline, one process)")

        records, last_record = collect(args.bootstrap, records_start, tag.encode(), len(good), timeout_s=900)
        dead, _ = collect(args.bootstrap, dlq_start, tag.encode(), n_poison, timeout_s=60)
        worker_cpu = _cpu_seconds(worker.pid) - cpu_before
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        log.close()

    elapsed = last_record - started
    print(f"worker: {len(records):,} records + {len(dead)} dead letters; last record {elapsed:.1f} s after the "
          f"first publish = {(len(records) + len(dead)) / elapsed:,.0f} events/s end to end "
          f"(load average {os.getloadavg()[0]:.1f})")
    # The worker's own CPU time: what one core spends per event, whatever else shares the machine.
    print(f"worker CPU: {worker_cpu:.1f} s = {1e6 * worker_cpu / len(stream):.0f} µs/event "
          f"= {len(stream) / worker_cpu:,.0f} events/s per core")
    record_ids = Counter(json.loads(value)["id"] for value, _ in records)
    dead_ids = Counter(DeadLetterHeaders.from_kafka(h).error_class for _, h in dead)
    good_ids = {f"{tag}-g{i}" for i in range(args.events)}
    ok = set(record_ids) == good_ids and max(record_ids.values(), default=1) == 1 and len(dead) == n_poison
    ok = ok and dead_ids == Counter(cls for _, _, cls in bad)
    print(f"exactly every good event once downstream: {set(record_ids) == good_ids and max(record_ids.values()) == 1}")
    print(f"exactly the poison in the dead-letter topic: {len(dead) == n_poison} {dict(sorted(dead_ids.items()))}")
    return 0 if ok else 1


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _varied(event_type: str, i: int, rng: random.Random) -> dict[str, str]:
    data = PAYLOADS[event_type]
    changes = {k: str(100_000_000_000 + rng.randrange(2_000_000)) for k in data if k.endswith("atena_no") and data[k]}
    if "name_kana" in data:
        changes["name_kana"] = rng.choice(["ﾌｸｵｶ ﾊﾅｺ", "ふくおか はなこ", "フクオカ　ハナコ"])
    return changes


if __name__ == "__main__":
    sys.exit(main())
