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
import os
import re

from kafka import KafkaProducer

from benchmarks import worker_profile as shared
from benchmarks.scoring_memory import facts_of
from contracts.topics import linkage_facts, scoring_flags

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


def output_digest(bootstrap: str) -> dict[str, str]:
    with shared.reader(bootstrap) as consumer:
        flags = shared.read_topic(consumer, scoring_flags.TOPIC.name, lambda r: (r.key, r.value))
        flag_rows = sorted((p, [(k, _TIME.sub(b'"time":"-"', v or b"")) for k, v in rows]) for p, rows in flags.items())
        last: dict[bytes | None, tuple[int, bytes | None]] = {}
        for partition, rows in shared.read_topic(consumer, CHANGELOG, lambda r: (r.key, r.value)).items():
            for key, value in rows:
                last[key] = (partition, value)
        states = sorted((k or b"", p, v or b"") for k, (p, v) in last.items() if v is not None)
    return {
        "flags": f"{sum(map(len, flags.values())):,} messages, {shared.digest(flag_rows)}",
        "state": f"{len(states):,} children, {shared.digest(states)}",
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
    with shared.broker("scoring-profile", args.port, shared.workdir("scoring-profile"), args.today) as run:
        publish_facts(run.bootstrap, facts)
        shared.use_settings(run, "scoring")
        if args.hot is not None:
            os.environ["TSUNAGU_SCORING_HOT_CHILDREN"] = str(args.hot)
        drain = shared.Drain(run.bootstrap, "scoring", len(facts), args.timeout, "fact")
        load = os.getloadavg()[0]
        worker = shared.run_worker(_worker, drain, profile=args.profile)
        outputs = output_digest(run.bootstrap)
    drain.check()
    print(f"scale {args.scale}: {len(facts):,} facts; scoring worker {worker.cpu:.2f} CPU-s from its start to the "
          f"drain = {1e3 * worker.cpu / len(facts):.3f} ms per fact (start-up included; wall {worker.wall:.1f} s, "
          f"load avg at start {load:.1f})")
    print("output: " + "; ".join(f"{name} {figures}" for name, figures in outputs.items()))
    shared.print_profile(worker.profiler, "scoring-worker")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
