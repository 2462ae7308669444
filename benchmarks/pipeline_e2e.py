"""The whole pipeline as processes over a broker of its own: drain time, CPU per source event per stage, peak RSS,
source → alert latency, and the ceilings (a raw aiokafka consumer, Kafka's ConsumerPerformance) in the same run
(issue 19).

    .venv/bin/python -m benchmarks.pipeline_e2e [--scale 0.002] [--days 120] [--port 29492] [--json out.json]
        [--instances scoring=2]

Order: broker (deploy/kafka/kafka.sh on ``--port``, a fresh data directory) → catalogue → the simulator publishes the
city → the ceilings read the source topics (nothing else running) → ingest, linkage, scoring and the casework worker
start as processes (the runner and lag measurement of ``pipeline_chaos``) → timed until every group's committed
offsets reach the end of its input and stay there for 25 s (lag 0; scoring publishes the assessments it held
back during the backlog only after its input has been quiet, and casework handles them: the time until the lag was 0
for good counts, not the first moment it was 0, which is printed beside it).

CPU is user+system seconds of each process from /proc/<pid>/stat, at the end of the drain (start-up
included: imports, group join); CPU seconds barely move with other load on the machine, wall-clock figures do.
Peak RSS is the kernel's high-water mark (VmHWM). Latency is taken from casework.alerts.v1: the alert's Kafka
timestamp (published by the outbox relay) and its ``raised_at`` minus its ``source_time`` (the source message's Kafka
timestamp). The city is published before the services start, so this latency is mostly time spent queued in the
backlog: it measures the drain, not the live path (benchmarks/casework_alert_latency.py is the live figure).
Also printed: digests of each child's final flags and of casework's alerts (as pipeline_chaos computes them), so runs
of other code over the same city can be compared for identical output.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from benchmarks.pipeline_chaos import PY, ROOT, SERVICES, Run, digest, drain, inputs, linkage_build, publish, results
from services.scoring.config import ScoringSettings

TICK = os.sysconf("SC_CLK_TCK")
# lag 0 this long: drained (scoring's held-back assessments published and handled; ``measure``). Longer than
# scoring's CATCH_UP_QUIET_S and its once-a-second look: with the quiet at 10 s (twenty-third pass) and this at 10 s,
# a 0.25 drain ended 16 s before the release of 67 399 children, and neither its time nor its output had them.
SETTLED_S = ScoringSettings.model_fields["catch_up_quiet_s"].default + 15.0


def cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def waited_s(pid: int) -> float:
    """Seconds the process's threads spent runnable but waiting for a core (the scheduler's run-queue delay,
    /proc/<pid>/task/*/schedstat; threads that have ended are not counted)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(task.read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def machine_s(stat: str | None = None) -> dict[str, float]:
    """The machine's idle, I/O-wait and stolen seconds summed over its cores (the first line of /proc/stat, or
    ``stat``). Steal is the time a virtual machine's cores were ready to run and the host ran something else: a
    slower day's drain with steal is the host's load, not the code's."""
    fields = (stat if stat is not None else Path("/proc/stat").read_text()).split("\n", 1)[0].split()
    return {"idle": int(fields[4]) / TICK, "iowait": int(fields[5]) / TICK,
            "steal": int(fields[8]) / TICK if len(fields) > 8 else 0.0}


def _proc_field(pid: int, name: str, field: str) -> int | None:
    """The number after ``field:`` in /proc/<pid>/<name>; None when the process or the field is not there."""
    try:
        for line in Path(f"/proc/{pid}/{name}").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def written_bytes(pid: int) -> int:
    """Bytes the process caused to be written to the disk (/proc/<pid>/io ``write_bytes``: what reached the block
    layer, page cache write-back included; 0 when not readable)."""
    return _proc_field(pid, "io", "write_bytes") or 0


def peak_rss_mib(pid: int) -> float:
    kib = _proc_field(pid, "status", "VmHWM")
    return float("nan") if kib is None else kib / 1024


def source_count(bootstrap: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        consumer.topics()
        parts = [TopicPartition(t, p) for t in inputs("ingest") for p in consumer.partitions_for_topic(t) or ()]
        return sum(consumer.end_offsets(parts).values())
    finally:
        consumer.close()


RAW_READER = """
import asyncio, resource, sys, time
from aiokafka import AIOKafkaConsumer, TopicPartition
async def main(bootstrap, topics, want):
    c = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                         auto_offset_reset="earliest", max_partition_fetch_bytes=4 << 20)
    await c.start()
    cluster = await c._client.fetch_all_metadata()  # partitions_for_topic knows only what was fetched
    parts = [TopicPartition(t, p) for t in topics for p in (cluster.partitions_for_topic(t) or ())]
    c.assign(parts)
    await c.seek_to_beginning(*parts)
    n, t0, cpu0 = 0, None, 0.0
    while n < want:
        batch = await c.getmany(timeout_ms=1000, max_records=10000)
        if batch and t0 is None:
            ru = resource.getrusage(resource.RUSAGE_SELF)
            t0, cpu0 = time.perf_counter(), ru.ru_utime + ru.ru_stime
        n += sum(len(v) for v in batch.values())
    wall = time.perf_counter() - t0
    await c.stop()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(n, wall, ru.ru_utime + ru.ru_stime - cpu0)
asyncio.run(main(sys.argv[1], sys.argv[2].split(","), int(sys.argv[3])))
"""


def raw_ceiling(bootstrap: str, total: int) -> dict[str, float]:
    done = subprocess.run([PY, "-c", RAW_READER, bootstrap, ",".join(inputs("ingest")), str(total)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise SystemExit(f"raw reader failed: {done.stderr[-2000:]}")
    out = done.stdout.split()
    n, wall, cpu = int(out[0]), float(out[1]), float(out[2])
    return {"messages": n, "wall_s": wall, "events_per_s": n / wall, "cpu_ms_per_event": cpu * 1e3 / n}


FAUST_FLOOR = """
import os, resource, sys, time, faust
bootstrap, topics, want, out = sys.argv[1], sys.argv[2].split(","), int(sys.argv[3]), sys.argv[4]
app = faust.App(f"e2e-faust-floor-{os.getpid()}", broker=f"kafka://{bootstrap}", key_serializer="raw",
                value_serializer="raw", web_enabled=False, consumer_auto_offset_reset="earliest",
                store="memory://", datadir=f"/tmp/e2e-faust-floor-{os.getpid()}", topic_allow_declare=True)
first = []
@app.agent(app.topic(*topics, key_type=bytes, value_type=bytes), concurrency=1)
async def drain(stream):
    seen = 0
    async for _ in stream.events():
        if not first:
            ru = resource.getrusage(resource.RUSAGE_SELF)
            first.append((time.perf_counter(), ru.ru_utime + ru.ru_stime))
        seen += 1
        if seen >= want:
            ru = resource.getrusage(resource.RUSAGE_SELF)
            with open(out, "w") as f:  # not stdout: the Faust worker turns prints into log lines
                f.write(f"{seen} {time.perf_counter() - first[0][0]} {ru.ru_utime + ru.ru_stime - first[0][1]}")
            os._exit(0)
sys.argv = [sys.argv[0], "worker", "--without-web", "-l", "warn"]
app.main()
"""


FLOOR_SAMPLE = 250_000  # messages the do-nothing Faust agent reads at most (≈ 30 s; a per-message figure)


def faust_floor(bootstrap: str, total: int) -> dict[str, float]:
    """A Faust agent that does nothing with each event: what Faust and aiokafka cost per message before any
    handler (CPU from the first event on, start-up excluded)."""
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as out:
        done = subprocess.run([PY, "-c", FAUST_FLOOR, bootstrap, ",".join(inputs("ingest")), str(total), out.name],
                              cwd=ROOT, capture_output=True, text=True, timeout=900)
        figures = out.read().split()
    if len(figures) != 3:
        raise SystemExit(f"faust floor failed: {done.stderr[-2000:]}")
    n, wall, cpu = figures
    return {"messages": int(n), "events_per_s": int(n) / float(wall), "cpu_ms_per_event": float(cpu) * 1e3 / int(n)}


def perf_ceiling(bootstrap: str) -> dict[str, float]:
    """Kafka's ConsumerPerformance, one topic at a time (it takes one); fetch time summed, JVM start excluded."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        consumer.topics()
        counts = {t: sum(consumer.end_offsets([TopicPartition(t, p) for p in consumer.partitions_for_topic(t)
                                                or ()]).values()) for t in inputs("ingest")}
    finally:
        consumer.close()
    messages, fetch_s = 0, 0.0
    for topic, count in counts.items():
        if not count:
            continue
        text = subprocess.run(
            ["java", "-Xmx256m", "-cp", str(ROOT / "deploy/kafka/.jars/*"),
             "org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", bootstrap, "--topic", topic,
             "--messages", str(count), "--timeout", "30000", "--hide-header"],
            capture_output=True, text=True, timeout=300, check=True).stdout
        row = [line for line in text.splitlines() if re.match(r"^\d{4}-", line)][-1].split(",")
        # start, end, MB, MB/s, nMsg, nMsg/s, rebalance ms, fetch ms, fetch MB/s, fetch nMsg/s
        messages += int(row[4])
        fetch_s += float(row[7]) / 1000
    return {"messages": messages, "fetch_s": fetch_s, "events_per_s": messages / fetch_s if fetch_s else 0.0}


def pct(values: list[float]) -> dict[str, float]:
    """p50, p90, p99 and the maximum, in seconds to the millisecond ({} when there are none)."""
    values = sorted(values)
    return {f"p{q}": round(values[min(len(values) - 1, int(len(values) * q / 100))], 3)
            for q in (50, 90, 99, 100)} if values else {}


def latencies(bootstrap: str) -> dict[str, object]:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, consumer_timeout_ms=5000,
                             auto_offset_reset="earliest", enable_auto_commit=False)
    by_publish, by_raised = [], []
    try:
        consumer.topics()
        parts = [TopicPartition("casework.alerts.v1", p) for p in consumer.partitions_for_topic("casework.alerts.v1")
                 or ()]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        for message in consumer:
            data = json.loads(message.value).get("data", {})
            if not data.get("source_time"):
                continue
            source = datetime.fromisoformat(data["source_time"]).timestamp()
            by_publish.append(message.timestamp / 1000 - source)
            by_raised.append(datetime.fromisoformat(data["raised_at"]).timestamp() - source)
    finally:
        consumer.close()

    return {"alerts_with_source_time": len(by_publish), "published_minus_source_s": pct(by_publish),
            "raised_minus_source_s": pct(by_raised)}


def broker_pid(run: Run) -> int:
    return int((run.workdir / "kafka" / "broker.pid").read_text().strip())


def measure(run: Run, timeout_s: float) -> dict[str, object]:
    broker = broker_pid(run)  # the broker shares the two cores: its CPU idle (10 s), then during the drain
    idle_from = cpu_s(broker)
    time.sleep(10)
    broker_idle_per_s = (cpu_s(broker) - idle_from) / 10
    broker_before, broker_written = cpu_s(broker), written_bytes(broker)
    started = time.monotonic()
    run.start_all()
    pids = {s: p.pid for s, p in run.procs.items()}
    samples: list[tuple[float, dict[str, int], dict[str, float]]] = []  # (seconds in, lags, CPU s by process)

    def sample(lags: dict[str, int]) -> None:
        samples.append((time.monotonic() - started, lags,
                        {**{s: cpu_s(pid) for s, pid in pids.items()}, "broker": cpu_s(broker),
                         **{f"{s} waiting": waited_s(pid) for s, pid in pids.items()}, **machine_s()}))

    # Drained when every lag reached 0 and stayed there for SETTLED_S: scoring publishes what it held back during
    # a backlog only once its input has been quiet (CATCH_UP_QUIET_S, looked at every second), and casework then
    # has those flags to handle; the first moment all lags are 0 comes before that (until 1 Dec 2026 the drain
    # ended there, leaving the held assessments and their alerts out of the time and the CPU)
    drained = drain(run, timeout_s, quiet_s=SETTLED_S, poll_s=0.5, on_poll=sample) - started
    busy = next((i for i, (_, lags, _) in enumerate(samples) if sum(lags.values()) > 0), 0)
    first_zero = next((t for t, lags, _ in samples[busy:] if sum(lags.values()) == 0), drained)
    at_end = _cpu_at(samples, drained)
    return {"drain_s": drained, "first_lag_zero_s": first_zero, "timeline": timeline(samples, drained),
            "cpu_s": {s: at_end[s] for s in pids},
            "broker_cpu_s": at_end["broker"] - broker_before, "broker_idle_cpu_per_s": broker_idle_per_s,
            "peak_rss_mib": {s: peak_rss_mib(pid) for s, pid in pids.items()},
            # the disk's share: at scale 1.0 linkage's SQLite writes were throttled (I/O wait), its rate fell 10×
            "written_mib": {**{s: written_bytes(pid) / 2**20 for s, pid in pids.items()},
                            "broker": (written_bytes(broker) - broker_written) / 2**20}}


def timeline(samples: list[tuple[float, dict[str, int], dict[str, float]]], drained: float) -> list[dict[str, Any]]:
    """Where the drain's wall time went: the phases between the moments each group's lag last left 0 for good
    (its input all handled; the upstream groups first), and in each phase the cores each process used (CPU seconds
    over the phase's seconds). A process at ≈ 1.0 in a phase is that phase's bottleneck; a phase where none is, is
    waiting (a hold, a linger, a round trip). Beside them, per phase: how many cores' worth of each service's
    threads waited to run (``<service> waiting``: runnable, no core free: the machine is the limit), and the
    machine's idle and I/O-wait cores (``idle``, ``iowait``: nothing runnable) and the cores the host took
    (``steal``)."""
    if not samples:
        return []
    done: dict[str, float] = {}
    for service in samples[-1][1]:
        busy = [t for t, lags, _ in samples if lags.get(service, 0) > 0]
        done[service] = min(busy[-1] + 0.5, drained) if busy else 0.0  # the poll after its last non-zero lag
    phases: list[dict[str, Any]] = []
    begin, begin_cpu = 0.0, samples[0][2]
    for service, end in sorted(done.items(), key=lambda item: item[1]):
        if end <= begin:
            continue
        end_cpu = _cpu_at(samples, end)
        span = end - begin
        phases.append({"until": f"{service} caught up", "from_s": round(begin, 1), "to_s": round(end, 1),
                       "cores": {k: round((end_cpu[k] - begin_cpu[k]) / span, 2) for k in end_cpu}})
        begin, begin_cpu = end, end_cpu
    return phases


def _cpu_at(samples: list[tuple[float, dict[str, int], dict[str, float]]], at: float) -> dict[str, float]:
    """The CPU seconds of the first sample at or after ``at`` (the last one if none)."""
    for t, _, cpu in samples:
        if t >= at:
            return cpu
    return samples[-1][2]


def startup_cpu(run: Run, settle_s: float = 15.0, deadline_s: float = 900.0) -> tuple[dict[str, float], dict]:
    """The same services restarted with the whole state and nothing new to read: their CPU until every one has been
    idle for 6 s (loading state included: scoring's changelog takes ≈ 50 s at scale 1.0), at least ``settle_s``,
    to subtract from the drain's figures (it weighs at small scales); and whether each came back: its group Stable
    with one member after that (a scoring worker dropped from its group after each load and loading again looked
    idle for the first 15 s)."""
    run.stop_all()
    run.start_all()
    started = time.monotonic()
    history: list[dict[str, float]] = []
    while True:
        time.sleep(2.0)
        history.append({s: cpu_s(p.pid) for s, p in run.procs.items()})
        # idle: under 5 % of a core over 6 s. Not less: a time-ordered worker with nothing to read still fetches
        # every 50 ms (ingest and linkage: 2.4–3.5 % of a core each on a slow day, 1 Dec 2026), and below that
        # the restart never looked idle and ran into the deadline (900 s)
        quiet = len(history) > 3 and all(history[-1][s] - history[-4][s] < 0.3 for s in history[-1])
        if (quiet and time.monotonic() - started >= settle_s) or time.monotonic() - started > deadline_s:
            break
    elapsed = time.monotonic() - started
    groups: dict[str, str] = {}
    admin = KafkaAdminClient(bootstrap_servers=run.bootstrap)
    try:
        names = [run.env()[f"TSUNAGU_{s.upper()}_APP_ID"] for s in SERVICES]
        for name, description in admin.describe_groups(names).items():
            groups[name] = f"{description.get('group_state')}, {len(description.get('members') or [])} member(s)"
    finally:
        admin.close()
    return history[-1], {"settled_s": round(elapsed, 1), "settled": elapsed <= deadline_s, "groups": groups}


def instances(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, int]:
    """``--instances``: service → how many instances in its group. Ingest and scoring only: linkage's state is one
    SQLite file (one instance), and casework's instances share a PostgreSQL database (benchmarks/pipeline_scaleout.py),
    not the SQLite file this benchmark gives it."""
    counts: dict[str, int] = {}
    for item in args.instances:
        service, _, n = item.partition("=")
        if service not in ("ingest", "scoring") or not n.isdigit() or int(n) < 1:
            parser.error("--instances takes SERVICE=N for ingest or scoring")
        counts[service] = int(n)
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.002)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port", type=int, default=29492)
    parser.add_argument("--today", default="2025-08-01", help="scoring's fixed evaluation date")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true",
                        help="keep the run's directory (the broker's data, the services' state and logs: 16–19 GB at "
                             "scale 1.0) to read it again; by default only the services' logs are kept")
    parser.add_argument("--log-level", default="warn", choices=["crit", "error", "warn", "info", "debug"],
                        help="the services' LOG_LEVEL (their logs are kept in the run's directory)")
    parser.add_argument("--instances", nargs="*", default=[], metavar="SERVICE=N",
                        help="run N instances of a service in its group (e.g. scoring=2; linkage stays one: its "
                             "state is one SQLite file, docs/scaling.md); their figures are printed per instance")
    parser.add_argument("--pure-python", action="store_true",
                        help="run linkage without its compiled build (refused by default: make native builds it)")
    args = parser.parse_args()
    build = linkage_build(parser, args.pure_python)
    print(build, flush=True)
    workdir = ROOT / "var" / f"e2e-{int(time.time())}"
    workdir.mkdir(parents=True)
    run = Run("e2e", args.port, workdir, args.today, log_level=args.log_level, instances=instances(parser, args))
    run.kafka("start")
    try:
        subprocess.run([PY, "-m", "contracts.admin", "create", "--bootstrap", run.bootstrap], cwd=ROOT, check=True,
                       timeout=120, stdout=subprocess.DEVNULL)
        publish(run, args)
        total = source_count(run.bootstrap)
        raw, perf = raw_ceiling(run.bootstrap, total), perf_ceiling(run.bootstrap)
        floor = faust_floor(run.bootstrap, min(total, FLOOR_SAMPLE))
        subprocess.run([PY, "-m", "services.casework.entrypoints.cli", "migrate"], cwd=ROOT, env=run.env(),
                       check=True, timeout=120, stdout=subprocess.DEVNULL)
        figures = measure(run, args.timeout)
        figures["latency"] = latencies(run.bootstrap)
        flags, alerts, published = results(run)  # what came out, to compare runs of other code on the same city
        figures["output"] = {"children_with_flags": len(flags), "flags_digest": digest(sorted(flags.items())),
                             "alerts": len(alerts), "alerts_digest": digest(alerts),
                             "alert_ids_published_twice": sum(n - 1 for n in published.values() if n > 1),
                             # an alert in a ward's inbox for a flag the child no longer has: a partial history's
                             # (docs/scoring.md "Backlogs"; 0 in a drain shorter than CATCH_UP_MAX_HOLD_S)
                             "alerts_for_children_unflagged_at_end": sum(1 for row in alerts if not flags.get(row[0]))}
        figures["startup_cpu_s"], figures["restart"] = startup_cpu(run)
        # per child and per alert, so two runs with different digests can be compared child by child (--json)
        figures["final_flags"] = dict(sorted(flags.items()))
        figures["alert_rows"] = [list(row) for row in alerts]
    finally:
        run.stop_all()
        run.kafka("stop")
        if not args.keep:  # three scale-1.0 runs' directories had filled the disk to 95 %
            for item in workdir.iterdir():
                if item.is_dir():
                    shutil.rmtree(item, ignore_errors=True)
                elif not item.name.endswith(".log"):
                    item.unlink(missing_ok=True)
    cpu = figures["cpu_s"]
    assert isinstance(cpu, dict)
    startup = figures["startup_cpu_s"]
    assert isinstance(startup, dict)
    rate = total / float(figures["drain_s"])  # type: ignore[arg-type]
    result = {"scale": args.scale, "days": args.days, "source_events": total, **figures, "events_per_s": rate,
              "cpu_ms_per_event": {s: 1e3 * c / total for s, c in cpu.items()},
              "cpu_ms_per_event_sum": 1e3 * sum(cpu.values()) / total,
              "cpu_ms_per_event_net": {s: 1e3 * (c - startup[s]) / total for s, c in cpu.items()},
              "cpu_ms_per_event_net_sum": 1e3 * sum(c - startup[s] for s, c in cpu.items()) / total,
              "broker_cpu_ms_per_event": 1e3 * float(figures["broker_cpu_s"]) / total,  # type: ignore[arg-type]
              "broker_cpu_ms_per_event_net": 1e3 * (float(figures["broker_cpu_s"])  # type: ignore[arg-type]
                                                    - float(figures["broker_idle_cpu_per_s"])  # type: ignore[arg-type]
                                                    * float(figures["drain_s"])) / total,  # type: ignore[arg-type]
              "raw_aiokafka": raw,
              "consumer_performance": perf, "faust_do_nothing_agent": floor,
              "pipeline_over_raw": rate / raw["events_per_s"],
              "load_avg_1m": os.getloadavg()[0], "linkage_build": build,
              "cpu_nice": {s: int(os.environ.get(f"TSUNAGU_{s.upper()}_CPU_NICE", "0")) for s in SERVICES},
              "instances": {s: run.instances.get(s, 1) for s in SERVICES}}
    several = ", ".join(f"{s} × {n}" for s, n in run.instances.items() if n > 1)
    per = " / ".join(f"{s} {v:.2f}" for s, v in result["cpu_ms_per_event"].items())
    net = " / ".join(f"{s} {v:.2f}" for s, v in result["cpu_ms_per_event_net"].items())
    rss, written = figures["peak_rss_mib"], figures["written_mib"]
    assert isinstance(rss, dict) and isinstance(written, dict)
    print(f"scale {args.scale}: {total:,} source events drained in {figures['drain_s']:.1f} s = {rate:,.0f} events/s "
          f"(every lag first 0 at {figures['first_lag_zero_s']:.1f} s; "
          f"load avg {result['load_avg_1m']:.1f}; CPU_NICE "
          f"{', '.join(f'{s} {n}' for s, n in result['cpu_nice'].items())}"
          f"{'; instances ' + several if several else ''})\n"
          f"CPU ms per source event: {result['cpu_ms_per_event_sum']:.2f} ({per}); less start-up "
          f"{result['cpu_ms_per_event_net_sum']:.2f} ({net}); the broker during the drain "
          f"{result['broker_cpu_ms_per_event']:.2f} (less its idle rate "
          f"{result['broker_cpu_ms_per_event_net']:.2f})\n"
          f"peak RSS MiB: {sum(rss.values()):.0f} ({', '.join(f'{s} {v:.0f}' for s, v in rss.items())})\n"
          f"written to disk, KiB per source event: "
          f"{', '.join(f'{s} {v * 1024 / total:.1f}' for s, v in written.items())}\n"
          f"raw aiokafka {raw['events_per_s']:,.0f} events/s, ConsumerPerformance {perf['events_per_s']:,.0f} "
          f"msg/s; pipeline / raw = {result['pipeline_over_raw']:.4f}\n"
          f"CPU ms per message from the first on: raw aiokafka {raw['cpu_ms_per_event']:.4f}, a Faust agent doing "
          f"nothing {floor['cpu_ms_per_event']:.4f} ({floor['events_per_s']:,.0f} events/s)\n"
          f"source → alert latency (backlog drain): {json.dumps(figures['latency'])}\n"
          f"output: {json.dumps(figures['output'])}\n"
          f"restarted with the whole state: CPU s {json.dumps(figures['startup_cpu_s'])}; "
          f"{json.dumps(figures['restart'])}")
    for phase in figures["timeline"]:  # type: ignore[attr-defined]
        used = {k: v for k, v in phase["cores"].items() if " " not in k and k not in ("idle", "iowait", "steal")}
        other = {k: v for k, v in phase["cores"].items() if k not in used}
        print(f"  {phase['from_s']:6.1f} → {phase['to_s']:6.1f} s, until {phase['until']}: cores used "
              + ", ".join(f"{k} {v:.2f}" for k, v in used.items()))
        print("      " + ", ".join(f"{k} {v:.2f}" for k, v in other.items()))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
