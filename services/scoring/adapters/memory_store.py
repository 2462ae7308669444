"""The handlers' StateStore in a dict, holding the object put as it is — as Faust's memory store does — for
benchmarks and tests that run the handlers without a worker."""

from __future__ import annotations

from typing import Any


class MemoryStateStore:
    def __init__(self) -> None:
        self.states: dict[str, dict[str, Any]] = {}

    def get(self, child_id: str) -> dict[str, Any] | None:
        return self.states.get(child_id)

    def put(self, child_id: str, state: dict[str, Any], partition: int | None) -> None:
        self.states[child_id] = state
