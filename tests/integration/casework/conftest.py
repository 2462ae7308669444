"""Fixtures: a fresh case database per test (PostgreSQL schema, or a SQLite file), a movable clock, a web client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.casework.bootstrap import Container
from tests.integration.casework.containers import FakeClock, make_container


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def pg_url(pg_schema_url: str) -> str:
    return pg_schema_url


@pytest.fixture(params=["postgres", "sqlite"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/casework.db"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def container(db_url: str, clock: FakeClock) -> Iterator[Container]:
    c = make_container(db_url, clock)
    yield c
    c.engine.dispose()


@pytest.fixture
def pg_container(pg_url: str, clock: FakeClock) -> Iterator[Container]:
    c = make_container(pg_url, clock)
    yield c
    c.engine.dispose()
