"""What every privacy request shares: who is asking (an active user with the right permission), refusals that
change nothing but are audited, and the audit entry of the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.casework.adapters.orm import User
from services.casework.domain.access import Permission, Principal
from services.casework.service_layer import audit_log
from services.casework.service_layer.audit_log import Actor
from services.casework.service_layer.auth import normalise_username, principal_of

CLI_CLIENT = "cli"
UNKNOWN_ACTOR = Actor("cli", "operator", CLI_CLIENT)


class Refused(Exception):
    """A bad request: nothing was changed. ``code`` is a fixed word for the audit trail; the message is for the
    user and never carries personal data."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Requester:
    principal: Principal
    actor: Actor


def requester(session: Session, username: str, permission: Permission, client: str | None = CLI_CLIENT) -> Requester:
    user = session.scalars(select(User).where(User.username == normalise_username(username or ""))).first()
    if user is None or not user.active:
        raise Refused("unknown_user", "利用者が見つからないか停止されています (unknown or inactive user)")
    principal = principal_of(user)
    if not principal.can(permission):
        raise Refused("no_permission", f"この操作の権限がありません (role {principal.role.value} may not do this)")
    return Requester(principal, Actor.of(principal, client))


def refuse_audited(sessions: sessionmaker[Session], username: str, action: str, exc: Refused, now: datetime, *,
                   child_id: str | None = None, target: str | None = None, client: str | None = CLI_CLIENT) -> None:
    """Records the refused attempt (outcome=denied) in its own transaction; nothing else is written. ``client`` is
    where the request came from: ``cli`` for the commands, the browser's address for the HQ page."""
    with sessions.begin() as session:
        actor = Actor(UNKNOWN_ACTOR.user_id, UNKNOWN_ACTOR.role, client)
        user = session.scalars(select(User).where(User.username == normalise_username(username or ""))).first()
        if user is not None:
            actor = Actor(user.user_id, user.role, client)
        audit_log.append(session, actor, action, now, child_id=child_id, target=target, outcome="denied",
                         detail=exc.code)


def parse_day(value: str | None, what: str) -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise Refused("bad_date", f"{what} は YYYY-MM-DD で指定してください ({what} must be YYYY-MM-DD)") from None


def stated(value: str | None, what: str, code: str, *, minimum: int = 2, maximum: int = 500) -> str:
    text = " ".join((value or "").split())
    if len(text) < minimum:
        raise Refused(code, f"{what}を記入してください ({what}: at least {minimum} characters)")
    if len(text) > maximum:
        raise Refused(code, f"{what}は{maximum}文字以内にしてください")
    return text
