"""Login throttling per client and per (account, client): nobody can lock anybody else out, and the answers
do not tell which accounts exist."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.casework.adapters.orm import AuditRecord
from services.casework.bootstrap import Container
from services.casework.entrypoints.web import create_app
from tests.integration.casework.web import PASSWORD, add_user

pytestmark = pytest.mark.integration


def from_address(container: Container, address: str) -> TestClient:
    return TestClient(create_app(container), base_url="http://127.0.0.1", client=(address, 40000))


def attempt(client: TestClient, username: str, password: str = "wrong-password-x") -> tuple[int, str]:
    response = client.post("/api/session", json={"username": username, "password": password})
    return response.status_code, response.json().get("detail", "")


def test_an_attacker_cannot_lock_hq_or_the_privacy_officer_out(pg_container: Container) -> None:
    add_user(pg_container, "hq", "hq_admin")
    add_user(pg_container, "privacy", "privacy_officer")
    attacker = from_address(pg_container, "10.9.9.9")
    for _ in range(30):
        attempt(attacker, "hq")
        attempt(attacker, "privacy")
    assert attempt(attacker, "hq", PASSWORD)[0] == 401  # the attacker's own client is slowed down ...
    for name in ("hq", "privacy"):  # ... the real users, from their own machines, log in at once
        assert attempt(from_address(pg_container, "10.0.0.5"), name, PASSWORD)[0] == 200


def test_a_client_spraying_many_usernames_is_slowed_down(pg_container: Container) -> None:
    add_user(pg_container, "higashi", "ward_staff", "40131")
    sprayer = from_address(pg_container, "10.9.9.8")
    for i in range(20):
        attempt(sprayer, f"user{i}")
    assert attempt(sprayer, "higashi", PASSWORD)[0] == 401
    assert attempt(from_address(pg_container, "10.0.0.6"), "higashi", PASSWORD)[0] == 200


def test_existing_and_unknown_accounts_get_the_same_answers(pg_container: Container) -> None:
    add_user(pg_container, "higashi", "ward_staff", "40131")
    answers = {}
    for name in ("higashi", "nobody-here"):
        client = from_address(pg_container, f"10.1.1.{len(answers) + 1}")
        answers[name] = [attempt(client, name) for _ in range(7)]
    assert answers["higashi"] == answers["nobody-here"]
    assert answers["higashi"][-1][1] != answers["higashi"][0][1]  # throttled, for both alike


def test_failed_logins_record_the_normalised_truncated_name_and_never_the_password(pg_container: Container) -> None:
    client = from_address(pg_container, "10.2.2.2")
    attempt(client, "ＨＩＧＡＳＨＩ", "secret-password-1")
    attempt(client, "x" * 60, "secret-password-2")
    with pg_container.sessions() as s:
        failed = list(s.scalars(select(AuditRecord).where(AuditRecord.action == "login").order_by(AuditRecord.seq)))
    assert [e.target for e in failed] == ["username=higashi", "username=" + "x" * 32]
    assert all("secret" not in f"{e.target}{e.detail}" for e in failed)
    assert all(e.client == "10.2.2.2" and e.outcome == "failed" for e in failed)
