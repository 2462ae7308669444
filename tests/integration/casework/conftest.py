"""Fixtures: a fresh case database per test (PostgreSQL schema, or a SQLite file), a movable clock, a web client."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "casework"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from services.casework.bootstrap import Container, bootstrap
from services.casework.config import CaseworkSettings


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 0, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


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


def make_container(url: str, clock: FakeClock, **settings: object) -> Container:
    return bootstrap(CaseworkSettings(database_url=url, environment="test", session_secret="t" * 32,
                                      **settings), clock=clock)  # type: ignore[arg-type]


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
