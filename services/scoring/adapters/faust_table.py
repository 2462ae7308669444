"""The handlers' StateStore (service_layer/handlers.py) over the Faust state table."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class FaustTableStore:
    """The handlers' StateStore over a Faust table. Writes go to the table's store and to the changelog partition
    named by the caller (the fact's own: inside a batch Faust's "current event" is the batch's last, so
    ``table[key] = …`` could pick another's). Within ``batch()`` a child's changelog message is sent once, when the
    batch ends, with the child's state as it is then — before take_events acks the batch, so before any commit."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self._pending: dict[str, int | None] | None = None

    def get(self, child_id: str) -> dict[str, Any] | None:
        value = self.table.get(child_id)
        return value if isinstance(value, dict) else None

    def put(self, child_id: str, state: dict[str, Any], partition: int | None) -> None:
        self.table.data[child_id] = state
        if self._pending is not None:
            self._pending[child_id] = partition
        else:
            self.table.send_changelog(partition, child_id, state)

    @contextmanager
    def batch(self) -> Iterator[None]:
        self._pending = {}
        try:
            yield
        finally:
            pending, self._pending = self._pending, None
            for child_id, partition in pending.items():
                # The state as it is now: a deletion (削除) or an opt-out that ran between two facts of the batch
                # wrote its own changelog message; a deleted child's row is not sent again (no resurrection).
                state = self.table.data.get(child_id)
                if isinstance(state, dict):
                    self.table.send_changelog(partition, child_id, state)
