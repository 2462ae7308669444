"""A container on a fresh SQLite store with its own metrics registry, for handler and report tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from services.evaluation.bootstrap import Container, bootstrap
from services.evaluation.config import EvaluationSettings
from services.evaluation.metrics import EvaluationMetrics


@pytest.fixture
def container(tmp_path: Path) -> Iterator[Container]:
    settings = EvaluationSettings(database_url=f"sqlite:///{tmp_path}/evaluation.db", metrics_port=0,
                                  reports_dir=tmp_path / "reports")
    c = bootstrap(settings, metrics=EvaluationMetrics(CollectorRegistry()),
                  clock=lambda: datetime(2027, 4, 1, tzinfo=UTC))
    yield c
    c.engine.dispose()


@pytest.fixture(autouse=True)
def _no_report_publishing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI tests write files only: nothing here may reach a broker (test_report_publishing.py fakes one)."""
    monkeypatch.setenv("TSUNAGU_EVALUATION_PUBLISH_REPORTS", "false")
