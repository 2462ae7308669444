"""bootstrap(settings) -> Container: nothing is opened until an entrypoint asks for it; close() closes what was."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from services.ingest.adapters.clock import FixedClock, SystemClock
from services.ingest.bootstrap import bootstrap
from services.ingest.config import IngestSettings

pytestmark = pytest.mark.unit


def test_bootstrap_opens_nothing_and_the_worker_gets_its_dedup_store_when_it_asks(tmp_path: Path) -> None:
    container = bootstrap(IngestSettings(data_dir=tmp_path), registry=CollectorRegistry())
    assert isinstance(container.clock, SystemClock)
    assert list(tmp_path.iterdir()) == []  # no store, no ledger, no Kafka client yet
    handler = container.ingest_handler()
    assert container.settings.dedup_path.exists()
    assert handler.max_event_bytes == container.settings.max_event_bytes
    container.close()
    with pytest.raises(sqlite3.ProgrammingError):  # closed by the container
        handler.dedup.lookup(("childcare", "e-1"))


def test_close_closes_every_store_that_was_built_and_only_once(tmp_path: Path) -> None:
    at = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    container = bootstrap(IngestSettings(data_dir=tmp_path), clock=FixedClock(at), registry=CollectorRegistry())
    assert container.clock.now() == at
    imports, replays, ids = container.import_ledger(), container.replay_ledger(), container.http_ids()
    assert {p.name for p in tmp_path.iterdir()} >= {"school-import-ledger.sqlite3", "replay-ledger.sqlite3",
                                                    f"http-ids-{container.settings.app_id}.sqlite3"}
    container.close()
    for ledger in (imports, replays):
        with pytest.raises(sqlite3.ProgrammingError):
            ledger.outcome("x")
    with pytest.raises(sqlite3.ProgrammingError):
        ids.lookup(("childcare", "e-1"))
    container.close()  # nothing left to close: no second close of a closed store
