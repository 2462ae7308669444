"""Users (argon2 password hashes) and server-side sessions with idle and absolute timeouts."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from services.casework.adapters.orm import User, WebSession
from services.casework.domain import totp as totp_codes
from services.casework.domain.access import Principal, Role, validate_user_fields
from services.casework.service_layer import login_throttle
from services.casework.service_layer.passwords import check_password
from services.casework.service_layer.ports import SecretBox, SecretUnreadable

log = logging.getLogger("tsunagu.casework.auth")

HASHER = PasswordHasher()
# A real hash to verify against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = HASHER.hash("tsunagu-dummy-password")


class AuthError(Exception):
    """Login failed (the message never says whether the user exists).

    ``reason`` goes into the audit entry; ``user`` is set only once the password was right (second-factor
    refusals are audited under the account: a right password with a wrong code is worth noticing).
    """

    def __init__(self, message: str, reason: str, user: User | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.user = user


@dataclass(frozen=True)
class SecondFactorPolicy:
    roles: frozenset[str]  # TOTP_ROLES: these must give a code once enrolled (anyone enrolled must, too)
    enrolment_required: bool  # production: such a role without an enrolled secret cannot log in at all


@dataclass(frozen=True)
class LoginOk:
    user: User
    factors: str  # for the audit entry: "password", "password+totp", or the development exemption


@dataclass(frozen=True)
class SessionTimeouts:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class NewSession:
    token: str  # goes into the cookie; only its hash is stored
    csrf_token: str
    principal: Principal


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.user_id, username=user.username, role=Role(user.role), ward_code=user.ward_code,
                     division=user.division)


USERNAME_RULE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
BAD_CREDENTIALS = "ユーザー名またはパスワードが違います"
THROTTLED = "ログインの試行が続いたため、しばらく待ってから再度お試しください"
TOTP_MISSING = "確認コード（認証アプリに表示される6桁）を入力してください"
TOTP_WRONG = "確認コードが違うか、すでに使われています。次に表示されるコードでお試しください"
TOTP_UNREADABLE = ("二段階認証の設定を読み取れません。管理者に再設定（enrol-totp --reset）を依頼してください")
TOTP_NOT_ENROLLED = ("この役割のログインには確認コード（二段階認証）が必要ですが、まだ設定されていません。"
                     "管理者に設定を依頼してください")


def normalise_username(username: str) -> str:
    """NFKC (full-width → ASCII), trimmed, lower case: the form usernames are stored and looked up in."""
    return unicodedata.normalize("NFKC", username).strip().lower()


# 研修モード's accounts (kensyu01…, kensyu-hq; entrypoints/cli.py seed-training-users): they exist only in a
# training deployment. Outside one, no such name can be created (CLI, HQ's users page, API) and none logs in,
# even if one reached the database (a copied file, a row written by hand).
TRAINING_PREFIX = "kensyu"
TRAINING_ONLY = "'kensyu…' names are training accounts (研修モード); they exist only in training mode"


def is_training_account(username: str) -> bool:
    return normalise_username(username).startswith(TRAINING_PREFIX)


def attempted_name(username: str) -> str:
    """What a failed login records: normalised, printable ASCII only, at most 32 characters (never a password)."""
    cleaned = "".join(ch if ch.isascii() and ch.isprintable() else "?" for ch in normalise_username(username))
    return cleaned[:32]


def create_user(session: Session, *, username: str, password: str, role: str, ward_code: str | None,
                division: str | None, now: datetime, check_strength: bool = True, training: bool = False) -> User:
    """``check_strength=False`` only for the development demo users (refused outside development); ``training``:
    this is a training deployment (TSUNAGU_CASEWORK_TRAINING), the only place a training account may be made."""
    username = normalise_username(username)
    if not USERNAME_RULE.fullmatch(username):
        raise ValueError("username: 1-64 ASCII letters, digits, '-', '_' or '.', starting with a letter or digit")
    if is_training_account(username) and not training:
        raise ValueError(f"username: {TRAINING_ONLY}")
    if check_strength:
        check_password(password, username)
    validate_user_fields(role, ward_code)
    if _find_user(session, username) is not None:
        raise ValueError("username already exists")
    user = User(user_id=str(uuid.uuid4()), username=username, password_hash=HASHER.hash(password), role=role,
                ward_code=ward_code, division=division or None, active=True, created_at=now, failed_logins=0,
                password_changed_at=now)
    session.add(user)
    return user


def set_password(user: User, password: str, now: datetime | None = None, *, check_strength: bool = True) -> None:
    if check_strength:
        check_password(password, user.username)
    user.password_hash = HASHER.hash(password)
    user.password_changed_at = now


def _find_user(session: Session, username: str) -> User | None:
    # lower(): accounts created before usernames were normalised may hold capitals.
    return session.scalars(select(User).where(func.lower(User.username) == normalise_username(username))).first()


def authenticate(session: Session, username: str, password: str, now: datetime, *, client: str | None = None,
                 secret: str = "", totp: str | None = None, policy: SecondFactorPolicy, box: SecretBox,
                 training: bool = False) -> LoginOk:
    """The user, or AuthError with the same message whether or not the account exists (and similar timing:
    one argon2 verification on every path). A missing, wrong or reused second-factor code counts as a failed
    attempt for the throttle, exactly like a wrong password. ``box`` opens the stored TOTP secret; one stored
    unencrypted or under an older key is sealed again under the current key after a successful login. Outside
    a training deployment (``training`` False) a training account is refused like an unknown one, and audited as
    such."""
    k = login_throttle.keys(secret, normalise_username(username), client)
    if login_throttle.blocked(session, k, now):
        _verify(_DUMMY_HASH, password)
        raise AuthError(THROTTLED, "throttled")
    user = _find_user(session, username)
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        login_throttle.failed(session, k, now)
        raise AuthError(BAD_CREDENTIALS, "bad credentials")
    if not _verify(user.password_hash, password):
        login_throttle.failed(session, k, now)
        raise AuthError(BAD_CREDENTIALS, "bad credentials")
    if is_training_account(user.username) and not training:
        login_throttle.failed(session, k, now)
        raise AuthError(BAD_CREDENTIALS, "training account outside training mode", user)
    try:
        factors = _second_factor(session, user, totp, now, policy, box)
    except AuthError:
        login_throttle.failed(session, k, now)
        raise
    login_throttle.succeeded(session, k)
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    return LoginOk(user, factors)


def _second_factor(session: Session, user: User, code: str | None, now: datetime,
                   policy: SecondFactorPolicy, box: SecretBox) -> str:
    stored = user.totp_secret
    if stored is None:
        if user.role not in policy.roles:
            return "password"
        if policy.enrolment_required:
            raise AuthError(TOTP_NOT_ENROLLED, "totp not enrolled", user)
        return "password; totp not enrolled (allowed outside production)"
    if not totp_codes.normalise_code(code):
        raise AuthError(TOTP_MISSING, "totp missing", user)
    try:
        secret = box.open(stored, user.user_id)
    except SecretUnreadable as exc:
        log.error("an account's TOTP secret cannot be opened: %s (audited as 'totp secret unreadable')", exc)
        raise AuthError(TOTP_UNREADABLE, "totp secret unreadable", user) from None
    step = totp_codes.matching_step(secret, code, now)
    if step is None:
        raise AuthError(TOTP_WRONG, "totp wrong", user)
    if not _claim_step(session, user, step):
        raise AuthError(TOTP_WRONG, "totp reused", user)
    if not box.is_current(stored):  # unencrypted (from before sealing) or under an older key: seal it now
        user.totp_secret = box.seal(secret, user.user_id)
        return f"password+totp; secret re-encrypted under key {box.current_key_id}"
    return "password+totp"


def _claim_step(session: Session, user: User, step: int) -> bool:
    """Record ``step`` as the user's last used one unless it (or a later one) was used already. One conditional
    UPDATE, so two requests racing with the same code cannot both win."""
    result = session.execute(
        update(User).where(User.user_id == user.user_id,
                           or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False))
    claimed = result.rowcount == 1  # type: ignore[attr-defined]
    if claimed:
        user.totp_last_step = step
    return claimed


def enrol_totp(session: Session, username: str, *, box: SecretBox, reset: bool = False) -> tuple[User, str]:
    """A new TOTP secret for the account (returned once, for the QR code or manual entry; stored only sealed by
    ``box``). Replacing an existing one needs ``reset`` (lost phone); the user's sessions end either way."""
    user = _find_user(session, username)
    if user is None:
        raise ValueError("no such user")
    if user.totp_secret is not None and not reset:
        raise ValueError("already enrolled; use --reset to replace the secret (e.g. a lost phone)")
    secret = totp_codes.new_secret()
    user.totp_secret, user.totp_last_step = box.seal(secret, user.user_id), None
    end_sessions_of(session, user.user_id)
    return user, secret


