"""研修モード's accounts exist only in a training deployment (service_layer/auth.py over an in-memory database):
outside one no ``kensyu…`` name can be created — by the CLI, HQ's users page or the API, all of which go through
``create_user`` — and one that reached the database anyway (a copied file, a row written by hand) does not log in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from services.casework.adapters.orm import Base, User
from services.casework.adapters.secret_box import AesGcmSecretBox
from services.casework.service_layer import auth

pytestmark = pytest.mark.unit

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
PASSWORD = "tsunagu-kensyu-2026"  # the training accounts' printed password
POLICY = auth.SecondFactorPolicy(roles=frozenset(), enrolment_required=False)
BOX = AesGcmSecretBox([b"k" * 32])


@pytest.fixture
def sessions() -> Iterator[sessionmaker[Session]]:
    engine = create_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    yield sessionmaker(bind=engine, expire_on_commit=False)
    engine.dispose()


def create(sessions: sessionmaker[Session], name: str, *, training: bool) -> None:
    with sessions.begin() as s:
        auth.create_user(s, username=name, password=PASSWORD, role="ward_staff", ward_code="40131", division=None,
                         now=NOW, check_strength=False, training=training)


def login(sessions: sessionmaker[Session], name: str, *, training: bool) -> auth.LoginOk:
    with sessions.begin() as s:
        return auth.authenticate(s, name, PASSWORD, NOW, policy=POLICY, box=BOX, training=training)


@pytest.mark.parametrize("name", ["kensyu01", "Kensyu-HQ", "ｋｅｎｓｙｕ99", " kensyu-new "])
def test_no_training_name_is_created_outside_training_mode(sessions: sessionmaker[Session], name: str) -> None:
    with pytest.raises(ValueError, match="training accounts"):
        create(sessions, name, training=False)
    with sessions() as s:
        assert s.query(User).count() == 0


def test_in_training_mode_a_training_account_is_created_and_logs_in(sessions: sessionmaker[Session]) -> None:
    create(sessions, "kensyu01", training=True)
    assert login(sessions, "kensyu01", training=True).user.username == "kensyu01"


def test_one_in_the_database_outside_training_mode_is_refused_like_an_unknown_account(
        sessions: sessionmaker[Session]) -> None:
    create(sessions, "kensyu01", training=True)  # e.g. a training database copied where the live one should be
    with pytest.raises(auth.AuthError) as refused:
        login(sessions, "kensyu01", training=False)
    assert str(refused.value) == auth.BAD_CREDENTIALS  # the same answer as a wrong password
    assert refused.value.reason == "training account outside training mode"  # what the audit records


def test_other_names_are_untouched(sessions: sessionmaker[Session]) -> None:
    create(sessions, "kenji", training=False)  # a live account that merely starts alike is not a training one
    assert login(sessions, "kenji", training=False).user.username == "kenji"
