"""データの鮮度 (issue 17) as staff see it: the inbox panel (also HQ's view of every ward) and the child page's
line, rendered by the real app over SQLite, from reports stored by the worker's intake."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from services.casework.bootstrap import Container, bootstrap
from services.casework.config import CaseworkSettings
from services.casework.service_layer.worker import WorkerHandlers
from tests.integration.casework.web import add_user, client_for, seed_child

pytestmark = pytest.mark.integration


@pytest.fixture
def sqlite_container(tmp_path: Path, clock: Any) -> Iterator[Container]:
    c = bootstrap(CaseworkSettings(database_url=f"sqlite:///{tmp_path}/casework.db", environment="test",
                                   session_secret="t" * 32), clock=clock)  # the migrations, 0008 included
    yield c
    c.engine.dispose()


def report(container: Container, system: str, ago: timedelta, events: int = 5) -> None:
    now = container.clock()
    raw = json.dumps({
        "specversion": "1.0", "id": f"st-{system}", "source": "/tsunagu/ingest",
        "type": "ingest.source_status.reported", "time": now.isoformat(), "subject": system,
        "data": {"system": system, "last_event_time": (now - ago).isoformat(), "events_24h": events,
                 "counted_since": (now - timedelta(hours=24)).isoformat(), "silence_allowed_s": None},
    }).encode()
    assert WorkerHandlers(container).process("source_status", raw, where="test").outcome == "stored"


def row_of(page: str, system: str) -> str:
    found = re.search(rf'<tr data-system="{system}"[^>]*>(.*?)</tr>', page, re.S)
    assert found, f"no row for {system}"
    return re.sub(r"<[^>]+>", " ", found.group(0))


def test_the_inbox_shows_freshness_per_source_and_marks_the_silent_ones(sqlite_container: Container) -> None:
    add_user(sqlite_container, "higashi", "ward_staff", "40131")
    add_user(sqlite_container, "hq", "hq_admin")
    report(sqlite_container, "resident_registry", timedelta(minutes=2))
    report(sqlite_container, "school_affairs", timedelta(days=40))  # monthly: 35 days allowed
    report(sqlite_container, "maternal_child_health", timedelta(days=3))  # 4 days allowed

    for user in ("higashi", "hq"):
        page = client_for(sqlite_container, user).get("/").text
        assert "データの鮮度" in page
        registry = row_of(page, "resident_registry")
        assert "住民記録" in registry and "2分前" in registry and "正常" in registry and "要確認" not in registry
        affairs = row_of(page, "school_affairs")
        assert "40日前" in affairs and "35日以内" in affairs and "要確認" in affairs
        assert "3日前" in row_of(page, "maternal_child_health") and "要確認" not in row_of(
            page, "maternal_child_health")
        never = row_of(page, "child_guidance")
        assert "受信記録なし" in never and "要確認" in never
        assert len(re.findall(r'<tr data-system="', page)) == 16


def test_the_child_page_says_when_the_sources_behind_its_items_were_last_heard_from(
        sqlite_container: Container) -> None:
    add_user(sqlite_container, "higashi", "ward_staff", "40131")
    # the factory's evidence: 母子保健 behind item 3; 住民記録 behind the signal
    seed_child(sqlite_container, "c-fresh", "40131", items=[3], signals=["unenrolled"])
    report(sqlite_container, "maternal_child_health", timedelta(days=6))  # 4 days allowed: silent
    report(sqlite_container, "resident_registry", timedelta(hours=5))
    report(sqlite_container, "school_affairs", timedelta(days=50))  # silent, behind nothing of this child
    page = client_for(sqlite_container, "higashi").get("/children/c-fresh").text
    line = re.search(r'<div class="freshness-line".*?</div>', page, re.S)
    assert line, "no freshness line on the child page"
    text = re.sub(r"<[^>]+>", "", line.group(0))
    assert "根拠のデータの最終受信：住民記録 5時間前、母子保健 6日前（要確認）" in text
    assert "受信が想定より途絶えているシステム：" in text and "校務支援（50日前）" in text
    assert "児童相談（受信記録なし）" in text  # never heard from: not "nothing wrong"
