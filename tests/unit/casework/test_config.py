"""Settings: production mode is switched on by TSUNAGU_ENVIRONMENT and refuses known secrets and demo users."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.casework.config import DEFAULT_SESSION_SECRET, CaseworkSettings
from services.casework.entrypoints import cli

pytestmark = pytest.mark.unit

REAL_SECRET = "Zq8vR2mXk4pL9sTn6wYc3hJf7bGd5aEu"


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only the variable deploy/run.sh and docker-compose.yml set, as they set it."""
    monkeypatch.delenv("TSUNAGU_CASEWORK_ENVIRONMENT", raising=False)
    monkeypatch.setenv("TSUNAGU_ENVIRONMENT", "production")
    monkeypatch.setenv("TSUNAGU_CASEWORK_AUDIT_ANCHOR_PATH", str(tmp_path / "audit.anchor"))
    monkeypatch.setenv("TSUNAGU_CASEWORK_DATABASE_URL", f"sqlite:///{tmp_path}/cw.db")


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
                             totp_roles=["hq_admin", "privacy_officer", "child_guidance"])
    assert "child_guidance" in wider.totp_roles
