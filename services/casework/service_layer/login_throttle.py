"""Failed-login back-off per (account, client) and per client, never a hard lock of an account.

Anyone may type anyone's username: locking the account would let a stranger lock HQ or the privacy officer
out with five requests. Instead each (username, client address) pair, and each client address over all
usernames, slows down after a few failures (doubling, capped); the account itself stays usable from every
other client. Existing and unknown usernames are counted alike, so the answer says nothing about existence.
Keys are HMACs under the session secret: the table holds no usernames or addresses.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from services.casework.adapters.orm import LoginThrottle

PAIR_FREE_FAILURES = 5  # per (username, client) before the back-off starts
CLIENT_FREE_FAILURES = 20  # per client, any usernames (password spraying)
FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class ThrottleKeys:
    pair: str
    client: str


def keys(secret: str, username: str, client: str | None) -> ThrottleKeys:
    def key(*parts: str) -> str:
        return hmac.new(secret.encode(), "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()

    return ThrottleKeys(pair=key("pair", username, client or "-"), client=key("client", client or "-"))


def blocked(session: Session, k: ThrottleKeys, now: datetime) -> bool:
    for key in (k.pair, k.client):
        row = session.get(LoginThrottle, key)
        if row is not None and row.blocked_until is not None and row.blocked_until > now:
            return True
    return False


def failed(session: Session, k: ThrottleKeys, now: datetime) -> None:
    for key, free in ((k.pair, PAIR_FREE_FAILURES), (k.client, CLIENT_FREE_FAILURES)):
        row = session.get(LoginThrottle, key, with_for_update=True)
        if row is None:
            row = LoginThrottle(key=key, failures=0, updated_at=now)
            session.add(row)
        elif now - row.updated_at > FORGET_AFTER:
            row.failures = 0
        row.failures += 1
        row.updated_at = now
        if row.failures >= free:
            row.blocked_until = now + min(MAX_DELAY, FIRST_DELAY * 2 ** min(row.failures - free, 10))


def succeeded(session: Session, k: ThrottleKeys) -> None:
    """The pair starts afresh; the client's count does not (one valid account must not reset spraying)."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == k.pair))


def forget_old(session: Session, now: datetime) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.updated_at < now - FORGET_AFTER))
