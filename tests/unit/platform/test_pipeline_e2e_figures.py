"""benchmarks/pipeline_e2e.py's own readings of /proc (the drain itself needs a broker: see docs/scaling.md)."""

from __future__ import annotations

import os

import pytest

from benchmarks.pipeline_e2e import TICK, _proc_field, machine_s

pytestmark = pytest.mark.unit


def test_the_machine_s_idle_iowait_and_stolen_seconds_come_from_the_cpu_line() -> None:
    stat = "cpu  1977341 666617 429393 1674089 325844 0 33875 74980 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n"
    assert machine_s(stat) == {"idle": 1674089 / TICK, "iowait": 325844 / TICK, "steal": 74980 / TICK}


def test_a_kernel_that_reports_no_steal_counts_none() -> None:
    assert machine_s("cpu  1 2 3 4 5 6 7\n")["steal"] == 0.0


def test_the_live_machine_is_read() -> None:
    figures = machine_s()
    assert set(figures) == {"idle", "iowait", "steal"} and all(v >= 0 for v in figures.values())


def test_a_proc_field_of_a_live_and_of_a_missing_process() -> None:
    assert (_proc_field(os.getpid(), "status", "VmHWM") or 0) > 0
    assert _proc_field(2**22 + 17, "status", "VmHWM") is None
