"""Settings refuse the default session secret outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.casework.config import CaseworkSettings

pytestmark = pytest.mark.unit


def test_default_secret_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_CASEWORK_ENVIRONMENT", "production")
    monkeypatch.delenv("TSUNAGU_CASEWORK_SESSION_SECRET", raising=False)
    with pytest.raises(ValidationError, match="SESSION_SECRET"):
        CaseworkSettings()


def test_a_real_secret_is_accepted_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TSUNAGU_CASEWORK_ENVIRONMENT", "production")
    monkeypatch.setenv("TSUNAGU_CASEWORK_SESSION_SECRET", "x" * 40)
    assert CaseworkSettings().environment == "production"


def test_defaults_match_the_architecture(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("KAFKA_BOOTSTRAP", "WEB_PORT", "METRICS_PORT", "DATABASE_URL", "ENVIRONMENT"):
        monkeypatch.delenv(f"TSUNAGU_CASEWORK_{name}", raising=False)
    s = CaseworkSettings()
    assert (s.kafka_bootstrap, s.web_port, s.metrics_port, s.database_url) == (
        "127.0.0.1:9092", 8000, 9104, "sqlite:///var/casework.db")
