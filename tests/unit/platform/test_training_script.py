"""deploy/training.sh (研修モード) refuses what would let training touch live data, before it starts anything: a
production environment, the live broker's port. Runs the script itself; nothing is started."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "deploy" / "training.sh"


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TSUNAGU_", "TRAINING_"))}
    return subprocess.run(["bash", str(SCRIPT), *args], env={**clean, **env}, capture_output=True, text=True,
                          timeout=30, cwd=ROOT)


@pytest.mark.parametrize("variable", ["TSUNAGU_ENVIRONMENT", "TSUNAGU_CASEWORK_ENVIRONMENT"])
@pytest.mark.parametrize("command", ["start", "reset", "scenarios"])
def test_refused_in_production_before_anything_starts(variable: str, command: str) -> None:
    done = run(command, **{variable: "production"})
    assert done.returncode == 2 and "never runs in production" in done.stderr, done.stderr
    assert done.stdout == ""  # no broker, service, account or scenario was touched


def test_refused_on_the_live_brokers_port() -> None:
    done = run("start", TRAINING_KAFKA_PORT="9092")
    assert done.returncode == 2 and "live broker" in done.stderr, done.stderr
    assert done.stdout == ""


def test_an_unknown_command_only_prints_the_usage() -> None:
    done = run("wipe-everything")
    assert done.returncode == 2 and "usage:" in done.stderr
