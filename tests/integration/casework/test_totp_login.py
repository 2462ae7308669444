"""TOTP second factor at login (SQLite): HQ and the privacy officer need a code once enrolled, a code works once,
every refusal is audited and throttled like a wrong password; ward staff are unaffected; production refuses
unenrolled TOTP roles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.casework.adapters.orm import AuditRecord, User
from services.casework.bootstrap import Container, bootstrap
from services.casework.config import CaseworkSettings
from services.casework.domain import totp
from services.casework.entrypoints import cli
from services.casework.entrypoints.web import create_app
from services.casework.entrypoints.web_security import PRE_LOGIN_COOKIE
from services.casework.service_layer import auth
from tests.integration.casework.containers import FakeClock, make_container, new_totp_key
from tests.integration.casework.web import PASSWORD, add_user, client_for

pytestmark = pytest.mark.integration


@pytest.fixture
def sqlite_container(tmp_path: Path, clock: FakeClock) -> Iterator[Container]:
    c = make_container(f"sqlite:///{tmp_path}/casework.db", clock)
    yield c
    c.engine.dispose()


def enrol(container: Container, username: str) -> str:
    with container.sessions.begin() as s:
        _, secret = auth.enrol_totp(s, username, box=container.totp_box)
    return secret


def api_login(container: Container, username: str, code: str | None = None,
              address: str = "10.0.0.5") -> tuple[int, str]:
    client = TestClient(create_app(container), base_url="http://127.0.0.1", client=(address, 40000))
    body = {"username": username, "password": PASSWORD} | ({"totp": code} if code is not None else {})
    response = client.post("/api/session", json=body)
    return response.status_code, response.json().get("detail", "")


def login_entries(container: Container) -> list[AuditRecord]:
    with container.sessions() as s:
        return list(s.scalars(select(AuditRecord).where(AuditRecord.action == "login").order_by(AuditRecord.seq)))


def user_id(container: Container, username: str) -> str:
    with container.sessions() as s:
        return s.scalars(select(User.user_id).where(User.username == username)).one()


def test_hq_without_a_code_is_refused_and_the_refusal_audited(sqlite_container: Container) -> None:
    add_user(sqlite_container, "hq", "hq_admin")
    enrol(sqlite_container, "hq")
    assert api_login(sqlite_container, "hq") == (401, auth.TOTP_MISSING)
    assert api_login(sqlite_container, "hq", "") == (401, auth.TOTP_MISSING)
    [entry, _] = login_entries(sqlite_container)
    assert (entry.outcome, entry.detail, entry.user_id, entry.target) == (
        "failed", "totp missing", user_id(sqlite_container, "hq"), "username=hq")


def test_hq_with_a_valid_code_gets_a_session(sqlite_container: Container, clock: FakeClock) -> None:
    add_user(sqlite_container, "hq", "hq_admin")
    secret = enrol(sqlite_container, "hq")
    client = client_for(sqlite_container)
    response = client.post("/api/session", json={"username": "hq", "password": PASSWORD,
                                                 "totp": totp.code_at(secret, clock())})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    assert client.get("/api/alerts").status_code == 200
    [entry] = login_entries(sqlite_container)
    assert (entry.outcome, entry.detail) == ("ok", "password+totp")
    assert secret not in f"{entry.target}{entry.detail}"


def test_a_code_from_the_previous_step_is_accepted(sqlite_container: Container, clock: FakeClock) -> None:
    add_user(sqlite_container, "privacy", "privacy_officer")
    secret = enrol(sqlite_container, "privacy")
    assert api_login(sqlite_container, "privacy", totp.code_at(secret, clock(), -1))[0] == 200


def test_a_used_code_is_refused_within_its_window(sqlite_container: Container, clock: FakeClock) -> None:
    add_user(sqlite_container, "hq", "hq_admin")
    secret = enrol(sqlite_container, "hq")
    code = totp.code_at(secret, clock())
    assert api_login(sqlite_container, "hq", code)[0] == 200
    assert api_login(sqlite_container, "hq", code) == (401, auth.TOTP_WRONG)
    clock.advance(seconds=30)  # still inside the window of one step, but used
    assert api_login(sqlite_container, "hq", code) == (401, auth.TOTP_WRONG)
    previous = totp.code_at(secret, clock(), -2)  # older than the used one: refused too
    assert api_login(sqlite_container, "hq", previous)[0] == 401
    assert api_login(sqlite_container, "hq", totp.code_at(secret, clock()))[0] == 200  # the next code works
    details = [e.detail for e in login_entries(sqlite_container)]
    assert details[:3] == ["password+totp", "totp reused", "totp reused"] and details[-1] == "password+totp"


def test_wrong_codes_are_audited_and_throttled_like_wrong_passwords(sqlite_container: Container,
                                                                     clock: FakeClock) -> None:
    add_user(sqlite_container, "hq", "hq_admin")
    secret = enrol(sqlite_container, "hq")
    right = totp.code_at(secret, clock())
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(5):
        assert api_login(sqlite_container, "hq", wrong) == (401, auth.TOTP_WRONG)
    assert api_login(sqlite_container, "hq", right) == (401, auth.THROTTLED)  # this client is slowed down
    assert api_login(sqlite_container, "hq", right, address="10.0.0.9")[0] == 200  # the real user elsewhere is not
    entries = login_entries(sqlite_container)
    assert [e.detail for e in entries] == ["totp wrong"] * 5 + ["throttled", "password+totp"]
    assert all(wrong not in f"{e.target}{e.detail}" for e in entries)


def test_ward_staff_log_in_without_a_code(sqlite_container: Container) -> None:
    add_user(sqlite_container, "higashi", "ward_staff", "40131")
    assert api_login(sqlite_container, "higashi")[0] == 200
    assert api_login(sqlite_container, "higashi", "")[0] == 200
    assert [e.detail for e in login_entries(sqlite_container)] == ["password", "password"]


def test_an_unenrolled_hq_logs_in_outside_production(sqlite_container: Container) -> None:
    add_user(sqlite_container, "hq", "hq_admin")
    assert api_login(sqlite_container, "hq")[0] == 200
    assert login_entries(sqlite_container)[0].detail.startswith("password; totp not enrolled")


def test_production_refuses_an_unenrolled_hq_but_not_ward_staff(tmp_path: Path, clock: FakeClock) -> None:
    settings = CaseworkSettings(database_url=f"sqlite:///{tmp_path}/prod.db", environment="production",
                                audit_anchor_path=tmp_path / "anchor",
                                session_secret="Zq8vR2mXk4pL9sTn6wYc3hJf7bGd5aEu",
                                totp_key=new_totp_key())  # type: ignore[arg-type]
    c = bootstrap(settings, clock=clock)
    add_user(c, "hq", "hq_admin")
    add_user(c, "higashi", "ward_staff", "40131")
    assert api_login(c, "hq") == (401, auth.TOTP_NOT_ENROLLED)
    assert "管理者に設定を依頼" in auth.TOTP_NOT_ENROLLED
    secret = enrol(c, "hq")
    assert api_login(c, "hq", totp.code_at(secret, clock()))[0] == 200
    assert api_login(c, "higashi")[0] == 200
    assert [e.detail for e in login_entries(c)] == ["totp not enrolled", "password+totp", "password"]
    c.engine.dispose()


def test_the_login_form_has_a_code_field(sqlite_container: Container, clock: FakeClock) -> None:
    add_user(sqlite_container, "hq", "hq_admin")
    secret = enrol(sqlite_container, "hq")
    browser = client_for(sqlite_container)
    page = browser.get("/login").text
    assert 'name="totp"' in page and 'autocomplete="one-time-code"' in page
    token = browser.cookies.get(PRE_LOGIN_COOKIE) or ""
    refused = browser.post("/login", data={"username": "hq", "password": PASSWORD, "login_csrf": token})
    assert refused.status_code == 401 and auth.TOTP_MISSING in refused.text
    token = browser.cookies.get(PRE_LOGIN_COOKIE) or ""
    code = totp.code_at(secret, clock())
    ok = browser.post("/login", data={"username": "hq", "password": PASSWORD, "login_csrf": token, "totp": code},
                      follow_redirects=False)
    assert ok.status_code == 303


def test_enrol_totp_prints_the_secret_once_and_audits_without_it(
        sqlite_container: Container, clock: FakeClock, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    add_user(sqlite_container, "hq", "hq_admin")
    monkeypatch.setenv("TSUNAGU_CASEWORK_DATABASE_URL", str(sqlite_container.settings.database_url))
    assert cli.main(["enrol-totp", "--username", "hq"]) == 0
    out = capsys.readouterr().out
    uri = re.search(r"otpauth://totp/\S+", out)
    secret = re.search(r"secret for manual entry: ([A-Z2-7]+)", out)
    assert uri and secret and f"secret={secret.group(1)}" in uri.group(0)
    assert cli.main(["enrol-totp", "--username", "hq"]) == 2  # already enrolled: only --reset replaces it
    with sqlite_container.sessions() as s:
        stored = s.scalars(select(User.totp_secret).where(User.username == "hq")).one()
        audit = list(s.scalars(select(AuditRecord).where(AuditRecord.action == "enrol_totp")))
    assert stored.startswith("v1:") and secret.group(1) not in stored  # sealed (test_totp_secret_at_rest.py)
    assert [(e.user_id, e.detail) for e in audit] == [("cli", "enrolled")]
    assert all(secret.group(1) not in f"{e.target}{e.detail}" for e in audit)
    assert api_login(sqlite_container, "hq", totp.code_at(secret.group(1), clock()))[0] == 200
    assert cli.main(["enrol-totp", "--username", "hq", "--reset"]) == 0
    clock.advance(seconds=30)
    assert api_login(sqlite_container, "hq", totp.code_at(secret.group(1), clock()))[0] == 401  # the old one is dead
    assert cli.main(["enrol-totp", "--username", "nobody"]) == 2
