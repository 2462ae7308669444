"""Login with a sealed TOTP secret (service_layer/auth.py over an in-memory database): an unencrypted secret from
before sealing still works and is sealed by that login; one under an older key is moved to the current key; one
that no key opens is refused and audited as such; enrolment stores only the sealed form; rotate-totp-key's use case
moves every secret and names those it cannot open."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from services.casework.adapters.orm import Base, User
from services.casework.adapters.secret_box import AesGcmSecretBox, key_id
from services.casework.domain import totp
from services.casework.service_layer import auth

pytestmark = pytest.mark.unit

NOW = datetime(2026, 6, 1, 0, 30, 10, tzinfo=UTC)
PASSWORD = "kR7#vLq2!mZx9wPb"  # test account
POLICY = auth.SecondFactorPolicy(roles=frozenset({"hq_admin", "privacy_officer"}), enrolment_required=True)
KEY_OLD, KEY_NEW = os.urandom(32), os.urandom(32)


@pytest.fixture
def sessions() -> Iterator[sessionmaker[Session]]:
    engine = create_engine("sqlite://", poolclass=StaticPool)
    Base.metadata.create_all(engine)
    yield sessionmaker(bind=engine, expire_on_commit=False)
    engine.dispose()


def add_hq(sessions: sessionmaker[Session], stored_secret: str | None, name: str = "hq") -> str:
    with sessions.begin() as s:
        user = auth.create_user(s, username=name, password=PASSWORD, role="hq_admin", ward_code=None, division=None,
                                now=NOW, check_strength=False)
        user.totp_secret = stored_secret
        return user.user_id


def set_stored(sessions: sessionmaker[Session], user_id: str, value: str) -> None:
    with sessions.begin() as s:
        s.get_one(User, user_id).totp_secret = value


def stored(sessions: sessionmaker[Session], name: str = "hq") -> str | None:
    with sessions() as s:
        return s.scalars(select(User.totp_secret).where(User.username == name)).one()


def tamper(sealed: str) -> str:
    """One character of the tag changed (the last base64 character carries 6 bits of the tag)."""
    return sealed[:-1] + ("B" if sealed[-1] == "A" else "A")


def login(sessions: sessionmaker[Session], box: AesGcmSecretBox, code: str, at: datetime = NOW) -> auth.LoginOk:
    with sessions.begin() as s:
        return auth.authenticate(s, "hq", PASSWORD, at, client="10.0.0.5", secret="s" * 32, totp=code,
                                 policy=POLICY, box=box)


def test_an_unencrypted_secret_still_logs_in_and_that_login_seals_it(sessions: sessionmaker[Session]) -> None:
    secret = pyotp.random_base32()
    user_id = add_hq(sessions, secret)  # as enrol-totp stored it before this change
    box = AesGcmSecretBox([KEY_NEW])
    ok = login(sessions, box, totp.code_at(secret, NOW))
    assert ok.factors == f"password+totp; secret re-encrypted under key {key_id(KEY_NEW)}"
    sealed = stored(sessions)
    assert sealed is not None and sealed.startswith(f"v1:{key_id(KEY_NEW)}:") and secret not in sealed
    assert box.open(sealed, user_id) == secret
    later = NOW + timedelta(seconds=30)
    assert login(sessions, box, totp.code_at(secret, later), later).factors == "password+totp"  # the same phone
    assert stored(sessions) == sealed  # sealed once, not on every login


def test_a_failed_login_leaves_an_unencrypted_secret_alone(sessions: sessionmaker[Session]) -> None:
    secret = pyotp.random_base32()
    add_hq(sessions, secret)
    wrong = "000000" if totp.code_at(secret, NOW) != "000000" else "111111"
    with pytest.raises(auth.AuthError, match=auth.TOTP_WRONG):
        login(sessions, AesGcmSecretBox([KEY_NEW]), wrong)
    assert stored(sessions) == secret


def test_a_secret_under_the_older_key_moves_to_the_current_one_at_login(sessions: sessionmaker[Session]) -> None:
    secret = pyotp.random_base32()
    user_id = add_hq(sessions, None)
    set_stored(sessions, user_id, AesGcmSecretBox([KEY_OLD]).seal(secret, user_id))
    ok = login(sessions, AesGcmSecretBox([KEY_NEW, KEY_OLD]), totp.code_at(secret, NOW))
    assert "re-encrypted" in ok.factors
    assert AesGcmSecretBox([KEY_NEW]).open(stored(sessions) or "", user_id) == secret


@pytest.mark.parametrize("how", ["wrong key", "tampered", "another user's"])
def test_a_secret_no_key_opens_is_refused_and_says_why(sessions: sessionmaker[Session], how: str) -> None:
    secret = pyotp.random_base32()
    user_id = add_hq(sessions, None)
    other_id = add_hq(sessions, None, name="hq2")
    sealed = {"wrong key": AesGcmSecretBox([KEY_OLD]).seal(secret, user_id),
              "tampered": tamper(AesGcmSecretBox([KEY_NEW]).seal(secret, user_id)),
              "another user's": AesGcmSecretBox([KEY_NEW]).seal(secret, other_id)}[how]
    set_stored(sessions, user_id, sealed)
    with sessions.begin() as s:
        try:
            auth.authenticate(s, "hq", PASSWORD, NOW, client="10.0.0.5", secret="s" * 32,
                              totp=totp.code_at(secret, NOW), policy=POLICY, box=AesGcmSecretBox([KEY_NEW]))
        except auth.AuthError as exc:
            refused = (str(exc), exc.reason, exc.user.user_id if exc.user else None)
        else:
            pytest.fail("logged in with a secret no key opens")
    assert refused == (auth.TOTP_UNREADABLE, "totp secret unreadable", user_id)  # audited under the account
    assert stored(sessions) == sealed


def test_enrolment_stores_only_the_sealed_secret(sessions: sessionmaker[Session]) -> None:
    user_id = add_hq(sessions, None)
    box = AesGcmSecretBox([KEY_NEW])
    with sessions.begin() as s:
        _, secret = auth.enrol_totp(s, "hq", box=box)
    sealed = stored(sessions)
    assert sealed is not None and secret not in sealed and box.open(sealed, user_id) == secret
    assert login(sessions, box, totp.code_at(secret, NOW)).factors == "password+totp"


def test_resealing_moves_every_secret_and_names_those_no_key_opens(sessions: sessionmaker[Session]) -> None:
    secrets = {name: pyotp.random_base32() for name in ("a-hq", "b-hq", "c-hq", "d-hq")}
    ids = {name: add_hq(sessions, None, name=name) for name in secrets}
    add_hq(sessions, None, name="e-no-totp")
    set_stored(sessions, ids["a-hq"], secrets["a-hq"])  # unencrypted, from before sealing
    set_stored(sessions, ids["b-hq"], AesGcmSecretBox([KEY_OLD]).seal(secrets["b-hq"], ids["b-hq"]))
    set_stored(sessions, ids["c-hq"], AesGcmSecretBox([KEY_NEW]).seal(secrets["c-hq"], ids["c-hq"]))
    set_stored(sessions, ids["d-hq"], AesGcmSecretBox([os.urandom(32)]).seal(secrets["d-hq"], ids["d-hq"]))
    with sessions.begin() as s:
        result = auth.reseal_totp_secrets(s, AesGcmSecretBox([KEY_NEW, KEY_OLD]))
    assert (result.resealed, result.current, result.unreadable) == (2, 1, ["d-hq"])
    only_new = AesGcmSecretBox([KEY_NEW], accept_plaintext=False)
    for name in ("a-hq", "b-hq", "c-hq"):
        assert only_new.open(stored(sessions, name) or "", ids[name]) == secrets[name]
    assert stored(sessions, "e-no-totp") is None
