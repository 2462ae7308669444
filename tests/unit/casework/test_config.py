"""Settings: production mode is switched on by TSUNAGU_ENVIRONMENT and refuses known secrets and demo users."""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.casework.config import DEFAULT_SESSION_SECRET, DEVELOPMENT_TOTP_KEY, CaseworkSettings
from services.casework.entrypoints import cli

pytestmark = pytest.mark.unit

REAL_SECRET = "Zq8vR2mXk4pL9sTn6wYc3hJf7bGd5aEu"
REAL_TOTP_KEY = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only the variable deploy/run.sh and docker-compose.yml set, as they set it."""
    monkeypatch.delenv("TSUNAGU_CASEWORK_ENVIRONMENT", raising=False)
    monkeypatch.setenv("TSUNAGU_ENVIRONMENT", "production")
    monkeypatch.setenv("TSUNAGU_CASEWORK_AUDIT_ANCHOR_PATH", str(tmp_path / "audit.anchor"))
    monkeypatch.setenv("TSUNAGU_CASEWORK_DATABASE_URL", f"sqlite:///{tmp_path}/cw.db")
    key_file = tmp_path / "totp.key"
    key_file.write_text(f"# current\n{REAL_TOTP_KEY}\n", encoding="utf-8")
    monkeypatch.setenv("TSUNAGU_CASEWORK_TOTP_KEY_FILE", str(key_file))
    monkeypatch.delenv("TSUNAGU_CASEWORK_TOTP_KEY", raising=False)


def test_default_secret_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_CASEWORK_ENVIRONMENT", "production")
    monkeypatch.delenv("TSUNAGU_CASEWORK_SESSION_SECRET", raising=False)
    with pytest.raises(ValidationError, match="SESSION_SECRET"):
        CaseworkSettings()


@pytest.mark.usefixtures("production")
@pytest.mark.parametrize("secret", [None, DEFAULT_SESSION_SECRET, "t" * 32, "x" * 40, "short-but-16chars"])
def test_tsunagu_environment_production_refuses_default_and_known_secrets(
        monkeypatch: pytest.MonkeyPatch, secret: str | None) -> None:
    if secret is None:
        monkeypatch.delenv("TSUNAGU_CASEWORK_SESSION_SECRET", raising=False)
    else:
        monkeypatch.setenv("TSUNAGU_CASEWORK_SESSION_SECRET", secret)
    with pytest.raises(ValidationError, match="SESSION_SECRET"):
        CaseworkSettings()


@pytest.mark.usefixtures("production")
def test_a_real_secret_is_accepted_in_production_with_secure_cookies_and_localhost(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_CASEWORK_SESSION_SECRET", REAL_SECRET)
    monkeypatch.delenv("TSUNAGU_CASEWORK_WEB_HOST", raising=False)
    s = CaseworkSettings()
    assert s.environment == "production" and s.production and s.secure_cookies
    assert s.web_host == "127.0.0.1"


@pytest.mark.usefixtures("production")
def test_production_needs_an_audit_anchor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_CASEWORK_SESSION_SECRET", REAL_SECRET)
    monkeypatch.delenv("TSUNAGU_CASEWORK_AUDIT_ANCHOR_PATH")
    with pytest.raises(ValidationError, match="AUDIT_ANCHOR_PATH"):
        CaseworkSettings()


@pytest.mark.usefixtures("production")
def test_seed_demo_users_is_refused_in_production(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TSUNAGU_CASEWORK_SESSION_SECRET", REAL_SECRET)
    assert cli.main(["seed-demo-users"]) == 2
    assert "development only" in capsys.readouterr().err


def test_the_services_own_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_ENVIRONMENT", "production")
    monkeypatch.setenv("TSUNAGU_CASEWORK_ENVIRONMENT", "development")
    assert CaseworkSettings().environment == "development"


def test_defaults_match_the_architecture(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAFKA_BOOTSTRAP", "WEB_PORT", "METRICS_PORT", "DATABASE_URL", "ENVIRONMENT"):
        monkeypatch.delenv(f"TSUNAGU_CASEWORK_{name}", raising=False)
    monkeypatch.delenv("TSUNAGU_ENVIRONMENT", raising=False)
    s = CaseworkSettings()
    assert (s.kafka_bootstrap, s.web_port, s.metrics_port, s.database_url) == (
        "127.0.0.1:9092", 8000, 9104, "sqlite:///var/casework.db")
    assert not s.secure_cookies


def test_totp_roles_must_be_real_roles_and_cover_hq_and_privacy_in_production(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="TOTP_ROLES"):
        CaseworkSettings(totp_roles=["hq"])
    assert CaseworkSettings(totp_roles=["hq_admin"]).totp_roles == ["hq_admin"]  # development may narrow it
    with pytest.raises(ValidationError, match="TOTP_ROLES"):
        CaseworkSettings(environment="production", session_secret=REAL_SECRET, audit_anchor_path=tmp_path / "a",
                         totp_roles=["hq_admin"])
    wider = CaseworkSettings(environment="production", session_secret=REAL_SECRET, audit_anchor_path=tmp_path / "a",
                             totp_roles=["hq_admin", "privacy_officer", "child_guidance"],
                             totp_key=REAL_TOTP_KEY)  # type: ignore[arg-type]
    assert "child_guidance" in wider.totp_roles


@pytest.mark.usefixtures("production")
def test_production_starts_with_a_key_file_and_seals_under_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_CASEWORK_SESSION_SECRET", REAL_SECRET)
    s = CaseworkSettings()
    assert s.totp_keys() == [base64.urlsafe_b64decode(REAL_TOTP_KEY + "=")] and not s.totp_key_is_development
    assert REAL_TOTP_KEY not in repr(s)


@pytest.mark.usefixtures("production")
def test_production_refuses_to_start_without_a_totp_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_CASEWORK_SESSION_SECRET", REAL_SECRET)
    monkeypatch.delenv("TSUNAGU_CASEWORK_TOTP_KEY_FILE")
    with pytest.raises(ValidationError, match=r"TOTP_KEY_FILE .*must be set in production"):
        CaseworkSettings()


@pytest.mark.usefixtures("production")
@pytest.mark.parametrize("key", [DEVELOPMENT_TOTP_KEY, DEVELOPMENT_TOTP_KEY + "=",
                                 base64.urlsafe_b64encode(bytes(32)).decode(),
                                 base64.urlsafe_b64encode(b"ab" * 16).decode()])
def test_production_refuses_the_development_key_and_weak_keys(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                              key: str) -> None:
    monkeypatch.setenv("TSUNAGU_CASEWORK_SESSION_SECRET", REAL_SECRET)
    (tmp_path / "totp.key").write_text(f"{key}\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="production needs random keys"):
        CaseworkSettings()
    # an older key in the ring counts too
    (tmp_path / "totp.key").write_text(f"{REAL_TOTP_KEY}\n{key}\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="production needs random keys"):
        CaseworkSettings()


@pytest.mark.parametrize("key", ["not-base64!", base64.urlsafe_b64encode(bytes(range(16))).decode(), ""])
def test_a_malformed_or_empty_key_is_refused_in_every_environment(tmp_path: Path, key: str) -> None:
    (tmp_path / "totp.key").write_text(key, encoding="utf-8")
    with pytest.raises(ValidationError, match=r"TOTP key must|holds no key"):
        CaseworkSettings(environment="development", totp_key_file=tmp_path / "totp.key")


def test_a_missing_key_file_or_both_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot be read"):
        CaseworkSettings(totp_key_file=tmp_path / "absent.key")
    (tmp_path / "totp.key").write_text(REAL_TOTP_KEY, encoding="utf-8")
    with pytest.raises(ValidationError, match="not both"):
        CaseworkSettings(totp_key_file=tmp_path / "totp.key", totp_key=REAL_TOTP_KEY)  # type: ignore[arg-type]


def test_the_key_file_is_a_ring_current_first(tmp_path: Path) -> None:
    old = base64.urlsafe_b64encode(os.urandom(32)).decode()
    (tmp_path / "totp.key").write_text(f"# new, since 2026-06\n{REAL_TOTP_KEY}\n\n{old}  # old\n", encoding="utf-8")
    s = CaseworkSettings(totp_key_file=tmp_path / "totp.key")
    assert s.totp_keys() == [base64.urlsafe_b64decode(REAL_TOTP_KEY + "="), base64.urlsafe_b64decode(old)]


def test_development_without_a_key_uses_the_public_development_key_and_says_so(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from services.casework.bootstrap import totp_box

    for name in ("TOTP_KEY", "TOTP_KEY_FILE", "ENVIRONMENT"):
        monkeypatch.delenv(f"TSUNAGU_CASEWORK_{name}", raising=False)
    monkeypatch.delenv("TSUNAGU_ENVIRONMENT", raising=False)
    s = CaseworkSettings()
    assert s.totp_key_is_development and s.totp_keys() == [base64.urlsafe_b64decode(DEVELOPMENT_TOTP_KEY + "=")]
    with caplog.at_level(logging.WARNING, logger="tsunagu.casework"):
        box = totp_box(s)
    assert f"PUBLIC development key (config.DEVELOPMENT_TOTP_KEY, key id {box.current_key_id})" in caplog.text


@pytest.mark.usefixtures("production")
def test_a_refusal_does_not_print_the_other_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_CASEWORK_SESSION_SECRET", REAL_SECRET)
    monkeypatch.delenv("TSUNAGU_CASEWORK_TOTP_KEY_FILE")
    monkeypatch.setenv("TSUNAGU_CASEWORK_TOTP_KEY", REAL_TOTP_KEY)
    monkeypatch.delenv("TSUNAGU_CASEWORK_AUDIT_ANCHOR_PATH")  # refused for this, with both secrets set
    with pytest.raises(ValidationError, match="AUDIT_ANCHOR_PATH") as refused:
        CaseworkSettings()
    text = str(refused.value)
    assert REAL_TOTP_KEY[-12:] not in text and REAL_SECRET[-12:] not in text
