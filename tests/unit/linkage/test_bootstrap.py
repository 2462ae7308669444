"""bootstrap(settings) -> Container: the state is loaded only when the worker asks for its service."""

from __future__ import annotations

import gc
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from services.linkage.adapters.clock import FixedClock, SystemClock
from services.linkage.bootstrap import GC_THRESHOLDS, bootstrap
from services.linkage.config import LinkageSettings
from services.linkage.domain.state import LinkageState
from tests.unit.linkage.factories import assistance, left, resident, run, student

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
    service.store.close()


def test_the_workers_store_checkpoints_on_a_thread_of_its_own_and_counts_each_round(tmp_path: Path) -> None:
    registry = CollectorRegistry()
    service = bootstrap(LinkageSettings(data_dir=tmp_path, sqlite_checkpoint_s=0.01),
                        registry=registry).linkage_service()
    assert service.store is not None

    def rounds() -> float:
        return registry.get_sample_value("tsunagu_linkage_wal_checkpoints_total", {"outcome": "ok"}) or 0.0

    try:
        deadline = time.monotonic() + 10
        while rounds() < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert rounds() >= 2
        assert registry.get_sample_value("tsunagu_linkage_wal_pages") is not None, "the WAL's size after each round"
        assert service.store._cache_max_kib == LinkageSettings().sqlite_cache_max_mib * 1024, "the cache's ceiling"
    finally:
        service.store.close()


def test_the_worker_sets_linkages_collector_thresholds(tmp_path: Path) -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        bootstrap(LinkageSettings(data_dir=tmp_path), registry=CollectorRegistry()).linkage_service()
        assert gc.get_threshold() == GC_THRESHOLDS
    finally:
        gc.set_threshold(*before)


def test_handling_records_makes_no_cyclic_garbage() -> None:
    """What the thresholds rest on: records, facts, matching and reviews leave nothing only the collector frees."""
    state = LinkageState()
    records = [resident("2001", "H1", birth="1990-01-01", reason="initial_load"),
               resident("1001", "H1", birth="2020-05-01"), resident("1002", "H1", birth="2021-06-02"),
               assistance("started", "C-1", "H1", "2001", "2025-05-01"),
               student("S1", "フクオカ タロウ", "福岡 太郎", "2020-05-01", address="東区箱崎1-2-3"),
               student("S2", "フクオカ タロウ", "福岡 太朗", "2020-05-01"),
               student("S3", "ヤマダ ハナコ", "山田 花子", "2019-02-03"),
               left("1002", "H1", "2025-07-01"), assistance("ended", "C-1", "H1", "2001", "2025-09-30")]
    run(state, records[0])  # first use: imports and caches
    gc.collect()
    gc.disable()
    try:
        for rec in records[1:]:
            run(state, rec)
        assert gc.collect() == 0
    finally:
        gc.enable()
