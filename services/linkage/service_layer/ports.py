"""What linkage's use cases need from outside, declared here so the service layer never imports an adapter.

The adapters satisfy these protocols structurally (``adapters/clock.py``); bootstrap builds them and passes them
in; a test can pass anything with the same methods.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...
