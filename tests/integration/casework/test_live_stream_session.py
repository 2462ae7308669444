"""The live inbox stream re-checks its session: logout, deactivation and expiry end it; deliveries are audited."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from services.casework.adapters.orm import AuditRecord, User
from services.casework.bootstrap import Container
from services.casework.entrypoints.web import create_app
from services.casework.service_layer import auth as auth_service
from tests.integration.casework.containers import FakeClock, make_container
from tests.integration.casework.web import PASSWORD, add_user, seed_child

pytestmark = pytest.mark.integration
DEADLINE_S = 8.0


@pytest.fixture
def live(pg_url: str, clock: FakeClock) -> Iterator[Container]:
    c = make_container(pg_url, clock, sse_poll_interval_s=0.1, sse_session_check_s=0.2)
    add_user(c, "higashi", "ward_staff", "40131")
    yield c
    c.engine.dispose()


class Stream:
    """Reads the SSE lines in a thread so that a stream that never ends fails the test instead of hanging it."""

    def __init__(self, client: TestClient) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.ended = threading.Event()
        self._client = client
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            with self._client.stream("GET", "/api/alerts/stream") as response:
                assert response.status_code == 200
                for line in response.iter_lines():
                    self.lines.put(line)
        finally:
            self.ended.set()

    def wait_for(self, predicate: Callable[[str], bool]) -> str:
        while True:
            line = self.lines.get(timeout=DEADLINE_S)
            if predicate(line):
                return line


@contextmanager
def logged_in_stream(container: Container) -> Iterator[tuple[TestClient, Stream]]:
    with TestClient(create_app(container), base_url="http://127.0.0.1") as client:
        response = client.post("/api/session", json={"username": "higashi", "password": PASSWORD})
        client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        stream = Stream(client)
        stream.wait_for(lambda line: line.startswith("retry:"))
        yield client, stream


def live_alert_entries(container: Container) -> list[AuditRecord]:
    with container.sessions() as s:
        return list(s.scalars(select(AuditRecord).where(AuditRecord.action == "live_alert")))


def test_every_delivered_alert_is_audited(live: Container) -> None:
    with logged_in_stream(live) as (_client, stream):
        alert_id = seed_child(live, "c-live", "40131", name="生中 継子")
        data = stream.wait_for(lambda line: line.startswith("data:"))
        assert "c-live" in data
        (entry,) = live_alert_entries(live)
        assert (entry.child_id, entry.target, entry.ward_code, entry.outcome) == ("c-live", alert_id, "40131", "ok")


def _logout(client: TestClient, container: Container) -> None:
    assert client.delete("/api/session").status_code == 204


def _deactivate(_client: TestClient, container: Container) -> None:
    with container.sessions.begin() as s:
        s.execute(update(User).where(User.username == "higashi").values(active=False))


def _expire(_client: TestClient, container: Container) -> None:
    container.clock.advance(hours=10, minutes=1)  # type: ignore[attr-defined]


def _session_deleted(_client: TestClient, container: Container) -> None:
    with container.sessions.begin() as s:  # e.g. the user logged in again elsewhere
        user = s.scalars(select(User).where(User.username == "higashi")).one()
        auth_service.end_sessions_of(s, user.user_id)


@pytest.mark.parametrize("revoke", [_logout, _deactivate, _expire, _session_deleted])
def test_the_stream_ends_within_seconds_when_the_session_ends_and_delivers_nothing_more(
        live: Container, revoke: Callable[[TestClient, Container], None]) -> None:
    with logged_in_stream(live) as (client, stream):
        revoke(client, live)
        assert stream.ended.wait(DEADLINE_S), "the stream kept running after the session ended"
        seed_child(live, "c-after", "40131", name="後 届子")
        remaining = []
        while not stream.lines.empty():
            remaining.append(stream.lines.get())
        assert not any("c-after" in line for line in remaining)
    assert live_alert_entries(live) == []
