"""The whole pipeline over a real broker, once clean and once with crashes: the same city must give the same flags
and the same alerts, nothing lost, nothing duplicated (issue 20).

    .venv/bin/python -m benchmarks.pipeline_chaos [--scale 0.002] [--days 120] [--kills 3] [--port 29392]

Each run gets a broker of its own (deploy/kafka/kafka.sh on ``--port``, a fresh data directory) so nothing of the
other run is on its topics; the simulator publishes the same city (same seed: same events, same ids); ingest,
linkage, scoring and the casework worker run as processes. The chaos run kills every service with SIGKILL
``--kills`` times at random moments while the city drains (and restarts it at once), and restarts the broker
once. A run is drained when every group's committed offsets reach the end of its input topics and stay there.

Compared: each child's final flags (the last scoring.flags.v1 message per child), the alerts in casework's
database (child, ward, tier, items, reason), alert ids published more than once on casework.alerts.v1, and per
restart the seconds until that service commits progress again (restart-to-resume).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.kafka_reader import TopicReader, decode  # noqa: E402

PY = sys.executable
SERVICES = {
    "ingest": ("services.ingest.entrypoints.worker", None),
    "linkage": ("services.linkage.entrypoints.worker", ["ingest.records.v1"]),
    "scoring": ("services.scoring.entrypoints.worker", ["linkage.facts.v1"]),
    "casework": ("services.casework.entrypoints.worker", ["scoring.flags.v1", "linkage.children.v1"]),
}


@dataclass
class Run:
    name: str
    port: int
    workdir: Path
    today: str
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    resume_s: list[tuple[str, float]] = field(default_factory=list)
    # Scale-out (benchmarks/pipeline_scaleout.py): instances per service (1 if absent), each with a DATA_DIR and
    # a static group instance id of its own; casework's database (SQLite in the workdir unless given).
    instances: dict[str, int] = field(default_factory=dict)
    database_url: str | None = None
    log_level: str = "warn"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def casework_url(self) -> str:
        return self.database_url or f"sqlite:///{self.workdir / 'casework.sqlite3'}"

    def kafka(self, action: str) -> None:
        env = {**os.environ, "KAFKA_PORT": str(self.port), "KAFKA_DATA_DIR": str(self.workdir / "kafka")}
        subprocess.run([str(ROOT / "deploy/kafka/kafka.sh"), action], env=env, check=True, timeout=180,
                       stdout=subprocess.DEVNULL)

    def env(self, service: str | None = None, index: int = 0) -> dict[str, str]:
        """The services' settings; with ``service``, those of its instance ``index`` when it runs several."""
        env = {**os.environ, "TSUNAGU_ENVIRONMENT": "development", "PYTHONUNBUFFERED": "1"}
        for name in SERVICES:
            prefix = f"TSUNAGU_{name.upper()}_"
            env |= {prefix + "KAFKA_BOOTSTRAP": self.bootstrap, prefix + "APP_ID": f"chaos-{name}",
                    prefix + "DATA_DIR": str(self.workdir / name), prefix + "METRICS_PORT": "0",
                    prefix + "LOG_LEVEL": self.log_level}
        if service is not None and self.instances.get(service, 1) > 1:
            prefix = f"TSUNAGU_{service.upper()}_"
            env[prefix + "DATA_DIR"] = str(self.workdir / f"{service}-{index}")
            env[prefix + "KAFKA_GROUP_INSTANCE_ID"] = f"chaos-{service}-{index}"
        env["TSUNAGU_SCORING_TODAY"] = self.today
        env["TSUNAGU_CASEWORK_DATABASE_URL"] = self.casework_url
        env["TSUNAGU_CASEWORK_SESSION_SECRET"] = "chaos-benchmark-" + "x" * 32
        return env

    def start(self, service: str, index: int = 0) -> None:
        """Starts ``service`` (its instance ``index`` when it runs several: key and log ``<service>-<index>``)."""
        key = service if self.instances.get(service, 1) == 1 else f"{service}-{index}"
        log = (self.workdir / f"{key}.log").open("ab")
        self.procs[key] = subprocess.Popen([PY, "-m", SERVICES[service][0]], cwd=ROOT, env=self.env(service, index),
                                           stdout=log, stderr=subprocess.STDOUT)

    def start_all(self) -> None:
        for service in SERVICES:
            for index in range(self.instances.get(service, 1)):
                self.start(service, index)

    def kill(self, service: str) -> None:
        proc = self.procs[service]
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def inputs(service: str) -> list[str]:
    if SERVICES[service][1] is not None:
        return list(SERVICES[service][1])  # type: ignore[arg-type]
    from contracts.sources import SOURCE_SYSTEMS
    return sorted(s.topic for s in SOURCE_SYSTEMS.values())


