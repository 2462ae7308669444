"""Helpers for the web tests: seed children and alerts through the worker, create users, log in."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from services.casework.bootstrap import Container
from services.casework.entrypoints.web import create_app
from services.casework.service_layer.auth import create_user
from services.casework.service_layer.worker import WorkerHandlers
from tests.unit.casework.factories import flags_event, profile_event, raw

PASSWORD = "correct horse battery"


def seed_child(container: Container, child_id: str, ward: str, name: str = "福岡 花子", items: list[int] | None = None,
               signals: list[str] | None = None, **profile: Any) -> str:
    worker = WorkerHandlers(container)
    event = profile_event(child_id, ward, name=name)
    event["data"].update(profile)
    worker.process("profile", raw(event), where="test")
    processed = worker.process("flags", raw(flags_event(child_id, ward, [], items or [3], tier_after="見守り",
                                                        signals=signals)), where="test")
    assert processed.alert_ids, processed.outcome
    return processed.alert_ids[0]


def add_user(container: Container, username: str, role: str, ward: str | None = None) -> None:
    with container.sessions.begin() as s:
        create_user(s, username=username, password=PASSWORD, role=role, ward_code=ward, division=None,
                    now=container.clock(), training=container.settings.training)


def client_for(container: Container, username: str | None = None) -> TestClient:
    client = TestClient(create_app(container), base_url="http://127.0.0.1")
    client.headers["X-CSRF-Token"] = ""
    if username:
        login(client, username)
    return client


def login(client: TestClient, username: str) -> str:
    response = client.post("/api/session", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return token
