"""bootstrap(settings) -> Container: the state is loaded only when the worker asks for its service."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from services.linkage.adapters.clock import FixedClock, SystemClock
from services.linkage.bootstrap import bootstrap
from services.linkage.config import LinkageSettings

pytestmark = pytest.mark.unit


def test_bootstrap_opens_no_store_and_the_service_gets_the_containers_clock(tmp_path: Path) -> None:
    settings = LinkageSettings(data_dir=tmp_path / "linkage")
    assert isinstance(bootstrap(settings).clock, SystemClock)
    clock = FixedClock(datetime(2026, 1, 5, 9, 30, tzinfo=UTC))
    container = bootstrap(settings, clock=clock, registry=CollectorRegistry())
    assert not settings.data_dir.exists()  # the review CLI's container: no store, no state
    service = container.linkage_service()
    assert (settings.data_dir / "linkage.db").exists()
    assert service.clock is clock and service.store is not None and service.store.pending() == []
    assert service.source_uri == settings.source_uri
