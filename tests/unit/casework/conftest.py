"""Lets the casework unit tests import their helpers (cw_factories, cw_intake) under --import-mode=importlib."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
