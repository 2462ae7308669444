"""The live path: a source event handed to Kafka → the alert in an open inbox, with the whole pipeline running and
a background of source events at a set rate (issue 19: p99 ≤ 1 s at 200 events/s).

    .venv/bin/python -m benchmarks.pipeline_latency --scale 0.005 --days 365 --rate 200 --seconds 60 [--port 29592]

A broker of its own (deploy/kafka/kafka.sh on ``--port``), the simulator's city written to a file; everything but
the last ``rate × seconds`` events (the go-live load and the first days) is published and drained first, so the
services hold the city's state. Then the casework web app starts, an 本庁 user opens the live inbox stream
(`/api/alerts/stream`, Server-Sent Events), and the remaining events are sent one by one at ``--rate`` per second
(the sources' pace, not a backlog). For every alert raised by a source event of that phase — the first publication
of each alert id whose ``source_time`` (the source message's Kafka timestamp, carried through every stage) lies in
it — the latency is the moment the inbox stream delivered it minus ``source_time``. Also printed: source → alert
committed (``raised_at``) and → published on casework.alerts.v1, the CPU of each process during the live phase and
the load average. Wall-clock figures: run it with the machine otherwise idle.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from kafka import KafkaProducer

from benchmarks.pipeline_chaos import PY, ROOT, SERVICES, Run, drain, linkage_build
from benchmarks.pipeline_e2e import cpu_s, pct
from tests.integration.casework.processes import free_port
from tests.kafka_reader import TopicReader

USER, PASSWORD = "latency-hq", "latency-benchmark-password"


def send(producer: KafkaProducer, line: dict[str, Any]) -> None:
    key = line["key"]
    producer.send(line["topic"], key=key.encode() if isinstance(key, str) else None,
                  value=json.dumps(line["value"], ensure_ascii=False).encode())


class InboxStream:
    """An open inbox: the live stream of an 本庁 user (every ward), each alert id with the moment it arrived."""

    def __init__(self, base: str) -> None:
        self.arrived: dict[str, float] = {}
        self.client = httpx.Client(base_url=base, timeout=None)
        self.client.post("/api/session", json={"username": USER, "password": PASSWORD}).raise_for_status()
        self.connected = threading.Event()
        threading.Thread(target=self._listen, daemon=True).start()
        if not self.connected.wait(30):
            raise SystemExit("the inbox stream did not open")

    def _listen(self) -> None:
        try:
            with self.client.stream("GET", "/api/alerts/stream") as stream:
                self.connected.set()
                for line in stream.iter_lines():
                    if line.startswith("data: "):
                        self.arrived.setdefault(json.loads(line[6:])["alert_id"], time.time())
        except httpx.TransportError:  # the web app stopped at the end of the run
            return


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.005)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate", type=float, default=200.0, help="source events per second in the live phase")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the live phase")
    parser.add_argument("--port", type=int, default=29592)
    parser.add_argument("--today", default="2026-03-31", help="scoring's fixed evaluation date")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--pure-python", action="store_true",
                        help="run linkage without its compiled build (refused by default: make native builds it)")
    args = parser.parse_args()
    print(linkage_build(parser, args.pure_python), flush=True)
    workdir = ROOT / "var" / f"latency-{int(time.time())}"
    workdir.mkdir(parents=True)
    run = Run("latency", args.port, workdir, args.today)
    web: subprocess.Popen[bytes] | None = None
    run.kafka("start")
    try:
        env = run.env()
        subprocess.run([PY, "-m", "contracts.admin", "create", "--bootstrap", run.bootstrap], cwd=ROOT, check=True,
                       timeout=120, stdout=subprocess.DEVNULL)
        cli = [PY, "-m", "services.casework.entrypoints.cli"]
        subprocess.run([*cli, "migrate"], cwd=ROOT, env=env, check=True, timeout=120, stdout=subprocess.DEVNULL)
        subprocess.run([*cli, "create-user", "--username", USER, "--password", PASSWORD, "--role", "hq_admin"],
                       cwd=ROOT, env=env, check=True, timeout=120, capture_output=True)
        city = workdir / "city.jsonl"
        subprocess.run([PY, "-m", "simulator", "generate", "--out", str(city), "--seed", str(args.seed),
                        "--scale", str(args.scale), "--days", str(args.days), "--no-progress"],
                       cwd=ROOT, check=True, timeout=1800, capture_output=True)
        lines = [json.loads(raw) for raw in city.read_text(encoding="utf-8").splitlines() if raw.strip()]
        live_n = int(args.rate * args.seconds)
        if live_n >= len(lines) // 2:
            raise SystemExit(f"the city has {len(lines)} events: too few for {live_n} live ones after its go-live")
        backlog, live = lines[:-live_n], lines[-live_n:]

        producer = KafkaProducer(bootstrap_servers=run.bootstrap, acks="all", linger_ms=20)
        for line in backlog:
            send(producer, line)
        producer.flush()
        started = time.monotonic()
        for service in SERVICES:
            run.start(service)
        backlog_s = drain(run, 1800, quiet_s=0) - started
        port = free_port()
        with (workdir / "web.log").open("ab") as log:
            web = subprocess.Popen([PY, "-m", "services.casework.entrypoints.web"], cwd=ROOT,
                                   env={**env, "TSUNAGU_CASEWORK_WEB_PORT": str(port)}, stdout=log,
                                   stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while "Uvicorn running" not in (workdir / "web.log").read_text(errors="replace"):
            if web.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the web app did not start; {workdir / 'web.log'}")
            time.sleep(0.2)
        inbox = InboxStream(f"http://127.0.0.1:{port}")
        time.sleep(2.0)

        pids = {s: p.pid for s, p in run.procs.items()} | {"web": web.pid}
        cpu_before = {s: cpu_s(pid) for s, pid in pids.items()}
        live_start = time.time()
        producer = KafkaProducer(bootstrap_servers=run.bootstrap, acks="all", linger_ms=0)
        started = time.monotonic()
        for n, line in enumerate(live):
            due = started + n / args.rate
            while (now := time.monotonic()) < due:
                time.sleep(min(0.002, due - now))
            send(producer, line)
        producer.flush()
        send_s = time.monotonic() - started
        drain(run, 120, quiet_s=0)
        time.sleep(3.0)  # the web's poll and the stream
        cpu_live = {s: cpu_s(pid) - cpu_before[s] for s, pid in pids.items()}
        load = os.getloadavg()[0]

        first: dict[str, tuple[float, dict[str, Any]]] = {}  # alert id → (publish time, data) of its first message
        with TopicReader(run.bootstrap, "casework.alerts.v1", from_beginning=True) as reader:
            for message in reader.to_end(timeout_s=300):
                data = (json.loads(message.value) or {}).get("data") or {}
                if data.get("alert_id") and (data["alert_id"] not in first
                                             or message.timestamp / 1000 < first[data["alert_id"]][0]):
                    first[data["alert_id"]] = (message.timestamp / 1000, data)
    finally:
        if web is not None and web.poll() is None:
            web.terminate()  # an open stream keeps uvicorn waiting for its connections: killed after 10 s
            try:
                web.wait(timeout=10)
            except subprocess.TimeoutExpired:
                web.kill()
                web.wait()
        run.stop_all()
        run.kafka("stop")

    inbox_s, committed_s, published_s, missing = [], [], [], 0
    for alert_id, (published, data) in first.items():
        if not data.get("source_time"):
            continue
        source = datetime.fromisoformat(data["source_time"]).timestamp()
        if source < live_start:
            continue
        committed_s.append(datetime.fromisoformat(data["raised_at"]).timestamp() - source)
        published_s.append(published - source)
        if alert_id in inbox.arrived:
            inbox_s.append(inbox.arrived[alert_id] - source)
        else:
            missing += 1
    result = {"scale": args.scale, "days": args.days, "rate": args.rate, "live_events": live_n,
              "backlog_events": len(backlog), "backlog_drained_s": backlog_s, "sent_s": send_s,
              "alerts_live": len(committed_s), "not_seen_in_inbox": missing,
              "source_to_inbox_s": pct(inbox_s), "source_to_committed_s": pct(committed_s),
              "source_to_published_s": pct(published_s),
              "cpu_ms_per_live_event": {s: round(1e3 * c / live_n, 3) for s, c in cpu_live.items()},
              "load_avg_1m": load}
    print(f"backlog {len(backlog):,} events drained in {backlog_s:.0f} s; live {live_n:,} events sent in "
          f"{send_s:.1f} s ({live_n / send_s:.0f}/s); load average {load:.1f}\n"
          f"alerts raised by live events: {len(committed_s)} ({missing} not seen in the inbox stream)\n"
          f"source → open inbox: {json.dumps(result['source_to_inbox_s'])}\n"
          f"source → alert committed: {json.dumps(result['source_to_committed_s'])}; → published: "
          f"{json.dumps(result['source_to_published_s'])}\n"
          f"CPU ms per live event: {json.dumps(result['cpu_ms_per_live_event'])}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
