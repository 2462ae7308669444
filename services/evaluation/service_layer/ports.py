"""What the use cases need from outside, declared here so the service layer never imports bootstrap (issue 12).

``bootstrap.Container`` satisfies these protocols structurally: the entrypoints build it and pass it in; a test can
pass anything with the same attributes. Read-only properties, so a narrower type (the whole settings object) fits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from contracts.envelope import Envelope
from services.evaluation.domain.weights import Weights
from services.evaluation.metrics import EvaluationMetrics
from services.evaluation.service_layer.unit_of_work import AbstractUnitOfWork

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class Skipped:
    """A message that can never become valid: counted with its reason and skipped."""

    reason: str  # empty_or_oversized / invalid_schema


# (kind, raw value, topic-partition@offset) → a validated envelope, or why it was skipped (adapters/messages.py)
Decoder = Callable[[str, bytes | None, str], Envelope[Any] | Skipped]


class Store(Protocol):
    """Units of work on the store, the decoder and the metrics: what the worker's batches need."""

    def uow(self) -> AbstractUnitOfWork:
        """A new unit of work on the store."""
        ...

    @property
    def decode(self) -> Decoder: ...

    @property
    def metrics(self) -> EvaluationMetrics: ...


class ReportSettings(Protocol):
    @property
    def min_cases(self) -> int: ...

    @property
    def min_combination_cases(self) -> int: ...


class Reporting(Store, Protocol):
    """Store plus what the reports read: the weights in force, the ward populations, the thresholds, the time."""

    @property
    def settings(self) -> ReportSettings: ...

    @property
    def current_weights(self) -> Weights: ...

    @property
    def ward_population(self) -> Mapping[str, int]: ...

    @property
    def clock(self) -> Clock: ...
