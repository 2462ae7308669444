"""TOTP secrets at rest (PostgreSQL and SQLite): after ``enrol-totp`` no table holds the base32 secret, only the
sealed ``v1:`` form (which needs users.totp_secret widened by migration 0010 on PostgreSQL); login works with the
key from the key file; ``rotate-totp-key`` moves every secret, one stored unencrypted before this change included,
to a new key, after which the old key can go."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import select, text, update

from services.casework.adapters.db import alembic_config, migrate
from services.casework.adapters.orm import AuditRecord, Base, User, WebSession
from services.casework.bootstrap import Container, bootstrap
from services.casework.config import CaseworkSettings
from services.casework.domain import totp
from services.casework.entrypoints import cli
from services.casework.entrypoints.web import create_app
from tests.integration.casework.containers import FakeClock, new_totp_key
from tests.integration.casework.web import PASSWORD, add_user

pytestmark = pytest.mark.integration


def container_with_key_file(db_url: str, clock: FakeClock, key_file: Path, monkeypatch: pytest.MonkeyPatch
                            ) -> Container:
    """A container and the CLI (which reads the environment) on the same database and key file."""
    monkeypatch.setenv("TSUNAGU_CASEWORK_DATABASE_URL", db_url)
    monkeypatch.setenv("TSUNAGU_CASEWORK_TOTP_KEY_FILE", str(key_file))
    monkeypatch.delenv("TSUNAGU_CASEWORK_TOTP_KEY", raising=False)
    return bootstrap(CaseworkSettings(database_url=db_url, environment="test", session_secret="t" * 32,
                                      totp_key_file=key_file), clock=clock)


def enrol_with_cli(username: str, capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    assert cli.main(["enrol-totp", "--username", username, *extra]) == 0
    found = re.search(r"secret for manual entry: ([A-Z2-7]+)", capsys.readouterr().out)
    assert found
    return found.group(1)


def every_stored_value(container: Container) -> str:
    """Every row of every casework table, as text."""
    with container.sessions() as s:
        return "\n".join(repr(tuple(row)) for table in Base.metadata.sorted_tables
                         for row in s.execute(select(table)))


def login_status(container: Container, username: str, code: str) -> int:
    client = TestClient(create_app(container), base_url="http://127.0.0.1")
    return client.post("/api/session", json={"username": username, "password": PASSWORD, "totp": code}).status_code


def test_after_enrolment_the_database_holds_no_base32_secret(
        db_url: str, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "totp.key"
    key_file.write_text(new_totp_key() + "\n", encoding="utf-8")
    c = container_with_key_file(db_url, clock, key_file, monkeypatch)
    add_user(c, "hq", "hq_admin")
    secret = enrol_with_cli("hq", capsys)
    with c.sessions() as s:
        stored = s.execute(text("SELECT totp_secret FROM users WHERE username = 'hq'")).scalar_one()
    assert re.fullmatch(rf"v1:{c.totp_box.current_key_id}:[A-Za-z0-9_-]{{80}}", stored)
    everything = every_stored_value(c)
    assert secret not in everything and secret.lower() not in everything.lower()
    assert not re.search(r"\b[A-Z2-7]{32}\b", everything)  # no base32 secret of anybody's either
    if db_url.startswith("sqlite:///"):  # nor in the file's free pages or journal left behind
        raw = b"".join(p.read_bytes() for p in tmp_path.glob("casework.db*"))
        assert secret.encode() not in raw
    assert login_status(c, "hq", totp.code_at(secret, clock())) == 200
    c.engine.dispose()


def test_rotate_totp_key_moves_every_secret_to_the_new_key(
        db_url: str, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    old_key, new_key = new_totp_key(), new_totp_key()
    key_file = tmp_path / "totp.key"
    key_file.write_text(old_key + "\n", encoding="utf-8")
    c = container_with_key_file(db_url, clock, key_file, monkeypatch)
    add_user(c, "hq", "hq_admin")
    add_user(c, "privacy", "privacy_officer")
    hq_secret = enrol_with_cli("hq", capsys)
    legacy_secret = totp.new_secret()  # how enrol-totp stored secrets before this change
    with c.sessions.begin() as s:
        s.execute(update(User).where(User.username == "privacy").values(totp_secret=legacy_secret))
    c.engine.dispose()

    key_file.write_text(f"# current\n{new_key}\n# until rotate-totp-key has run\n{old_key}\n", encoding="utf-8")
    assert cli.main(["rotate-totp-key"]) == 0
    out = capsys.readouterr().out
    c = container_with_key_file(db_url, clock, key_file, monkeypatch)
    assert f"under key {c.totp_box.current_key_id}: 2 sealed again, 0 already under it" in out
    with c.sessions() as s:
        stored = {name: value for name, value in s.execute(select(User.username, User.totp_secret))}
        audit = s.scalars(select(AuditRecord).where(AuditRecord.action == "rotate_totp_key")).one()
    assert all(v.startswith(f"v1:{c.totp_box.current_key_id}:") for v in stored.values())
    assert (audit.user_id, audit.detail) == ("cli", "resealed=2 current=0 unreadable=0")
    c.engine.dispose()

    key_file.write_text(new_key + "\n", encoding="utf-8")  # the old key is gone
    c = container_with_key_file(db_url, clock, key_file, monkeypatch)
    assert login_status(c, "hq", totp.code_at(hq_secret, clock())) == 200
    assert login_status(c, "privacy", totp.code_at(legacy_secret, clock())) == 200
    assert cli.main(["rotate-totp-key"]) == 0
    assert "0 sealed again, 2 already under it" in capsys.readouterr().out
    c.engine.dispose()


def test_rotate_totp_key_fails_when_a_secret_cannot_be_opened(
        db_url: str, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "totp.key"
    key_file.write_text(new_totp_key() + "\n", encoding="utf-8")
    c = container_with_key_file(db_url, clock, key_file, monkeypatch)
    add_user(c, "hq", "hq_admin")
    enrol_with_cli("hq", capsys)
    key_file.write_text(new_totp_key() + "\n", encoding="utf-8")  # the old key dropped before rotating
    assert cli.main(["rotate-totp-key"]) == 1
    assert "enrol-totp --reset: hq" in capsys.readouterr().err
    c.engine.dispose()


def test_migration_0010_keeps_a_secret_from_before_and_its_first_login_seals_it(
        db_url: str, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    command.upgrade(alembic_config(db_url), "0009_evaluation_reports")  # a database from before this change
    key_file = tmp_path / "totp.key"
    key_file.write_text(new_totp_key() + "\n", encoding="utf-8")
    monkeypatch.setenv("TSUNAGU_CASEWORK_TOTP_KEY_FILE", str(key_file))
    settings = CaseworkSettings(database_url=db_url, environment="test", session_secret="t" * 32,
                                totp_key_file=key_file)
    old = bootstrap(settings, run_migrations=False, clock=clock)
    add_user(old, "hq", "hq_admin")
    legacy = totp.new_secret()
    with old.sessions.begin() as s:
        s.execute(update(User).where(User.username == "hq").values(totp_secret=legacy))
        user_id = s.scalars(select(User.user_id)).one()
        # signed in: a row refers to the user (SQLite's copy of the table must not trip over it)
        s.add(WebSession(token_hash="a" * 64, user_id=user_id, csrf_token="c" * 64, created_at=clock(),
                         last_seen_at=clock()))
    old.engine.dispose()

    migrate(db_url)
    c = bootstrap(settings, clock=clock)
    with c.sessions() as s:
        assert s.scalars(select(User.totp_secret)).one() == legacy  # kept by the migration (SQLite copies the table)
    assert login_status(c, "hq", totp.code_at(legacy, clock())) == 200
    with c.sessions() as s:
        sealed = s.scalars(select(User.totp_secret)).one()
        entry = s.scalars(select(AuditRecord).where(AuditRecord.action == "login")).one()
    assert sealed.startswith(f"v1:{c.totp_box.current_key_id}:") and len(sealed) > 64  # fits only after 0010
    assert entry.detail == f"password+totp; secret re-encrypted under key {c.totp_box.current_key_id}"
    c.engine.dispose()
