"""The casework worker's own CPU per input message over a real broker, as its input trickles in (issue 19).

    .venv/bin/python -m benchmarks.casework_worker_profile [--scale 0.005] [--rate 300] [--port 29892] [--profile]

The input is made in process from the simulator's city (``benchmarks.stage_cpu``: ingest's pipeline, linkage's
service, scoring's handler, the same every run): linkage's child profiles and scoring's flags messages, keyed by
child. A broker of its own on ``--port`` (deploy/kafka/kafka.sh, a fresh data directory), the catalogue, an empty
SQLite case database; then casework's worker (``services.casework.entrypoints.worker.run``) runs **in this
process**, and a second process publishes its input the way a drain of the whole pipeline hands it over: a few
messages at a time, ``--rate`` messages per second in chunks every ``--chunk-ms`` (0: all at once) — first every
profile, and once the worker's group has committed them and its outbox is empty, every flags message (so what a
child's alerts depend on — its profile, then its flags in partition order — is the same in every run). Then the
worker is stopped.

Printed: the worker's CPU (``time.process_time`` of this process: the worker's event loop, its transaction thread
and its relay thread; the publisher is the other process) from the first input published to the drain (input
applied, offsets committed, outbox published), per input message and per source event of the city; its start-up
(imports, migrations, joining) separately; and digests of the alert rows (child, ward, tier, items, reason, alert
id) and of what the relay published on casework.alerts.v1 (alert id and payload, but ``raised_at``: the clock), to
compare runs of other code with. ``--profile``: a cProfile of the event loop's thread (not the database threads)
written to var/casework-worker.prof, its top printed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import pickle
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import orjson
import sqlalchemy as sa
from kafka import KafkaAdminClient, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import KafkaError

from benchmarks import worker_profile as shared
from benchmarks.pipeline_chaos import PY, ROOT, committed_total

GROUP = "chaos-casework"  # pipeline_chaos's Run names the casework group so
PROFILES, FLAGS = "linkage.children.v1", "scoring.flags.v1"


def make_inputs(args: argparse.Namespace, path: Path) -> int:
    """The city's profiles and flags messages (key, value) into ``path``; returns the city's source events."""
    from benchmarks import stage_cpu

    messages = stage_cpu.city(args.scale, args.days, args.seed)
    facts = stage_cpu.run_linkage(stage_cpu.run_ingest(messages))
    stage_cpu.run_scoring(facts, date.fromisoformat(args.today))

    def keyed(values: list[bytes]) -> list[tuple[bytes, bytes]]:
        return [(orjson.loads(v)["data"]["child_id"].encode(), v) for v in values]

    path.write_bytes(pickle.dumps({"events": len(messages), PROFILES: keyed(stage_cpu.CHILDREN),
                                   FLAGS: keyed(stage_cpu.FLAGS)}))
    return len(messages)


def pending_outbox(database: Path) -> int:
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as db:
            return int(db.execute(sa.text("SELECT count(*) FROM outbox WHERE published_at IS NULL")).scalar_one())
    finally:
        engine.dispose()


def _stable(admin: KafkaAdminClient) -> bool:
    try:
        return admin.describe_groups([GROUP]).get(GROUP, {}).get("group_state") == "Stable"
    except KafkaError:  # no coordinator yet
        return False


def publisher(args: argparse.Namespace) -> None:
    """The other process: waits for the worker's group, then publishes the input phase by phase (prints ``start``
    before the first message, ``drained`` when the worker has applied and relayed everything)."""
    data = pickle.loads(Path(args.inputs).read_bytes())
    deadline = time.monotonic() + args.timeout
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap)
    while not _stable(admin):
        if time.monotonic() > deadline:
            raise SystemExit("the worker did not join its group")
        time.sleep(0.2)
    admin.close()
    time.sleep(1.0)  # the worker settles into its idle reads
    producer = KafkaProducer(bootstrap_servers=args.bootstrap, acks="all", linger_ms=0)
    print("idle", flush=True)
    time.sleep(args.idle)
    print("start", flush=True)
    published = 0
    for topic in (PROFILES, FLAGS):
        messages = data[topic]
        per_chunk = len(messages) if args.rate <= 0 else max(1, round(args.rate * args.chunk_ms / 1000))
        next_at = time.monotonic()
        for start in range(0, len(messages), per_chunk):
            for key, value in messages[start:start + per_chunk]:
                producer.send(topic, value, key=key)
            producer.flush()
            next_at += args.chunk_ms / 1000
            time.sleep(max(0.0, next_at - time.monotonic()))
        published += len(messages)
        while committed_total(args.bootstrap, "casework") < published or pending_outbox(Path(args.database)):
            if time.monotonic() > deadline:
                raise SystemExit(f"{topic}: the worker did not drain within {args.timeout:.0f} s")
            time.sleep(0.2)
    producer.close()
    print("drained", flush=True)


def outputs(bootstrap: str, database: Path) -> dict[str, str]:
    engine = sa.create_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as db:
            rows = sorted(tuple(row) for row in db.execute(sa.text(
                "SELECT child_id, ward_code, tier, CAST(items AS TEXT), reason, alert_id FROM alerts")))
    finally:
        engine.dispose()
    def row(record: ConsumerRecord) -> tuple[bytes | None, bytes]:
        data = orjson.loads(record.value)["data"]
        data.pop("raised_at", None)
        return record.key, orjson.dumps(data, option=orjson.OPT_SORT_KEYS)

    with shared.reader(bootstrap) as consumer:
        published = [r for part in shared.read_topic(consumer, "casework.alerts.v1", row).values() for r in part]
    ids = [orjson.loads(v)["alert_id"] for _, v in published]

    twice = len(ids) - len(set(ids))
    return {"alert rows": f"{len(rows):,}, {shared.digest(rows)}",
            "published": f"{len(published):,} ({twice} twice), {shared.digest(sorted(set(published)))}"}


async def _worker(stop: asyncio.Event) -> None:
    from services.casework.bootstrap import bootstrap
    from services.casework.config import CaseworkSettings
    from services.casework.entrypoints.worker import run

    container = bootstrap(CaseworkSettings())
    try:
        await run(container, stop)
    finally:
        container.engine.dispose()


class GcTime:
    """The garbage collector's time, summed over every thread (a ``gc.callbacks`` entry; a collection holds the
    GIL, so its wall time is its CPU time)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __call__(self, phase: str, _info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.005)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--today", default="2025-08-01")
    parser.add_argument("--port", type=int, default=29892)
    parser.add_argument("--rate", type=float, default=300, help="input messages per second (0: all at once)")
    parser.add_argument("--chunk-ms", type=float, default=20, help="how often a chunk of the input is published")
    parser.add_argument("--idle", type=float, default=5, help="seconds the worker is left idle (measured) first")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--timeout", type=float, default=1800, help="longest wait for each phase to drain")
    parser.add_argument("--publish", action="store_true", help=argparse.SUPPRESS)  # the publisher process
    parser.add_argument("--bootstrap", help=argparse.SUPPRESS)
    parser.add_argument("--inputs", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--make-inputs", help=argparse.SUPPRESS)  # the process that makes the input
    args = parser.parse_args()
    if args.publish:
        publisher(args)
        return 0
    if args.make_inputs:
        print(make_inputs(args, Path(args.make_inputs)))
        return 0
    directory = shared.workdir("casework-profile")
    inputs = directory / "inputs.pickle"
    # Made in a process of its own: the city, linkage's registry and scoring's states made on the way would stay
    # in this one and make every full collection of the garbage collector in the worker's window cost far more
    # than in the worker's own process.
    events = int(subprocess.run(
        [PY, "-m", "benchmarks.casework_worker_profile", "--make-inputs", str(inputs), "--scale", str(args.scale),
         "--days", str(args.days), "--seed", str(args.seed), "--today", args.today],
        cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True).stdout.split()[-1])
    counts = {topic: len(v) for topic, v in pickle.loads(inputs.read_bytes()).items() if topic != "events"}
    with shared.broker("casework-profile", args.port, directory, args.today) as run:
        database = directory / "casework.sqlite3"
        shared.use_settings(run, "casework")
        os.environ["TSUNAGU_CASEWORK_DATABASE_URL"] = f"sqlite:///{database}"
        os.environ.setdefault("TSUNAGU_CASEWORK_SESSION_SECRET", "casework-profile-benchmark-" + "x" * 32)
        os.environ["TSUNAGU_CASEWORK_RETENTION_PURGE_ENABLED"] = "false"
        marks: dict[str, float] = {}
        collector = GcTime()
        gc.callbacks.append(collector)
        child = subprocess.Popen(
            [PY, "-m", "benchmarks.casework_worker_profile", "--publish", "--bootstrap", run.bootstrap,
             "--inputs", str(inputs), "--database", str(database), "--rate", str(args.rate),
             "--chunk-ms", str(args.chunk_ms), "--timeout", str(args.timeout), "--idle", str(args.idle)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True)

        def watch() -> None:  # blocked on the publisher's lines: no CPU worth counting
            assert child.stdout is not None
            for line in child.stdout:
                marks[line.strip()] = time.process_time()
                marks[line.strip() + "_wall"] = time.monotonic()
                marks[line.strip() + "_gc"] = collector.seconds
            marks.setdefault("exited", time.process_time())

        try:
            worker = shared.run_worker(_worker, watch, profile=args.profile, clock=time.process_time)
        finally:
            child.wait(timeout=60)
        outs = outputs(run.bootstrap, database)
    if "drained" not in marks:
        raise SystemExit("the publisher stopped before the worker drained (its output above)")
    n = sum(counts.values())
    cpu = marks["drained"] - marks["start"]
    wall = marks["drained_wall"] - marks["start_wall"]
    print(f"scale {args.scale}: {events:,} source events → {counts[PROFILES]:,} profiles + {counts[FLAGS]:,} flags "
          f"messages, published at {args.rate:g}/s in chunks every {args.chunk_ms:g} ms")
    idle = 1e3 * (marks["start"] - marks["idle"]) / args.idle
    print(f"casework worker: {cpu:.2f} CPU-s from the first input to the drain (wall {wall:.1f} s) = "
          f"{1e3 * cpu / n:.3f} ms per input message, {1e3 * cpu / events:.4f} ms per source event; start-up "
          f"{marks['idle'] - worker.started_cpu:.2f} CPU-s; idle {idle:.1f} ms CPU per second "
          f"(load avg {os.getloadavg()[0]:.1f})")
    print(f"of which the garbage collector: {marks['drained_gc'] - marks['start_gc']:.2f} s")
    print("output: " + "; ".join(f"{k} {v}" for k, v in outs.items()))
    shared.print_profile(worker.profiler, "casework-worker")
    return 0


if __name__ == "__main__":
    sys.exit(main())
