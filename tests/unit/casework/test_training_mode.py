"""研修モード: the settings refuse training in production or on the live database and group; training accounts
exist only in training mode; the banner is on the base page when (and only when) training is on."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlalchemy import select

from services.casework.adapters.orm import User
from services.casework.bootstrap import bootstrap
from services.casework.config import CaseworkSettings
from services.casework.entrypoints import cli
from services.casework.entrypoints.web_common import templates

pytestmark = pytest.mark.unit

REAL_SECRET = "Zq8vR2mXk4pL9sTn6wYc3hJf7bGd5aEu"
REAL_TOTP_KEY = "q3Jb0XyW7cVnK2pLr8sTu5vMw1xZa4bCd6eFg9hHi0j"  # random, for these tests only
BANNER = "研修用・架空データ"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TSUNAGU_ENVIRONMENT", "TSUNAGU_CASEWORK_ENVIRONMENT", "TSUNAGU_CASEWORK_TRAINING",
                 "TSUNAGU_CASEWORK_DATABASE_URL", "TSUNAGU_CASEWORK_APP_ID", "TSUNAGU_CASEWORK_SESSION_SECRET",
                 "TSUNAGU_CASEWORK_AUDIT_ANCHOR_PATH"):
        monkeypatch.delenv(name, raising=False)


def training_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/training/casework.db"
    (tmp_path / "training").mkdir(exist_ok=True)
    monkeypatch.setenv("TSUNAGU_CASEWORK_TRAINING", "true")
    monkeypatch.setenv("TSUNAGU_CASEWORK_DATABASE_URL", url)
    monkeypatch.setenv("TSUNAGU_CASEWORK_APP_ID", "tsunagu-training-casework")
    return url


def test_training_is_off_by_default() -> None:
    assert CaseworkSettings().training is False


def test_training_with_its_own_database_and_group_is_accepted(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    training_env(monkeypatch, tmp_path)
    assert CaseworkSettings().training is True


@pytest.mark.parametrize("environment_variable", ["TSUNAGU_ENVIRONMENT", "TSUNAGU_CASEWORK_ENVIRONMENT"])
def test_training_is_refused_in_production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                           environment_variable: str) -> None:
    training_env(monkeypatch, tmp_path)
    monkeypatch.setenv(environment_variable, "production")
    monkeypatch.setenv("TSUNAGU_CASEWORK_SESSION_SECRET", REAL_SECRET)  # everything else production needs is there
    monkeypatch.setenv("TSUNAGU_CASEWORK_AUDIT_ANCHOR_PATH", str(tmp_path / "audit.anchor"))
    monkeypatch.setenv("TSUNAGU_CASEWORK_TOTP_KEY", REAL_TOTP_KEY)
    with pytest.raises(ValidationError, match="refused in production"):
        CaseworkSettings()


def test_production_without_training_still_starts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TSUNAGU_ENVIRONMENT", "production")
    monkeypatch.setenv("TSUNAGU_CASEWORK_SESSION_SECRET", REAL_SECRET)
    monkeypatch.setenv("TSUNAGU_CASEWORK_AUDIT_ANCHOR_PATH", str(tmp_path / "audit.anchor"))
    monkeypatch.setenv("TSUNAGU_CASEWORK_TOTP_KEY", REAL_TOTP_KEY)
    assert CaseworkSettings().production and not CaseworkSettings().training


@pytest.mark.parametrize("url", ["sqlite:///var/casework.db", "postgresql+psycopg://tsunagu@db/casework"])
def test_training_on_the_live_database_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                  url: str) -> None:
    training_env(monkeypatch, tmp_path)
    monkeypatch.setenv("TSUNAGU_CASEWORK_DATABASE_URL", url)
    with pytest.raises(ValidationError, match="own database"):
        CaseworkSettings()


def test_training_in_the_live_consumer_group_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    training_env(monkeypatch, tmp_path)
    monkeypatch.setenv("TSUNAGU_CASEWORK_APP_ID", "tsunagu-casework")
    with pytest.raises(ValidationError, match="own consumer group"):
        CaseworkSettings()


def test_training_seed_is_refused_outside_training_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TSUNAGU_CASEWORK_DATABASE_URL", f"sqlite:///{tmp_path}/cw.db")
    assert cli.main(["seed-training-users"]) == 2
    assert "training mode only" in capsys.readouterr().err
    assert not (tmp_path / "cw.db").exists()  # refused before touching any database


def test_training_seed_is_refused_in_production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    training_env(monkeypatch, tmp_path)
    monkeypatch.setenv("TSUNAGU_ENVIRONMENT", "production")
    monkeypatch.setenv("TSUNAGU_CASEWORK_SESSION_SECRET", REAL_SECRET)
    monkeypatch.setenv("TSUNAGU_CASEWORK_AUDIT_ANCHOR_PATH", str(tmp_path / "audit.anchor"))
    monkeypatch.setenv("TSUNAGU_CASEWORK_TOTP_KEY", REAL_TOTP_KEY)
    assert cli.main(["seed-training-users"]) == 2
    assert "refused in production" in capsys.readouterr().err
    assert not (tmp_path / "training" / "casework.db").exists()


def test_training_names_cannot_be_created_outside_training_mode(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TSUNAGU_CASEWORK_DATABASE_URL", f"sqlite:///{tmp_path}/cw.db")
    code = cli.main(["create-user", "--username", "Kensyu99", "--password", "x", "--role", "ward_staff",
                     "--ward", "40131"])
    assert code == 2
    assert "training accounts" in capsys.readouterr().err


def test_training_seed_creates_every_account_once_and_resets_passwords(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    url = training_env(monkeypatch, tmp_path)
    assert cli.main(["seed-training-users"]) == 0
    assert cli.main(["seed-training-users"]) == 0  # idempotent: the reset runs it again
    container = bootstrap(CaseworkSettings(database_url=url, app_id="tsunagu-training-casework", training=True))
    with container.sessions() as session:
        users = {u.username: u for u in session.scalars(select(User))}
    expected = cli.training_accounts()
    assert set(users) == {name for name, *_ in expected}
    assert all(name.startswith(cli.TRAINING_PREFIX) for name in users)
    wards = sorted(u.ward_code for u in users.values() if u.role == "ward_staff")
    assert wards == sorted(2 * ["40131", "40132", "40133", "40134", "40135", "40136", "40137"])
    assert {u.role for u in users.values()} == {"ward_staff", "hq_admin", "privacy_officer", "child_guidance"}
    container.engine.dispose()


def render_base(training: bool | None) -> str:
    env = Jinja2Templates(directory=templates.env.loader.searchpath[0]).env  # type: ignore[union-attr]
    env.globals.update(templates.env.globals)
    context: dict[str, Any] = {"me": None, "csrf_token": ""}
    if training is not None:
        settings = SimpleNamespace(training=training)
        context["request"] = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(
            container=SimpleNamespace(settings=settings))))
    return env.get_template("base.html").render(**context)


def test_banner_on_the_base_page_in_training_mode() -> None:
    html = render_base(True)
    assert BANNER in html
    assert 'id="training-banner"' in html
    assert "<title>【研修】" in html


@pytest.mark.parametrize("training", [False, None])
def test_no_banner_outside_training_mode(training: bool | None) -> None:
    html = render_base(training)
    assert BANNER not in html
    assert "【研修】" not in html
