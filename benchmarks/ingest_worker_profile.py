"""The ingest worker's own CPU per source event over a real broker, and where it goes (issue 19).

    .venv/bin/python -m benchmarks.ingest_worker_profile [--scale 0.005] [--days 120] [--port 29892] [--profile]

A broker of its own on ``--port`` (deploy/kafka/kafka.sh, a fresh data directory), the catalogue, the simulator's
city published; then ingest's worker (``services.ingest.entrypoints.worker.run``) runs **in this process** until its
group has committed every source record, and is stopped. Printed: the worker's CPU seconds (``time.thread_time`` of
the thread it runs in: not the thread polling the group; other load on the machine barely moves it) from its start
(imports, joining) to the drain, per source event, and
a digest of each output topic (what every partition holds: key, value, headers) to compare runs of
other code with, and with ``--profile`` the top of a cProfile on a CPU clock (written to var/ingest-worker.prof). What
``benchmarks.stage_cpu`` reports for ingest is the handler alone; the difference is the worker around it (the
consumer, the producer, the dedup store, metrics, the event loop).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import os
import pstats
import re
import subprocess
import threading
import time

from kafka import KafkaConsumer, TopicPartition

from benchmarks.pipeline_chaos import PY, ROOT, Run, committed_total, publish
from benchmarks.pipeline_e2e import source_count
from contracts.topics import ingest_deadletter, ingest_records

READ_TIMEOUT_S = 120  # reading an output topic back
_SOURCE_TIME = re.compile(rb'"source_time":"[^"]*"')  # the source message's Kafka timestamp: each run publishes anew


def output_digest(bootstrap: str) -> dict[str, str]:
    """Per output topic: how many records, and a digest of what every partition holds: its records' key, value and
    headers, byte for byte, but the record's ``source_time`` (when this run published the source event). Sorted
    within the partition: how the source partitions' records interleave depends on fetch timing, so that order
    differs between runs of the same code."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             consumer_timeout_ms=5000)
    try:
        consumer.topics()
        out = {}
        for topic in (ingest_records.TOPIC.name, ingest_deadletter.TOPIC.name):
            parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            ends = consumer.end_offsets(parts)
            consumer.assign(parts)
            consumer.seek_to_beginning(*parts)
            rows: dict[int, list[tuple[object, ...]]] = {p.partition: [] for p in parts}
            deadline = time.monotonic() + READ_TIMEOUT_S
            while (got := sum(map(len, rows.values()))) < sum(ends.values()):
                if time.monotonic() > deadline:
                    raise SystemExit(f"{topic}: read {got:,} of {sum(ends.values()):,} records in {READ_TIMEOUT_S} s")
                for tp, records in consumer.poll(timeout_ms=2000).items():
                    rows[tp.partition] += [(r.key, _SOURCE_TIME.sub(b'"source_time":"-"', r.value or b""), r.headers)
                                           for r in records]
            digest = hashlib.sha256(repr(sorted((p, sorted(r)) for p, r in rows.items())).encode()).hexdigest()[:16]
            out[topic] = f"{sum(ends.values()):,} records, {digest}"
        return out
    finally:
        consumer.close()


async def _worker(stop: asyncio.Event) -> None:
    from services.ingest.bootstrap import bootstrap
    from services.ingest.entrypoints.worker import run

    container = bootstrap()
    try:
        await run(container, stop)
    finally:
        container.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.005)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=29892)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--timeout", type=float, default=1800, help="longest wait for the group to commit every record")
    args = parser.parse_args()
    workdir = ROOT / "var" / f"ingest-profile-{int(time.time())}"
    workdir.mkdir(parents=True)
    run = Run("ingest-profile", args.port, workdir, "2025-08-01")
    run.kafka("start")
    try:
        subprocess.run([PY, "-m", "contracts.admin", "create", "--bootstrap", run.bootstrap], cwd=ROOT, check=True,
                       timeout=120, stdout=subprocess.DEVNULL)
        publish(run, args)
        total = source_count(run.bootstrap)
        os.environ.update({k: v for k, v in run.env("ingest").items() if k.startswith("TSUNAGU_")})
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()
        drained = threading.Event()

        def watch() -> None:  # another thread (its CPU not counted): polls the group's committed offsets
            deadline = time.monotonic() + args.timeout
            while committed_total(run.bootstrap, "ingest") < total:
                if time.monotonic() > deadline:  # stops the worker; "drained" stays unset and says so below
                    break
                time.sleep(0.5)
            else:
                drained.set()
            loop.call_soon_threadsafe(stop.set)

        profiler = cProfile.Profile(time.thread_time) if args.profile else None
        started_cpu, started = time.thread_time(), time.monotonic()
        threading.Thread(target=watch, daemon=True).start()
        if profiler is not None:
            profiler.enable()
        try:
            loop.run_until_complete(_worker(stop))
        finally:
            if profiler is not None:
                profiler.disable()
            loop.close()
        cpu, wall = time.thread_time() - started_cpu, time.monotonic() - started
        outputs = output_digest(run.bootstrap)
    finally:
        run.kafka("stop")
    if not drained.is_set():
        raise SystemExit(f"the worker stopped before its group had committed every source record (waited at most "
                         f"{args.timeout:.0f} s for {total:,})")
    print(f"scale {args.scale}: {total:,} source events; ingest worker {cpu:.2f} CPU-s from its start to the drain "
          f"= {1e3 * cpu / total:.3f} ms per source event (start-up included; wall {wall:.1f} s, "
          f"load avg {os.getloadavg()[0]:.1f})")
    print("output: " + "; ".join(f"{topic} {figures}" for topic, figures in outputs.items()))
    if profiler is not None:
        path = ROOT / "var" / "ingest-worker.prof"
        profiler.dump_stats(path)
        stats = pstats.Stats(str(path))
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(40)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