def lag(bootstrap: str) -> dict[str, int]:
    """Messages not yet committed, per service group (a group with no commit yet counts its whole input)."""
    probe = LagProbe(bootstrap)
    try:
        return probe()
    finally:
        probe.close()


PROBE_TIMEOUT_MS = 10_000  # each request of a lag poll: a broker that does not answer fails the poll, not the run


class LagProbe:
    """``lag`` through one admin client and one consumer kept open between polls. Opening both for each poll cost
    the benchmark ≈ 45 ms of CPU and the broker two connections' handshakes, metadata and coordinator lookups (≈ 16
    requests); a drain polls every 0.5 s, so ≈ 7 % of a core went to measuring beside the pipeline measured, and
    the broker's share counted as the pipeline's (docs/scaling.md, seventeenth pass). A poll now asks for the end
    offsets of every input partition (one ListOffsets) and every group's committed offsets (one OffsetFetch). The
    partitions are looked up once; after a ``KafkaError`` (the chaos run restarts the broker) both clients are
    closed and the next poll opens them again."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self._clients: tuple[KafkaAdminClient, KafkaConsumer] | None = None
        self._parts: dict[str, list[TopicPartition]] | None = None

    def __call__(self) -> dict[str, int]:
        try:
            if self._clients is None:
                self._clients = (KafkaAdminClient(bootstrap_servers=self.bootstrap,
                                                  request_timeout_ms=PROBE_TIMEOUT_MS),
                                 KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                               request_timeout_ms=PROBE_TIMEOUT_MS))
            admin, consumer = self._clients
            if self._parts is None:
                self._parts = self._partitions(admin)
            ends = consumer.end_offsets([tp for service_parts in self._parts.values() for tp in service_parts],
                                        timeout_ms=PROBE_TIMEOUT_MS)
            groups = admin.list_group_offsets([f"chaos-{service}" for service in SERVICES])
            out = {}
            for service, service_parts in self._parts.items():
                committed = groups.get(f"chaos-{service}", {})
                out[service] = sum(max(0, ends[tp] - (committed[tp].offset if tp in committed else 0))
                                   for tp in service_parts)
            return out
        except KafkaError:
            self.close()
            raise

    @staticmethod
    def _partitions(admin: KafkaAdminClient) -> dict[str, list[TopicPartition]]:
        """Each group's input partitions, from one metadata request of the admin client: it is bounded by the
        client's ``request_timeout_ms`` (the consumer's ``topics()`` waits for the cluster's metadata without a
        deadline, so a broker that takes connections and never answers held the drain past its ``--timeout``)."""
        wanted = {service: inputs(service) for service in SERVICES}
        found = {d["name"]: sorted(p["partition_index"] for p in d.get("partitions") or ())
                 for d in admin.describe_topics(sorted({t for topics in wanted.values() for t in topics}))
                 if d.get("error_code", 0) == 0}
        for service, topics in wanted.items():
            if not all(found.get(t) for t in topics):
                raise KafkaError(f"no metadata yet for {service}'s input topics")
        return {service: [TopicPartition(t, p) for t in topics for p in found[t]] for service, topics in wanted.items()}

    def close(self) -> None:
        if self._clients is not None:
            admin, consumer = self._clients
            self._clients = None
            consumer.close()
            admin.close()


def committed_total(bootstrap: str, service: str) -> int:
    """The sum of the group's committed offsets; -1 while the broker cannot say (restarting, no coordinator)."""
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    except KafkaError:
        return -1
    try:
        group = f"chaos-{service}"
        return sum(o.offset for o in admin.list_group_offsets(group).get(group, {}).values())
    except KafkaError:
        return -1
    finally:
        admin.close()


def drain(run: Run, timeout_s: float, quiet_s: float = 10.0, poll_s: float = 1.0,
          on_poll: Callable[[dict[str, int]], None] | None = None) -> float:
    """Waits until every group's lag is 0 and stays 0 for ``quiet_s``; returns when it first became 0. A service
    that exited ends the wait at once (the chaos run's kills and restarts are over before it drains). ``on_poll``
    is given each poll's lags by group (pipeline_e2e's timeline)."""
    deadline = time.monotonic() + timeout_s
    probe = LagProbe(run.bootstrap)
    try:
        return _drain(run, probe, deadline, timeout_s, quiet_s, poll_s, on_poll)
    finally:
        probe.close()


