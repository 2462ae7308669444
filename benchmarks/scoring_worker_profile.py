"""The scoring worker's own CPU per fact over a real broker, and where it goes (issue 19).

    .venv/bin/python -m benchmarks.scoring_worker_profile [--scale 0.005] [--days 120] [--port 29492] [--hot N]
        [--profile]

A broker of its own on ``--port`` (deploy/kafka/kafka.sh, a fresh data directory) and the catalogue; the city's
facts (the simulator's city through ingest's pipeline and linkage's service in process, as
benchmarks/scoring_memory.py keeps them in var/facts-<scale>-<days>-<seed>.jsonl) published on linkage.facts.v1
keyed by child as linkage publishes them; then scoring's worker (``services.scoring.entrypoints.worker.run``) runs
**in this process** until its group has committed every fact, and is stopped. Printed: the worker's CPU seconds
(``time.thread_time`` of the thread it runs in; the thread polling the group is not counted) from its start
(imports, joining, restoring an empty changelog) to the drain, per fact; and digests of what it wrote —
scoring.flags.v1 per partition (key and value but the envelope's ``time``, which is when it was sent) and the
changelog's last value per child (how many messages a child's state took depends on the batches, which depend on
fetch timing) — to compare runs of other code with. ``--hot N`` sets ``TSUNAGU_SCORING_HOT_CHILDREN`` (the cold
path: children past N kept compressed); ``--profile`` prints the top of a cProfile on a CPU clock (written to
var/scoring-worker.prof).
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

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from benchmarks.pipeline_chaos import PY, ROOT, Run, committed_total
from benchmarks.scoring_memory import facts_of
from contracts.topics import linkage_facts, scoring_flags

READ_TIMEOUT_S = 120
_TIME = re.compile(rb'"time":"[^"]*"')  # the envelope's send time: differs between runs of the same code
CHANGELOG = "chaos-scoring-child-state-changelog"  # Run.env's APP_ID for scoring + the worker's suffix


def publish_facts(bootstrap: str, facts: list[tuple[bytes, bytes]]) -> None:
    """The facts on linkage.facts.v1 in their order, keyed by child: the producer's default partitioner (murmur2 of
    the key), as linkage's ProduceBatch partitions them."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=256 * 1024)
    try:
        for key, value in facts:
            producer.send(linkage_facts.TOPIC.name, value=value, key=key)
        producer.flush(timeout=300)
    finally:
        producer.close()


def _read(consumer: KafkaConsumer, topic: str) -> dict[int, list[tuple[bytes | None, bytes | None]]]:
    parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    ends = consumer.end_offsets(parts)
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    rows: dict[int, list[tuple[bytes | None, bytes | None]]] = {p.partition: [] for p in parts}
    deadline = time.monotonic() + READ_TIMEOUT_S
    while (got := sum(map(len, rows.values()))) < sum(ends.values()):
        if time.monotonic() > deadline:
            raise SystemExit(f"{topic}: read {got:,} of {sum(ends.values()):,} records in {READ_TIMEOUT_S} s")
        for tp, records in consumer.poll(timeout_ms=2000).items():
            rows[tp.partition] += [(r.key, r.value) for r in records]
    return rows


def output_digest(bootstrap: str) -> dict[str, str]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                             consumer_timeout_ms=5000)
    try:
        consumer.topics()
        flags = _read(consumer, scoring_flags.TOPIC.name)
        flag_rows = sorted((p, [(k, _TIME.sub(b'"time":"-"', v or b"")) for k, v in rows]) for p, rows in flags.items())
        last: dict[bytes | None, tuple[int, bytes | None]] = {}
        for partition, rows in _read(consumer, CHANGELOG).items():
            for key, value in rows:
                last[key] = (partition, value)
        states = sorted((k or b"", p, v or b"") for k, (p, v) in last.items() if v is not None)
    finally:
        consumer.close()
    return {
        "flags": f"{sum(map(len, flags.values())):,} messages, "
                 f"{hashlib.sha256(repr(flag_rows).encode()).hexdigest()[:16]}",
        "state": f"{len(states):,} children, {hashlib.sha256(repr(states).encode()).hexdigest()[:16]}",
    }


async def _worker(stop: asyncio.Event) -> None:
    from services.scoring.bootstrap import bootstrap
    from services.scoring.entrypoints.worker import run

    await run(bootstrap(), stop)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.005)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--today", default="2025-08-01")
    parser.add_argument("--port", type=int, default=29492)
    parser.add_argument("--hot", type=int, help="TSUNAGU_SCORING_HOT_CHILDREN (default: the setting's)")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--timeout", type=float, default=1800, help="longest wait for the group to commit every fact")
    args = parser.parse_args()
    facts = facts_of(args.scale, args.days, args.seed)
    workdir = ROOT / "var" / f"scoring-profile-{int(time.time())}"
    workdir.mkdir(parents=True)
    run = Run("scoring-profile", args.port, workdir, args.today)
    run.kafka("start")
    try:
        subprocess.run([PY, "-m", "contracts.admin", "create", "--bootstrap", run.bootstrap], cwd=ROOT, check=True,
                       timeout=120, stdout=subprocess.DEVNULL)
        publish_facts(run.bootstrap, facts)
        os.environ.update({k: v for k, v in run.env("scoring").items() if k.startswith("TSUNAGU_")})
        if args.hot is not None:
            os.environ["TSUNAGU_SCORING_HOT_CHILDREN"] = str(args.hot)
        loop = asyncio.new_event_loop()
        stop = asyncio.Event()
        drained = threading.Event()

        def watch() -> None:  # another thread (its CPU not counted): polls the group's committed offsets
            deadline = time.monotonic() + args.timeout
            while committed_total(run.bootstrap, "scoring") < len(facts):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            else:
                drained.set()
            loop.call_soon_threadsafe(stop.set)

        profiler = cProfile.Profile(time.thread_time) if args.profile else None
        load = os.getloadavg()[0]
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
        raise SystemExit(f"the worker stopped before its group had committed every fact (waited at most "
                         f"{args.timeout:.0f} s for {len(facts):,})")
    print(f"scale {args.scale}: {len(facts):,} facts; scoring worker {cpu:.2f} CPU-s from its start to the drain "
          f"= {1e3 * cpu / len(facts):.3f} ms per fact (start-up included; wall {wall:.1f} s, load avg at start "
          f"{load:.1f})")
    print("output: " + "; ".join(f"{name} {figures}" for name, figures in outputs.items()))
    if profiler is not None:
        path = ROOT / "var" / "scoring-worker.prof"
        profiler.dump_stats(path)
        stats = pstats.Stats(str(path))
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(40)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
