"""Importing a worker's module builds nothing (issue 12): no settings read, no store opened, no rule file loaded.

``bootstrap()`` runs in ``main()`` (or when ``faust -A`` asks for ``app``), never at import time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[3]
MODULES = ["services.ingest.entrypoints.worker", "services.linkage.entrypoints.worker",
           "services.scoring.entrypoints.worker", "services.linkage.entrypoints.review_cli",
           "services.casework.entrypoints.worker"]


def test_importing_the_entrypoints_opens_no_store_and_reads_no_rule_file(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "TSUNAGU_INGEST_DATA_DIR": str(tmp_path / "ingest"), "TSUNAGU_LINKAGE_DATA_DIR": str(tmp_path / "linkage"),
           # bootstrap() would refuse this file: importing must not get that far
           "TSUNAGU_SCORING_CONFIG_PATH": str(tmp_path / "missing.toml")}
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    run = subprocess.run([sys.executable, "-c", code, *MODULES], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert list(tmp_path.iterdir()) == []
