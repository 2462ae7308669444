"""TOTP second factor (RFC 6238, 30 s steps, 6 digits): which time step a code belongs to, if any.

A code is accepted for the current step and one step either side (``VALID_WINDOW``: clocks drift, people type
slowly). The caller remembers the step of the last accepted code per user and refuses any code whose step is
not newer, so a code seen over a shoulder or in a proxy log cannot be used again.
"""

from __future__ import annotations

import hmac
import unicodedata
from datetime import datetime

import pyotp

VALID_WINDOW = 1
ISSUER = "Tsunagu"


def new_secret() -> str:
    """160 random bits, base32 (what authenticator apps expect)."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def normalise_code(code: str | None) -> str:
    """Full-width digits and spaces as typed on a Japanese keyboard: ``１２３ ４５６`` → ``123456``."""
    if not code:
        return ""
    return "".join(unicodedata.normalize("NFKC", code).split())


def matching_step(secret: str, code: str | None, now: datetime) -> int | None:
    """The time step whose code ``code`` is (within ``VALID_WINDOW``), or None.

    Every candidate is compared in constant time; the newest matching step wins.
    """
    code = normalise_code(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    found: int | None = None
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step).encode(), code.encode()):
            found = step
    return found


def code_at(secret: str, now: datetime, offset: int = 0) -> str:
    """The code for ``now`` (shifted by ``offset`` steps): for tests and the enrolment check."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(now) + offset)
