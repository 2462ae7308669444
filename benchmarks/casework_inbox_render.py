"""Benchmark: server-side render time of a ward inbox holding 1,000 alerts (target < 300 ms).

    .venv/bin/python benchmarks/casework_inbox_render.py [--alerts 1000] [--database-url sqlite:///...]

Seeds alerts through the worker's own handler, logs in as the ward's user and times GET / and
GET /api/alerts in-process (no network), printing p50/p99.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient

from services.casework.bootstrap import bootstrap
from services.casework.config import CaseworkSettings
from services.casework.entrypoints.web import create_app
from services.casework.service_layer.auth import create_user
from services.casework.service_layer.worker import WorkerHandlers
from tests.unit.casework.factories import flags_event, profile_event, raw


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=1000)
    parser.add_argument("--renders", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    container = bootstrap(CaseworkSettings(database_url=url, environment="test", session_secret="b" * 32))
    worker = WorkerHandlers(container)
    started = time.perf_counter()
    items_cycle = [[3], [17], [3, 17], [9, 18], [12, 13, 19]]
    for start in range(0, args.alerts, 200):
        batch = range(start, min(args.alerts, start + 200))
        worker.process_batch("profile", [(raw(profile_event(f"bench-{n}", "40131", name=f"福岡 花子{n}")), "bench")
                                         for n in batch])
        worker.process_batch("flags", [(raw(flags_event(f"bench-{n}", "40131", [], items_cycle[n % 5],
                                                        tier_after="予防")), "bench") for n in batch])
    seeded = time.perf_counter() - started
    with container.sessions.begin() as s:
        create_user(s, username="bench", password="bench-password", role="ward_staff", ward_code="40131",
                    division=None, now=container.clock())
    client = TestClient(create_app(container), base_url="http://127.0.0.1")
    assert client.post("/api/session", json={"username": "bench", "password": "bench-password"}).status_code == 200
    for path in ("/", "/api/alerts"):
        timings, cpu = [], []
        for _ in range(args.renders):
            t0, c0 = time.perf_counter(), time.process_time()
            response = client.get(path)
            timings.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)  # client + server: an upper bound of the server's CPU
            assert response.status_code == 200
        rows = response.text.count("data-alert-id=") if path == "/" else len(response.json())
        print(f"{path:<12} rows={rows:>5}  p50={statistics.median(timings):7.1f} ms  "
              f"p99={percentile(timings, 99):7.1f} ms  max={max(timings):7.1f} ms  "
              f"cpu p50={statistics.median(cpu):6.1f} ms  (n={args.renders})")
    print(f"seeded {args.alerts} children and alerts through the worker's batch handler in {seeded:.1f} s "
          f"({2 * args.alerts / seeded:.0f} messages/s) on {url.split(':')[0]}")


if __name__ == "__main__":
    main()
