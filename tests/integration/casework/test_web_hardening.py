"""Smaller hardening: one session per user, body limit, audit limit, long ids audited, production cookies, names."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.casework.adapters.orm import AuditRecord
from services.casework.bootstrap import Container, bootstrap
from services.casework.config import CaseworkSettings
from services.casework.entrypoints.web import create_app
from tests.integration.casework.containers import FakeClock, new_totp_key
from tests.integration.casework.web import add_user, client_for, login

pytestmark = pytest.mark.integration


def test_a_new_login_ends_the_previous_session(pg_container: Container) -> None:
    add_user(pg_container, "higashi", "ward_staff", "40131")
    first = client_for(pg_container, "higashi")
    assert first.get("/api/alerts").status_code == 200
    client_for(pg_container, "higashi")
    assert first.get("/api/alerts").status_code == 401


def test_large_bodies_are_refused_before_parsing(pg_container: Container) -> None:
    client = client_for(pg_container)
    big = b'{"username": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    declared = client.post("/api/session", content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b"a" * 65536

    streamed = client.post("/api/session", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.status_code == 413


def test_the_audit_api_limit_is_clamped(pg_container: Container) -> None:
    add_user(pg_container, "privacy", "privacy_officer")
    officer = client_for(pg_container, "privacy")
    for _ in range(3):
        officer.get("/audit")
    assert len(officer.get("/api/audit?limit=-1").json()["entries"]) == 1
    assert len(officer.get("/api/audit?limit=2").json()["entries"]) == 2


def test_an_over_long_id_is_refused_and_audited_on_postgresql(pg_container: Container) -> None:
    add_user(pg_container, "higashi", "ward_staff", "40131")
    client = client_for(pg_container, "higashi")
    assert client.get("/api/children/" + "x" * 400).status_code == 403
    assert client.post("/api/cases/" + "y" * 400 + "/steps",
                       json={"action": "二次スクリーニング", "result": "非該当", "reason": "x"}).status_code == 403
    with pg_container.sessions() as s:
        denied = list(s.scalars(select(AuditRecord).where(AuditRecord.outcome == "denied")))
    assert [len(e.child_id or e.target or "") for e in denied] == [64, 160]


def test_production_uses_host_prefixed_secure_cookies_and_hsts(pg_url: str, clock: FakeClock, tmp_path: Path) -> None:
    settings = CaseworkSettings(database_url=pg_url, environment="production", audit_anchor_path=tmp_path / "a",
                                session_secret="Zq8vR2mXk4pL9sTn6wYc3hJf7bGd5aEu",
                                totp_key=new_totp_key())  # type: ignore[arg-type]
    c = bootstrap(settings, clock=clock)
    add_user(c, "higashi", "ward_staff", "40131")
    client = TestClient(create_app(c), base_url="https://127.0.0.1")
    response = client.post("/api/session", json={"username": "higashi", "password": "correct horse battery"})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("__Host-tsunagu_session=") and "Secure" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie and "HttpOnly" in cookie
    assert "max-age=31536000" in response.headers["strict-transport-security"]
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    assert client.get("/api/alerts").status_code == 200
    c.engine.dispose()


@pytest.mark.parametrize("name", ["Higashi", "ｈｉｇａｓｈｉ", "һigashi", "higashi\u200b", "東区職員"])
def test_look_alike_usernames_are_refused(pg_container: Container, name: str) -> None:
    add_user(pg_container, "hq", "hq_admin")
    add_user(pg_container, "higashi", "ward_staff", "40131")
    hq = client_for(pg_container, "hq")
    response = hq.post("/api/users", json={"username": name, "password": "kuro-neko-hashiru-2026-yoru",
                                           "role": "ward_staff", "ward_code": "40131"})
    assert response.status_code == 422


def test_weak_passwords_are_refused_when_creating_users(pg_container: Container) -> None:
    add_user(pg_container, "hq", "hq_admin")
    hq = client_for(pg_container, "hq")
    for weak in ("password12", "1234567890", "aaaaaaaaaa"):
        response = hq.post("/api/users", json={"username": "nishi2", "password": weak, "role": "ward_staff",
                                               "ward_code": "40135"})
        assert response.status_code == 422 and weak not in response.text
    login(client_for(pg_container), "hq")


def test_users_change_their_own_password(pg_container: Container) -> None:
    add_user(pg_container, "higashi", "ward_staff", "40131")
    other = client_for(pg_container, "higashi")
    client = client_for(pg_container, "higashi")
    assert client.post("/api/me/password", json={"current_password": "wrong", "new_password": "x"}
                       ).status_code == 403
    assert client.post("/api/me/password", json={"current_password": "correct horse battery",
                                                 "new_password": "password12"}).status_code == 422
    changed = client.post("/api/me/password", json={"current_password": "correct horse battery",
                                                    "new_password": "kuro-neko-hashiru-2026-yoru"})
    assert changed.status_code == 204
    client.headers["X-CSRF-Token"] = changed.headers["X-CSRF-Token"]
    assert client.get("/api/alerts").status_code == 200 and other.get("/api/alerts").status_code == 401
    fresh = client_for(pg_container)
    assert fresh.post("/api/session", json={"username": "higashi", "password": "kuro-neko-hashiru-2026-yoru"}
                      ).status_code == 200


def test_users_change_their_own_password_from_the_page(pg_container: Container) -> None:
    add_user(pg_container, "higashi", "ward_staff", "40131")
    other = client_for(pg_container, "higashi")
    client = client_for(pg_container, "higashi")
    page = client.get("/me/password")
    assert page.status_code == 200 and "パスワードの変更" in page.text and 'href="/me/password"' in page.text
    csrf = client.headers["X-CSRF-Token"]

    def submit(current: str, new: str, again: str | None = None) -> object:
        return client.post("/me/password", data={"csrf_token": csrf, "current_password": current,
                                                 "new_password": new, "new_password_again": again or new},
                           follow_redirects=False)

    wrong = submit("wrong", "kuro-neko-hashiru-2026-yoru")
    assert wrong.status_code == 400 and "現在のパスワードが違います" in wrong.text
    mismatch = submit("correct horse battery", "kuro-neko-hashiru-2026-yoru", "kuro-neko-hashiru-2026-asa")
    assert mismatch.status_code == 400 and "一致しません" in mismatch.text
    weak = submit("correct horse battery", "password12")
    assert weak.status_code == 400 and "よく使われる" in weak.text and "password12" not in weak.text
    done = submit("correct horse battery", "kuro-neko-hashiru-2026-yoru")
    assert done.status_code == 303 and done.headers["location"] == "/me/password?done=1"
    assert "パスワードを変更しました" in client.get("/me/password?done=1").text  # the new session cookie
    assert other.get("/api/alerts").status_code == 401  # every other session ended
    fresh = client_for(pg_container)
    assert fresh.post("/api/session", json={"username": "higashi", "password": "kuro-neko-hashiru-2026-yoru"}
                      ).status_code == 200
    with pg_container.sessions() as session:
        outcomes = [r.outcome for r in session.scalars(select(AuditRecord).where(
            AuditRecord.action == "change_password").order_by(AuditRecord.seq))]
    assert outcomes == ["failed", "ok"]
