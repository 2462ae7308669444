"""Benchmark: time from a flag event sent to Kafka to the alert shown in an open inbox (SSE), at a set rate.

    .venv/bin/python benchmarks/casework_alert_latency.py --bootstrap 127.0.0.1:9092 [--rate 200] [--seconds 15]
        [--database-url postgresql+psycopg://...]   (default: a fresh SQLite file)

Starts the casework worker and web app as processes, opens the live inbox stream as a ward user, sends
flag events for new children at --rate per second (each raises one alert) and prints p50/p95/p99/max.
Target: p99 < 1 s at 200 flag events/s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script: the repository root, for the tests' helper package

import httpx  # noqa: E402
from kafka import KafkaProducer  # noqa: E402

from tests.integration.casework.processes import casework_env, free_port, running, start_group_at_end  # noqa: E402
from tests.unit.casework.factories import flags_event, raw  # noqa: E402

WARDS = ["40131", "40132", "40133", "40134", "40135", "40136", "40137"]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cw-bench-"))
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    port = free_port()
    env = casework_env(args.bootstrap, url, tmp, TSUNAGU_CASEWORK_WEB_PORT=str(port),
                       TSUNAGU_CASEWORK_APP_ID=f"cw-bench-{uuid.uuid4().hex[:6]}")
    # measure new events, not the topic's history
    start_group_at_end(args.bootstrap, env["TSUNAGU_CASEWORK_APP_ID"],
                       ["scoring.flags.v1", "linkage.children.v1", "linkage.review.v1"])
    cli = [sys.executable, "-m", "services.casework.entrypoints.cli"]
    subprocess.run([*cli, "migrate"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*cli, "create-user", "--username", "bench-hq", "--password", "bench-password",
                    "--role", "hq_admin"], cwd=ROOT, env=env, check=True, capture_output=True)
    run = uuid.uuid4().hex[:8]
    total = args.rate * args.seconds
    sent_at: dict[str, float] = {}
    sent_wall: dict[str, float] = {}
    latencies: list[float] = []
    to_database: list[float] = []  # flag sent → alert committed by the worker (its raised_at)
    done = threading.Event()

    with running("services.casework.entrypoints.worker", env, tmp / "worker.log", "Worker ready") as worker, \
            running("services.casework.entrypoints.web", env, tmp / "web.log", "Uvicorn running"):
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=None)
        client.post("/api/session", json={"username": "bench-hq", "password": "bench-password"}).raise_for_status()

        def listen() -> None:
            with client.stream("GET", "/api/alerts/stream") as stream:
                for line in stream.iter_lines():
                    if line.startswith("data: "):
                        data = json.loads(line[6:])
                        child = data["child_id"]
                        if child in sent_at:
                            latencies.append(time.monotonic() - sent_at[child])
                            raised = datetime.fromisoformat(data["raised_at"]).timestamp()
                            to_database.append(raised - sent_wall[child])
                            if len(latencies) >= total:
                                done.set()
                                return

        threading.Thread(target=listen, daemon=True).start()
        time.sleep(2.0)  # let the stream connect and the worker settle into its partitions
        producer = KafkaProducer(bootstrap_servers=args.bootstrap, linger_ms=0, acks=1)
        cpu_before = cpu_seconds(worker.pid)
        start = time.monotonic()
        for n in range(total):
            due = start + n / args.rate
            while (now := time.monotonic()) < due:
                time.sleep(min(0.002, due - now))
            child = f"bench-{run}-{n}"
            event = raw(flags_event(child, WARDS[n % 7], [], [3], tier_after="見守り"))
            sent_at[child], sent_wall[child] = time.monotonic(), time.time()
            producer.send("scoring.flags.v1", key=child.encode(), value=event)
        producer.flush()
        send_s = time.monotonic() - start
        done.wait(timeout=60)
        worker_cpu = cpu_seconds(worker.pid) - cpu_before
        wall = time.monotonic() - start
    got = len(latencies)
    load = os.getloadavg()
    print(f"worker CPU {worker_cpu:.1f} s over {wall:.1f} s wall ({worker_cpu / max(got, 1) * 1000:.2f} ms per alert); "
          f"machine load average {load[0]:.1f} on {os.cpu_count()} cores")
    print(f"sent {total} flag events in {send_s:.1f} s ({total / send_s:.0f}/s); {got} alerts reached the inbox")
    if latencies:
        print(f"alert → open inbox latency: p50={percentile(latencies, 50) * 1000:.0f} ms  "
              f"p95={percentile(latencies, 95) * 1000:.0f} ms  p99={percentile(latencies, 99) * 1000:.0f} ms  "
              f"max={max(latencies) * 1000:.0f} ms  (database: {url.split(':')[0]})")
        print(f"  of which flag sent → alert in the database: p50={percentile(to_database, 50) * 1000:.0f} ms  "
              f"p99={percentile(to_database, 99) * 1000:.0f} ms (the rest is the web's poll and the stream)")


if __name__ == "__main__":
    main()
