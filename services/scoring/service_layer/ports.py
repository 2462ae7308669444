"""What scoring's use cases need from outside, declared here so the service layer never imports an adapter.

``adapters/clock.py`` satisfies ``Clock``. The stores are declared beside the use case that needs them
(``handlers.StateStore``, ``privacy.ForgettingStore``, ``opt_out.OptOutStore``, ``disclosure.DisclosureStore``;
``adapters/changelog_store.py``, ``memory_store.py``). The worker builds the store; a test can pass anything with
the same methods.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol


class Clock(Protocol):
    def today(self) -> date:
        """What day it is in the municipality's calendar (domain code is given a date, never reads the time)."""
        ...
