"""What ingest's use cases need from outside, declared here so the service layer never imports an adapter.

The adapters satisfy these protocols structurally (``adapters/clock.py``, ``dedup.py``, ``kafka.py``,
``kafka_batch.py``, ``import_ledger.py``, ``csv_files.py``); bootstrap builds them and the entrypoints pass them
in; a test can pass anything with the same methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

NOT_SEEN = object()  # DedupStore.lookup() of an id never emitted

Reject = tuple[int, str, str, list[str]]  # line in the file, error class, reason, the row's cells


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class DedupStore(Protocol):
    """Source event ids already emitted, with a digest of their content; ``confirm`` once the broker has it;
    ``flush`` writes the confirmed ones down (the worker calls it on a timer)."""

    def seen(self, key: tuple[str, str]) -> bool: ...
    def lookup(self, key: tuple[str, str]) -> str | object | None: ...
    def prefetch(self, keys: Iterable[tuple[str, str]]) -> None: ...  # a batch's ids read at once for ``lookup``
    def reserve(self, key: tuple[str, str], digest: str | None = None) -> None: ...
    def confirm(self, key: tuple[str, str]) -> None: ...
    def confirm_all(self, keys: list[tuple[str, str]]) -> None: ...  # ``confirm`` each: a batch at once
    def release(self, key: tuple[str, str]) -> None: ...
    def flush(self) -> int: ...


class Publisher(Protocol):
    """Publishes to Kafka; ``publish`` returns a handle that ``delivered`` reads once ``flush`` has returned."""

    def publish(self, topic: str, key: bytes | None, value: bytes | None,
                headers: list[tuple[str, bytes]] | None = None) -> Any: ...
    def flush(self, timeout_s: float = 60.0) -> None: ...
    def close(self) -> None: ...


def delivered(future: Any, timeout_s: float = 30.0) -> bool:
    """True once the broker confirmed the record (after ``flush``).

    kafka-python futures have ``get``, the batch publisher's ``result``; an in-memory publisher returns None.
    """
    if future is None:
        return True
    try:
        if hasattr(future, "get"):
            future.get(timeout=timeout_s)
        else:
            future.result(timeout=timeout_s)
        return True
    except Exception:
        return False


class Ledger(Protocol):
    """What was already done, by id (school rows imported or refused, dead letters replayed)."""

    def outcome(self, event_id: str) -> str | None: ...
    def outcomes(self, event_ids: list[str]) -> dict[str, str]: ...
    def record(self, entries: Iterable[tuple[str, str]]) -> None: ...


class SchoolFile(Protocol):
    """A school media file, opened and decoded; ``write_rejects`` writes the refused rows for the school."""

    @property
    def path(self) -> Path: ...

    @property
    def encoding(self) -> str: ...

    @property
    def header(self) -> list[str]: ...

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line number in the file, cells) for every non-blank row after the header."""
        ...

    def write_rejects(self, path: Path, rejects: list[Reject]) -> None: ...
