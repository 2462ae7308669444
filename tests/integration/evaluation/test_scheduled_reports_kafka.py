"""Reports on a schedule over a real broker: a due report is published once to evaluation.reports.v1 by the worker,
and neither a restart nor a second instance on the same store publishes it again."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import pytest

from contracts.vocabulary import WARD_CODES
from services.evaluation.domain.schedule import JST, WEEKDAYS, Schedule, due_reports, latest_due, report_id
from tests.kafka_reader import TopicReader, wait_until

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
REPORTS = "evaluation.reports.v1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Worker:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.metrics_port = _free_port()
        self.log_path = log_path
        self._out: IO[bytes] = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.evaluation.entrypoints.faust_app"], cwd=ROOT,
            env={**env, "TSUNAGU_EVALUATION_METRICS_PORT": str(self.metrics_port)}, stdout=self._out,
            stderr=self._out)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self) -> None:
        wait_until(lambda: "Worker ready" in self.log() or self.process.poll() is not None, 120,
                   "the evaluation worker to start")
        assert self.process.poll() is None, self.log()[-3000:]

    def metric(self, line_start: str) -> float | None:
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()
        except OSError:
            return None
        return next((float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start)),
                    None)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._out.close()


def test_a_due_report_is_published_once_across_a_restart_and_two_instances(kafka_bootstrap: str,
                                                                            tmp_path: Path) -> None:
    run = uuid.uuid4().hex[:8]
    today = datetime.now(UTC).astimezone(JST)
    weekday = WEEKDAYS[today.weekday()]
    schedule = Schedule.of(weekday, datetime.min.time())  # due today at 00:00 JST: already due when workers start
    weekly, period = due_reports(latest_due(datetime.now(UTC), schedule), schedule)
    scopes = ("city", *WARD_CODES)  # the weekly report: the city's document and one per ward
    expected = {*(report_id(weekly, "html", scope) for scope in scopes), report_id(period, "html")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("TSUNAGU_EVALUATION_")}
    env.update({"TSUNAGU_EVALUATION_KAFKA_BOOTSTRAP": kafka_bootstrap,
                "TSUNAGU_EVALUATION_DATABASE_URL": f"sqlite:///{tmp_path}/evaluation.db",
                "TSUNAGU_EVALUATION_APP_ID": f"ev-sched-{run}", "TSUNAGU_EVALUATION_DATA_DIR": str(tmp_path / "faust"),
                "TSUNAGU_EVALUATION_AUTO_OFFSET_RESET": "latest", "TSUNAGU_EVALUATION_KAFKA_SESSION_TIMEOUT_S": "10",
                "TSUNAGU_EVALUATION_REPORTS_DIR": str(tmp_path / "reports"), "PYTHONUNBUFFERED": "1",
                "TSUNAGU_EVALUATION_SCHEDULE_WEEKDAY": weekday, "TSUNAGU_EVALUATION_SCHEDULE_TIME": "00:00",
                "TSUNAGU_EVALUATION_SCHEDULE_PDF": "false", "TSUNAGU_EVALUATION_SCHEDULE_CHECK_S": "1"})
    with TopicReader(kafka_bootstrap, REPORTS) as reader:
        first = Worker(env, tmp_path / "worker-1.log")
        try:
            first.wait_ready()
            published = reader.events(lambda e: (e.get("data") or {}).get("report_id") in expected, len(expected),
                                      timeout_s=90)
            assert sorted(e["data"]["report_id"] for e in published) == sorted(expected), first.log()[-3000:]
            assert {(e["data"]["kind"], e["data"]["period_label"], e["data"]["scope"]) for e in published} == {
                *(("weekly", weekly.period_label, scope) for scope in scopes),
                ("period", period.period_label, "city")}
            assert (tmp_path / "reports" / f"{weekly.file_stem}.html").exists()
            wait_until(lambda: first.metric(
                'tsunagu_evaluation_scheduled_reports_total{kind="weekly",outcome="published"}') == 1.0,
                30, "the worker to count the published weekly report")
        finally:
            first.stop()
        # A restart and a second instance on the same store: both check every second and publish nothing.
        again, second = Worker(env, tmp_path / "worker-2.log"), Worker(env, tmp_path / "worker-3.log")
        try:
            again.wait_ready()
            second.wait_ready()
            time.sleep(5)
            repeated = reader.events(lambda e: (e.get("data") or {}).get("report_id") in expected, 1, timeout_s=5)
            assert repeated == []
            assert "scheduled reports: every" in again.log() and "check failed" not in again.log() + second.log()
            # The restarted worker's last-success gauge comes from the store (what the alert watches).
            wait_until(lambda: (again.metric(
                'tsunagu_evaluation_scheduled_report_last_success_timestamp_seconds{kind="weekly"}') or 0) > 0,
                30, "the restarted worker to report the last success it found in the store")
        finally:
            again.stop()
            second.stop()
