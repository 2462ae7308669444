"""Publishing the synthetic city to Kafka from one process, against Kafka's own ProducerPerformance.

    .venv/bin/python -m benchmarks.simulator_publish --bootstrap 127.0.0.1:19592 [--scale 0.05] [--no-java]

Draws the events of a small city into memory first (generation is measured by simulator_generate), then
publishes them through the simulator's batch Kafka sink (orjson envelope, aiokafka's C batch builder, acks=all,
idempotent, one topic per system, keyed by murmur2 as Kafka's default partitioner), again with the bytes
already encoded, and a fifth of them through the kafka-python sink the smoke scenario uses. Then runs
org.apache.kafka.tools.ProducerPerformance from deploy/kafka/.jars with as many records of the same average
size (acks=all) and prints our rate as a ratio of it. Target: ≥ 20 000 events/s.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import time
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from contracts.admin import create_topics
from simulator.city import City
from simulator.events import SourceEvent
from simulator.life.engine import SimConfig
from simulator.sinks.kafka import KafkaSink
from simulator.sinks.kafka_batch import KafkaBatchSink

ROOT = Path(__file__).resolve().parents[1]
BENCH_TOPIC = "bench.simulator-producer-performance"


def publish(bootstrap: str, events: list[SourceEvent], encoded: list[bytes] | None,
            batch: bool = True) -> tuple[float, float]:
    sink: KafkaSink | KafkaBatchSink = (KafkaBatchSink(bootstrap) if batch else
                                        KafkaSink(bootstrap, linger_ms=20, batch_size=512 * 1024))
    wall, cpu = time.perf_counter(), time.process_time()
    if encoded is None:
        for e in events:
            sink.send(e)
    else:
        for e, value in zip(events, encoded, strict=True):
            sink.send_raw(e.topic, e.key.encode(), value)
    report = sink.close()
    assert not report.failed, report.failures
    return time.perf_counter() - wall, time.process_time() - cpu


def producer_performance(bootstrap: str, records: int, size: int) -> float | None:
    jars = ROOT / "deploy/kafka/.jars"
    if not jars.is_dir():
        return None
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(BENCH_TOPIC, 3, 1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()
    out = subprocess.run(
        ["java", "-Xmx512m", "-cp", f"{jars}/*", "org.apache.kafka.tools.ProducerPerformance", "--topic", BENCH_TOPIC,
         "--num-records", str(records), "--record-size", str(size), "--throughput", "-1", "--producer-props",
         f"bootstrap.servers={bootstrap}", "acks=all", "linger.ms=20", "batch.size=524288"],
        capture_output=True, text=True, check=True).stdout
    rates = re.findall(r"([\d.]+) records/sec", out)
    return float(rates[-1]) if rates else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", default="127.0.0.1:19592")
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--no-java", action="store_true")
    args = parser.parse_args()
    create_topics(args.bootstrap)
    events = list(City(SimConfig(seed=5, scale=args.scale)).events())
    encoded = [e.encode() for e in events]
    size = round(sum(map(len, encoded)) / len(encoded))
    n = len(events)
    print(f"publishing {n:,} events of a {args.scale} city ({size} B each on average) to {args.bootstrap}")
    wall, cpu = publish(args.bootstrap, events, None)
    print(f"  simulator batch sink (encode + send)   {n / wall:>9,.0f} events/s wall   {n / cpu:>9,.0f} /s cpu"
          f"   target ≥ 20,000/s")
    raw_wall, raw_cpu = publish(args.bootstrap, events, encoded)
    print(f"  batch sink, bytes already encoded      {n / raw_wall:>9,.0f} events/s wall   {n / raw_cpu:>9,.0f} /s cpu")
    few = events[: max(1, n // 5)]
    kp_wall, kp_cpu = publish(args.bootstrap, few, None, batch=False)
    print(f"  kafka-python sink (smoke), {len(few):,} events {len(few) / kp_wall:>7,.0f} events/s wall   "
          f"{len(few) / kp_cpu:>9,.0f} /s cpu")
    if not args.no_java:
        baseline = producer_performance(args.bootstrap, n, size)
        if baseline:
            print(f"  ProducerPerformance (Java, acks=all)   {baseline:>9,.0f} records/s")
            print(f"  ratio simulator / ProducerPerformance  {n / wall / baseline:.2f}")


if __name__ == "__main__":
    main()
