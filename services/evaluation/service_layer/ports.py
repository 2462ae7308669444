"""What the use cases need from outside, declared here so the service layer never imports bootstrap (issue 12).

``bootstrap.Container`` satisfies these protocols structurally: the entrypoints build it and pass it in; a test can
pass anything with the same attributes. Read-only properties, so a narrower type (the whole settings object) fits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from services.evaluation.domain.weights import Weights
from services.evaluation.metrics import EvaluationMetrics

Clock = Callable[[], datetime]


class Store(Protocol):
    """The store and the metrics: what the worker's batches need."""

    @property
    def sessions(self) -> sessionmaker[Session]: ...

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
