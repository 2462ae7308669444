"""Users (argon2 password hashes) and server-side sessions with idle and absolute timeouts."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from services.casework.adapters.orm import User, WebSession
from services.casework.domain.access import Principal, Role, validate_user_fields

HASHER = PasswordHasher()
# A real hash to verify against when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = HASHER.hash("tsunagu-dummy-password")
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10


class AuthError(Exception):
    """Login failed (the message never says whether the user exists)."""


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


def create_user(session: Session, *, username: str, password: str, role: str, ward_code: str | None,
                division: str | None, now: datetime) -> User:
    username = username.strip()
    if not username or len(username) > 64 or not username.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise ValueError("username: 1-64 letters, digits, '-', '_' or '.'")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    validate_user_fields(role, ward_code)
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise ValueError("username already exists")
    user = User(user_id=str(uuid.uuid4()), username=username, password_hash=HASHER.hash(password), role=role,
                ward_code=ward_code, division=division or None, active=True, created_at=now, failed_logins=0)
    session.add(user)
    return user


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = HASHER.hash(password)


def authenticate(session: Session, username: str, password: str, now: datetime) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        raise AuthError("ユーザー名またはパスワードが違います")
    if user.locked_until is not None and user.locked_until > now:
        raise AuthError("ログインが一時的に制限されています。しばらくしてから再度お試しください")
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until, user.failed_logins = now + LOCKOUT, 0
        raise AuthError("ユーザー名またはパスワードが違います")
    user.failed_logins, user.locked_until = 0, None
    if HASHER.check_needs_rehash(user.password_hash):
        user.password_hash = HASHER.hash(password)
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def token_hash(token: str, secret: str) -> str:
    """Keyed with the deployment's session secret: a copy of the sessions table is no use elsewhere."""
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def start_session(session: Session, user: User, now: datetime, secret: str) -> NewSession:
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
