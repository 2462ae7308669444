"""Runs Tsunagu's services as real processes against a test broker, each with its own ports and group ids."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from deploy.wait_consumers import stable_groups

ROOT = Path(__file__).resolve().parents[2]

PROCESSES = {
    "ingest": "services.ingest.entrypoints.worker",
    "linkage": "services.linkage.entrypoints.worker",
    "scoring": "services.scoring.entrypoints.worker",
    "casework": "services.casework.entrypoints.worker",
    "casework-web": "services.casework.entrypoints.web",
}


@dataclass
class RunningServices:
    bootstrap: str
    workdir: Path
    database_url: str
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    web_port: int = field(default_factory=lambda: free_port())
    metrics_ports: dict[str, int] = field(default_factory=lambda: {
        name: free_port() for name in ("ingest", "linkage", "scoring", "casework")})
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def group(self, service: str) -> str:
        return f"e2e-{self.run_id}-{service}"

    def env(self) -> dict[str, str]:
        env = {**os.environ, "TSUNAGU_ENVIRONMENT": "development", "PYTHONUNBUFFERED": "1"}
        for service in ("ingest", "linkage", "scoring", "casework"):
            prefix = f"TSUNAGU_{service.upper()}_"
            env[prefix + "KAFKA_BOOTSTRAP"] = self.bootstrap
            env[prefix + "APP_ID"] = self.group(service)
            env[prefix + "DATA_DIR"] = str(self.workdir / service)
            env[prefix + "METRICS_PORT"] = str(self.metrics_ports[service])
        env["TSUNAGU_CASEWORK_WEB_PORT"] = str(self.web_port)
        env["TSUNAGU_CASEWORK_DATABASE_URL"] = self.database_url
        return env

    def cli(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "services.casework.entrypoints.cli", *args],
            env=self.env(), cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    def start(self, *names: str) -> None:
        """Starts the services; if they do not all become ready, stops every one of them before failing (a
        fixture whose setup fails is never torn down: a worker left behind would consume every later test's
        events)."""
        self.cli("migrate")
        try:
            for name in names or tuple(PROCESSES):
                log = open(self.workdir / f"{name}.log", "wb")
                self.procs[name] = subprocess.Popen(
                    [sys.executable, "-m", PROCESSES[name]], env=self.env(), cwd=ROOT, stdout=log,
                    stderr=subprocess.STDOUT)
            self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def wait_ready(self, timeout: float = 150) -> None:
        deadline = time.monotonic() + timeout
        groups = tuple(self.group(s) for s in ("ingest", "linkage", "scoring", "casework") if s in self.procs)
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="e2e-wait")
        try:
            while time.monotonic() < deadline:
                self.assert_alive()
                web_ok = "casework-web" not in self.procs or _http_ok(f"http://127.0.0.1:{self.web_port}/healthz")
                try:
                    joined = stable_groups(admin, groups) == set(groups)
                except KafkaError:
                    joined = False
                if web_ok and joined:
                    return
                time.sleep(1)
        finally:
            admin.close()
        raise AssertionError("services not ready in time:\n" + self.tail_logs())

    def assert_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        assert not dead, f"services exited: {dead}\n" + self.tail_logs()

    def tail_logs(self, lines: int = 30) -> str:
        out = []
        for name in self.procs:
            path = self.workdir / f"{name}.log"
            if path.exists():
                text = path.read_text("utf-8", errors="replace").splitlines()[-lines:]
                out.append(f"--- {name} ---\n" + "\n".join(text))
        return "\n".join(out)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def free_port() -> int:
    """A port the OS has just handed out: no clash with another run's services on this machine."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False
