"""What linkage's use cases need from outside, declared here so the service layer never imports an adapter.

The adapters satisfy these protocols structurally (``adapters/store.py``, ``adapters/clock.py``); bootstrap builds
them and passes them in; a test can pass anything with the same methods.
"""

from __future__ import annotations

from concurrent.futures import Future
from datetime import datetime
from typing import Protocol

from services.linkage.domain.state import LinkageState

Message = tuple[str, bytes | None, bytes | None, dict[str, str]]  # topic, key, value (None: a tombstone), headers


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class Store(Protocol):
    """Linkage's state and its transactional outbox: a batch's changes and the messages they cause are kept
    together; messages leave the outbox once the broker acknowledged them."""

    def commit(self, state: LinkageState, messages: list[Message]) -> list[tuple[int, Message]]:
        """Persists what changed and the messages to send; returns the messages with their outbox sequence."""
        ...

    def pending(self) -> list[tuple[int, Message]]:
        """Messages committed but not yet acknowledged (sent again after a crash)."""
        ...

    def acknowledge(self, seqs: list[int]) -> None: ...

    def durable(self) -> Future[None] | None:
        """What the last commit's messages wait for before they leave (a store that writes its transactions on a
        thread of its own while the next batch is applied); None when every commit is already stored."""
        ...

    def close(self) -> None:
        """Ends what the store runs beside the batches (its checkpoint thread) and closes its connections."""
        ...
