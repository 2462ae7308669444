"""``worker_priority``: every thread of the worker at the priority its ``CPU_NICE`` asks (docs/scaling.md, One
machine); a setting outside 0–19 is refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.casework.config import CaseworkSettings
from services.ingest.config import IngestSettings
from services.linkage.config import LinkageSettings
from services.scoring.config import ScoringSettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]

# a thread started before the call, the main thread, and one started after: each one's priority
PROBE = """
import json, os, sys, threading
from contracts.kafka_batches import worker_priority
seen, go = {"start": os.getpriority(os.PRIO_PROCESS, 0)}, threading.Event()
def record(name):
    seen[name] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
def early():
    go.wait(10)
    record("before")
t = threading.Thread(target=early); t.start()
worker_priority(int(sys.argv[1]))
record("main")
go.set(); t.join(10)
after = threading.Thread(target=record, args=("after",)); after.start(); after.join(10)
print(json.dumps(seen))
"""


def _priorities(nice: int) -> dict[str, int]:
    done = subprocess.run([sys.executable, "-c", PROBE, str(nice)], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=True)
    return dict(json.loads(done.stdout))


def test_every_thread_takes_the_priority_those_started_before_too() -> None:
    seen = _priorities(19)
    assert seen.pop("start") < 19
    assert seen == {"before": 19, "main": 19, "after": 19}


def test_zero_leaves_the_threads_as_they_are() -> None:
    seen = _priorities(0)
    start = seen.pop("start")
    assert seen == {"before": start, "main": start, "after": start}


@pytest.mark.parametrize("settings", [IngestSettings, LinkageSettings, ScoringSettings, CaseworkSettings])
def test_each_service_reads_its_cpu_nice_and_refuses_what_nice_cannot_be(settings: type,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = settings.model_config["env_prefix"]
    assert settings().cpu_nice == 0  # unset: normal priority
    monkeypatch.setenv(f"{prefix}CPU_NICE", "10")
    assert settings().cpu_nice == 10
    for wrong in ("-1", "20"):
        monkeypatch.setenv(f"{prefix}CPU_NICE", wrong)
        with pytest.raises(ValidationError):
            settings()
