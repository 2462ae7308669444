"""The Faust table behind deletions and opt-outs (service_layer/privacy.py's ForgettingStore, opt_out.py's
OptOutStore); the agents on privacy.deletions.v1 and privacy.optouts.v1 are wired in entrypoints/faust_privacy.py."""

from __future__ import annotations

from typing import Any


class TableForgetter:
    """Deletes a child's row from the Faust table with a tombstone on the row's own changelog partition (the
    table's ``del`` would use the current event's partition: wrong for a request read from privacy.deletions.v1)."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def get(self, child_id: str) -> dict[str, Any] | None:
        value = self.table.data.get(child_id)
        return value if isinstance(value, dict) else None

    def put(self, child_id: str, state: dict[str, Any], partition: int | None) -> None:
        """Writes the row to its own changelog partition (its ``p``), whichever topic the message came in on."""
        self.table.data[child_id] = state
        self.table.send_changelog(partition, child_id, state)

    def delete(self, child_id: str, partition: int | None) -> None:
        self.table.data.pop(child_id, None)
        self.table.send_changelog(partition, child_id, None, value_serializer="raw")