@dataclass(frozen=True)
class Resealed:
    resealed: int  # sealed again under the current key (from an older key or unencrypted)
    current: int  # already under the current key
    unreadable: list[str]  # usernames whose secret no key opens: enrol them again (enrol-totp --reset)


def reseal_totp_secrets(session: Session, box: SecretBox) -> Resealed:
    """``rotate-totp-key``: every stored TOTP secret sealed under the box's current key. Secrets that cannot be
    opened are left as they are and named (their owners need a new enrolment); the others are sealed either way."""
    resealed, current, unreadable = 0, 0, []
    for user in session.scalars(select(User).where(User.totp_secret.is_not(None)).order_by(User.username)):
        stored = user.totp_secret
        assert stored is not None
        if box.is_current(stored):
            try:
                box.open(stored, user.user_id)
            except SecretUnreadable:
                unreadable.append(user.username)
            else:
                current += 1
            continue
        try:
            secret = box.open(stored, user.user_id)
        except SecretUnreadable:
            unreadable.append(user.username)
            continue
        user.totp_secret = box.seal(secret, user.user_id)
        resealed += 1
    return Resealed(resealed, current, unreadable)


def remove_totp(session: Session, username: str) -> User:
    user = _find_user(session, username)
    if user is None:
        raise ValueError("no such user")
    user.totp_secret, user.totp_last_step = None, None
    end_sessions_of(session, user.user_id)
    return user


