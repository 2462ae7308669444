"""The ingest worker's own CPU per source event over a real broker, and where it goes (issue 19).

    .venv/bin/python -m benchmarks.ingest_worker_profile [--scale 0.005] [--days 120] [--port 29892] [--profile]

A broker of its own on ``--port`` (deploy/kafka/kafka.sh, a fresh data directory), the catalogue, the simulator's
city published; then ingest's worker (``services.ingest.entrypoints.worker.run``) runs **in this process** until its
group has committed every source record, and is stopped. Printed: the worker's CPU seconds (``time.thread_time`` of
the thread it runs in: not the thread polling the group; other load on the machine barely moves it) from its start
(imports, joining) to the drain, per source event; this process's RSS before the worker and its peak (VmHWM) at the
drain (the worker's memory plus ≈ what the process held before it); a digest of each output topic (what every
partition holds: key, value, headers) to compare runs of other code with; and with ``--profile`` the top of a
cProfile on a CPU clock (written to var/ingest-worker.prof). What
``benchmarks.stage_cpu`` reports for ingest is the handler alone; the difference is the worker around it (the
consumer, the producer, the dedup store, metrics, the event loop).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re

from benchmarks import worker_profile as shared
from benchmarks.memory import proc_status
from benchmarks.pipeline_chaos import publish
from benchmarks.pipeline_e2e import source_count
from contracts.topics import ingest_deadletter, ingest_records

_SOURCE_TIME = re.compile(rb'"source_time":"[^"]*"')  # the source message's Kafka timestamp: each run publishes anew


def output_digest(bootstrap: str) -> dict[str, str]:
    """Per output topic: how many records, and a digest of what every partition holds: its records' key, value and
    headers, byte for byte, but the record's ``source_time`` (when this run published the source event). Sorted
    within the partition: how the source partitions' records interleave depends on fetch timing, so that order
    differs between runs of the same code."""
    out = {}
    with shared.reader(bootstrap) as consumer:
        for topic in (ingest_records.TOPIC.name, ingest_deadletter.TOPIC.name):
            rows = shared.read_topic(consumer, topic, lambda r: (
                r.key, _SOURCE_TIME.sub(b'"source_time":"-"', r.value or b""), r.headers))
            out[topic] = f"{sum(map(len, rows.values())):,} records, " \
                         f"{shared.digest(sorted((p, sorted(r)) for p, r in rows.items()))}"
    return out


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
    with shared.broker("ingest-profile", args.port, shared.workdir("ingest-profile"), "2025-08-01") as run:
        publish(run, args)
        total = source_count(run.bootstrap)
        shared.use_settings(run, "ingest")
        drain = shared.Drain(run.bootstrap, "ingest", total, args.timeout, "source record")
        before = proc_status()
        worker = shared.run_worker(_worker, drain, profile=args.profile)
        after = proc_status()  # before the read-back below holds every output record
        outputs = output_digest(run.bootstrap)
    drain.check()
    print(f"scale {args.scale}: {total:,} source events; ingest worker {worker.cpu:.2f} CPU-s from its start to the "
          f"drain = {1e3 * worker.cpu / total:.3f} ms per source event (start-up included; wall {worker.wall:.1f} s, "
          f"load avg {os.getloadavg()[0]:.1f})")
    print(f"memory: this process {before['VmRSS'] / 1024:.0f} MiB before the worker, peak {after['VmHWM'] / 1024:.0f} "
          f"MiB at the drain (RSS then {after['VmRSS'] / 1024:.0f} MiB)")
    print("output: " + "; ".join(f"{topic} {figures}" for topic, figures in outputs.items()))
    shared.print_profile(worker.profiler, "ingest-worker")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
