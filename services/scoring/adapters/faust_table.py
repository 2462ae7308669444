"""The handlers' StateStore (service_layer/handlers.py) over the Faust state table."""

from __future__ import annotations

from typing import Any

import faust


class FaustTableStore:
    """The handlers' StateStore over a Faust table: inside an agent the table writes its own changelog;
    from the clock (no current event) we write the store and the changelog partition explicitly."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def get(self, child_id: str) -> dict[str, Any] | None:
        value = self.table.get(child_id)
        return value if isinstance(value, dict) else None

    def put(self, child_id: str, state: dict[str, Any], partition: int | None) -> None:
        if faust.current_event() is not None:
            self.table[child_id] = state
        else:
            self.table.data[child_id] = state
            self.table.send_changelog(partition, child_id, state)
