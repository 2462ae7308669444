"""A movable clock and a container on a given database, for casework's integration tests (and their conftest)."""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime, timedelta

from services.casework.bootstrap import Container, bootstrap
from services.casework.config import CaseworkSettings


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 0, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


def make_container(url: str, clock: FakeClock, **settings: object) -> Container:
    return bootstrap(CaseworkSettings(database_url=url, environment="test", session_secret="t" * 32,
                                      **settings), clock=clock)  # type: ignore[arg-type]


def new_totp_key() -> str:
    """A random TOTP key as TSUNAGU_CASEWORK_TOTP_KEY takes it (what ``cli new-totp-key`` prints)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
