"""``worker_priority``: every thread of the worker at the priority its ``CPU_NICE`` asks and under ``SCHED_IDLE``
when its ``CPU_IDLE`` asks (docs/scaling.md, One machine); a nice value outside 0–19 is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts.kafka_batches import worker_priority
from services.casework.config import CaseworkSettings
from services.ingest.config import IngestSettings
from services.linkage.config import LinkageSettings
from services.scoring.config import ScoringSettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]

# a thread started before the call, the main thread, and one started after: each one's priority and policy
PROBE = """
import json, os, sys, threading
from contracts.kafka_batches import worker_priority
seen, policies, go = {"start": os.getpriority(os.PRIO_PROCESS, 0)}, {}, threading.Event()
def record(name):
    seen[name] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    policies[name] = os.sched_getscheduler(threading.get_native_id())
def early():
    go.wait(10)
    record("before")
t = threading.Thread(target=early); t.start()
policies["start"] = os.sched_getscheduler(0)
worker_priority(int(sys.argv[1]), sys.argv[2] == "idle")
record("main")
go.set(); t.join(10)
after = threading.Thread(target=record, args=("after",)); after.start(); after.join(10)
print(json.dumps([seen, policies]))
"""


def _probe(nice: int, idle: bool = False) -> tuple[dict[str, int], dict[str, int]]:
    done = subprocess.run([sys.executable, "-c", PROBE, str(nice), "idle" if idle else "normal"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=True)
    seen, policies = json.loads(done.stdout)
    return dict(seen), dict(policies)


def _priorities(nice: int) -> dict[str, int]:
    return _probe(nice)[0]


def test_every_thread_takes_the_priority_those_started_before_too() -> None:
    seen = _priorities(19)
    assert seen.pop("start") < 19
    assert seen == {"before": 19, "main": 19, "after": 19}


def test_zero_leaves_the_threads_as_they_are() -> None:
    seen, policies = _probe(0)
    start = seen.pop("start")
    assert seen == {"before": start, "main": start, "after": start}
    assert set(policies.values()) == {os.SCHED_OTHER}


def test_idle_puts_every_thread_under_sched_idle_those_started_before_too() -> None:
    seen, policies = _probe(0, idle=True)
    assert policies.pop("start") == os.SCHED_OTHER
    assert policies == {"before": os.SCHED_IDLE, "main": os.SCHED_IDLE, "after": os.SCHED_IDLE}
    start = seen.pop("start")
    assert seen == {"before": start, "main": start, "after": start}  # the nice value left as it was


def test_idle_and_nice_together() -> None:
    seen, policies = _probe(19, idle=True)
    seen.pop("start"), policies.pop("start")
    assert seen == {"before": 19, "main": 19, "after": 19}
    assert policies == {"before": os.SCHED_IDLE, "main": os.SCHED_IDLE, "after": os.SCHED_IDLE}


@pytest.mark.parametrize("settings", [IngestSettings, LinkageSettings, ScoringSettings, CaseworkSettings])
def test_each_service_reads_its_cpu_nice_and_refuses_what_nice_cannot_be(settings: type,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = settings.model_config["env_prefix"]
    assert settings().cpu_nice == 0  # unset: normal priority
    assert settings().cpu_idle is False  # unset: the normal policy
    monkeypatch.setenv(f"{prefix}CPU_NICE", "10")
    monkeypatch.setenv(f"{prefix}CPU_IDLE", "true")
    assert settings().cpu_nice == 10
    assert settings().cpu_idle is True
    for wrong in ("-1", "20"):
        monkeypatch.setenv(f"{prefix}CPU_NICE", wrong)
        with pytest.raises(ValidationError):
            settings()


def test_a_refused_policy_is_logged_once_and_the_nice_value_still_set(monkeypatch: pytest.MonkeyPatch,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    """A kernel or sandbox that refuses SCHED_IDLE (or a thread that ended meanwhile): every thread still gets its
    nice value, the refusal is one warning without values, and the worker runs on (fakes: this process's own threads
    are not touched)."""
    niced: list[tuple[int, int]] = []
    asked: list[int] = []

    def refuse(tid: int, policy: int, param: object) -> None:
        asked.append(tid)
        if tid == 1:
            raise ProcessLookupError  # ended meanwhile: not a refusal
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "listdir", lambda path: ["1", "2", "3"])
    monkeypatch.setattr(os, "setpriority", lambda which, tid, nice: niced.append((tid, nice)))
    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    with caplog.at_level("DEBUG", logger="tsunagu"):
        worker_priority(19, idle=True)
    assert niced == [(1, 19), (2, 19), (3, 19)]
    assert asked == [1, 2, 3]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == ["CPU priority: SCHED_IDLE refused (PermissionError); the worker runs on"]