def verify_password(user: User, password: str) -> bool:
    return _verify(user.password_hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str, secret: str) -> str:
    """Keyed with the deployment's session secret: a copy of the sessions table is no use elsewhere."""
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def start_session(session: Session, user: User, now: datetime, secret: str) -> NewSession:
    end_sessions_of(session, user.user_id)  # one session per user: a new login ends any earlier one
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=token_hash(token, secret), user_id=user.user_id, csrf_token=csrf, created_at=now,
                           last_seen_at=now))
    return NewSession(token=token, csrf_token=csrf, principal=principal_of(user))


def resume_session(session: Session, token: str, now: datetime, timeouts: SessionTimeouts,
                   secret: str, *, touch: bool = True) -> tuple[Principal, str] | None:
    """The session's user and CSRF token, or None when unknown or expired (then it is deleted).

    ``touch=False`` checks without counting as activity: an open live inbox must not keep a session alive.
    """
    row = session.get(WebSession, token_hash(token, secret))
    if row is None:
        return None
    if now - row.last_seen_at > timeouts.idle or now - row.created_at > timeouts.absolute:
        session.delete(row)
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        session.delete(row)
        return None
    if touch and now - row.last_seen_at > timedelta(seconds=15):  # fewer writes; idle precision of seconds is enough
        row.last_seen_at = now
    return principal_of(user), row.csrf_token


def end_session(session: Session, token: str, secret: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == token_hash(token, secret)))


def end_sessions_of(session: Session, user_id: str) -> None:
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))