def _drain(run: Run, probe: LagProbe, deadline: float, timeout_s: float, quiet_s: float, poll_s: float,
           on_poll: Callable[[dict[str, int]], None] | None) -> float:
    zero_since: float | None = None
    while time.monotonic() < deadline:
        try:
            lags = probe()
        except KafkaError:
            lags = {"broker": 1}
        if on_poll is not None:
            on_poll(lags)
        if sum(lags.values()) == 0:
            zero_since = zero_since or time.monotonic()
            if time.monotonic() - zero_since >= quiet_s:
                return zero_since
        else:
            zero_since = None
        dead = [key for key, proc in run.procs.items() if proc.poll() is not None]
        if dead:
            raise SystemExit(f"{run.name}: {dead} exited while draining; logs in {run.workdir}")
        time.sleep(poll_s)
    try:
        last: dict[str, int] | str = probe()
    except KafkaError as exc:
        last = f"unknown ({type(exc).__name__})"
    raise SystemExit(f"{run.name}: not drained in {timeout_s:.0f} s; lag {last}; logs in {run.workdir}")


def resumed_after(run: Run, service: str, timeout_s: float = 180.0) -> float:
    """Seconds from a restart until the service commits progress again (or its input is already drained)."""
    started = time.monotonic()
    before = -1
    while before < 0 and time.monotonic() - started < timeout_s:
        before = committed_total(run.bootstrap, service)
    while time.monotonic() - started < timeout_s:
        try:
            if committed_total(run.bootstrap, service) > before or lag(run.bootstrap)[service] == 0:
                return time.monotonic() - started
        except KafkaError:
            pass
        time.sleep(0.5)
    return float("inf")


def publish(run: Run, args: argparse.Namespace, truth: Path | None = None) -> None:
    """The city of ``args`` onto the run's broker; with ``truth``, the simulator's truth into that directory."""
    subprocess.run([PY, "-m", "simulator", "generate", "--bootstrap", run.bootstrap, "--seed", str(args.seed),
                    "--scale", str(args.scale), "--days", str(args.days), "--no-progress",
                    *(["--truth", str(truth)] if truth else [])],
                   cwd=ROOT, capture_output=True, text=True, timeout=1800, check=True)


def results(run: Run) -> tuple[dict[str, list[int]], list[tuple], Counter[str]]:
    flags: dict[str, list[int]] = {}
    with TopicReader(run.bootstrap, "scoring.flags.v1", from_beginning=True) as reader:
        for message in reader.to_end(timeout_s=900):  # every message: a prefix is not the final state
            event = decode(message.value)
            if event is None:
                continue
            data = event["data"]
            flags[data["child_id"]] = sorted(f["item"] for f in data["after"]["flags"])
    published: Counter[str] = Counter()
    with TopicReader(run.bootstrap, "casework.alerts.v1", from_beginning=True) as reader:
        for message in reader.to_end(timeout_s=900):
            event = decode(message.value)
            if event:
                published[event["data"]["alert_id"]] += 1
    engine = sa.create_engine(run.casework_url)
    try:
        with engine.connect() as db:
            # items as the stored JSON text in both SQLite and PostgreSQL (psycopg would parse a json column)
            alerts = sorted(tuple(row) for row in db.execute(
                sa.text("SELECT child_id, ward_code, tier, CAST(items AS TEXT), reason FROM alerts")))
    finally:
        engine.dispose()
    return flags, alerts, published


def execute(name: str, args: argparse.Namespace, chaos: bool, *, instances: dict[str, int] | None = None,
            database_url: str | None = None, truth: Path | None = None, log_level: str = "warn",
            drained: Callable[[Run], None] | None = None) -> tuple[Run, dict, list, Counter[str], float]:
    """One run on a broker of its own. ``instances``, ``database_url``: as ``Run``'s; ``truth``: where the
    simulator writes its truth; ``drained``: called once the run is drained, its services still running."""
    workdir = ROOT / "var" / f"chaos-{name}-{int(time.time())}"
    workdir.mkdir(parents=True)
    run = Run(name, args.port, workdir, args.today, instances=dict(instances or {}), database_url=database_url,
              log_level=log_level)
    run.kafka("start")
    try:
        subprocess.run([PY, "-m", "contracts.admin", "create", "--bootstrap", run.bootstrap], cwd=ROOT, check=True,
                       timeout=120, stdout=subprocess.DEVNULL)
        publish(run, args, truth)
        subprocess.run([PY, "-m", "services.casework.entrypoints.cli", "migrate"], cwd=ROOT, env=run.env(),
                       check=True, timeout=120, stdout=subprocess.DEVNULL)
        started = time.monotonic()
        run.start_all()
        if chaos:
            rng = random.Random(args.seed)
            plan = [s for s in SERVICES for _ in range(args.kills)]
            rng.shuffle(plan)
            plan.insert(len(plan) // 2, "broker")
            for target in plan:
                time.sleep(rng.uniform(2, args.kill_every))
                if target == "broker":
                    run.kafka("stop")  # SIGTERM, then SIGKILL after 30 s: the broker's own restart
                    time.sleep(3)
                    run.kafka("start")
                    print(f"  {name}: broker restarted", flush=True)
                    continue
                run.kill(target)
                run.start(target)
                run.resume_s.append((target, resumed_after(run, target)))
                print(f"  {name}: {target} killed -9 and restarted; resumed in {run.resume_s[-1][1]:.1f} s", flush=True)
        elapsed = drain(run, args.timeout) - started
        if drained is not None:
            drained(run)
        flags, alerts, published = results(run)
        return run, flags, alerts, published, elapsed
    finally:
        run.stop_all()
        run.kafka("stop")


def linkage_build(parser: argparse.ArgumentParser, pure_python: bool) -> str:
    """What linkage's worker will run: its compiled build for these sources, or the pure Python. A throughput
    figure of the pure Python is not comparable with one of the build (linkage's CPU per event ≈ 1.5× on 2 Dec: a
    build left from before an edit of the linkage sources was silently not used), so the benchmark refuses to
    measure it unless asked to (``--pure-python``)."""
    from services.linkage import native

    digest = native.source_digest()
    if native.install():  # what the worker's own import does, with the same sources and environment
        return f"linkage compiled ({len(native.COMPILED)} modules, build {digest})"
    if not pure_python:
        parser.error(f"linkage has no compiled build for these sources (var/native/{digest}): run "
                     "`make native` first, or pass --pure-python to measure the pure Python on purpose")
    return "linkage in pure Python (--pure-python)"


def digest(rows: object) -> str:
    return hashlib.sha256(json.dumps(rows, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:16]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.002)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--kills", type=int, default=3, help="kills per service in the chaos run")
    parser.add_argument("--kill-every", type=float, default=12.0, help="at most this many seconds between kills")
    parser.add_argument("--port", type=int, default=29392)
    parser.add_argument("--today", default="2025-08-01", help="scoring's fixed evaluation date")
    parser.add_argument("--timeout", type=float, default=1800)
    args = parser.parse_args()
    outcome = {}
    for name, chaos in (("clean", False), ("chaos", True)):
        run, flags, alerts, published, elapsed = execute(name, args, chaos)
        outcome[name] = (flags, alerts, published)
        dup = sum(n - 1 for n in published.values() if n > 1)
        resume = sorted(s for _, s in run.resume_s)
        print(f"{name}: drained in {elapsed:.0f} s; children with flags messages {len(flags):,}; alerts "
              f"{len(alerts):,} (digest {digest(alerts)}); alert ids published twice {dup}"
              + (f"; restart-to-resume p50 {resume[len(resume) // 2]:.1f} s, max {resume[-1]:.1f} s"
                 if resume else ""), flush=True)
    (f_clean, a_clean, _), (f_chaos, a_chaos, p_chaos) = outcome["clean"], outcome["chaos"]
    differ = sorted(c for c in set(f_clean) | set(f_chaos) if f_clean.get(c) != f_chaos.get(c))
    lost = sorted(set(map(tuple, a_clean)) - set(map(tuple, a_chaos)))
    extra = sorted(set(map(tuple, a_chaos)) - set(map(tuple, a_clean)))
    print(f"final flags differ for {len(differ)} children; alerts lost {len(lost)}, extra {len(extra)}; "
          f"chaos alert ids published twice {sum(n - 1 for n in p_chaos.values() if n > 1)}")
    for row in (lost[:5] + extra[:5]):
        print(f"  {'lost' if row in lost else 'extra'}: {row}")
    same = not differ and not lost and not extra
    print("clean vs chaos: " + ("IDENTICAL" if same else "DIFFERENT"))
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
