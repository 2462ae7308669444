"""Password policy: length, a maintained strength estimator (zxcvbn) and common-password lists."""

from __future__ import annotations

import unicodedata

# zxcvbn is imported where a password is checked, not with this module: its dictionaries are ≈ 11 MiB of Python
# objects, and the casework worker (which imports the use cases, never a password) is one of the four processes that
# must fit in 2 GiB together at scale 1.0 (issue 19).
MIN_LENGTH = 10
MAX_LENGTH = 256
MIN_SCORE = 3  # zxcvbn 0-4: 3 = "safely unguessable: moderate protection from offline slow-hash scenario"
# Guesses tailored to this deployment, on top of zxcvbn's 30,000 most common passwords.
LOCAL_COMMON = frozenset({
    "tsunagu", "tsunagu-demo-2026", "fukuoka", "fukuokashi", "fukuoka-city", "hakata", "kodomo", "kodomokatei",
    "kosodate", "higashiku", "chuoku", "minamiku", "nishiku", "jonanku", "sawaraku", "hakataku", "password",
    "passw0rd", "changeme", "change-me", "welcome", "qwertyuiop", "1qaz2wsx", "zaq12wsx",
})
CONTEXT = ["tsunagu", "fukuoka", "hakata", "kodomo", "kosodate", "casework", "city"]


def _common(password: str) -> bool:
    from zxcvbn.matching import RANKED_DICTIONARIES

    folded = unicodedata.normalize("NFKC", password).lower()
    stripped = folded.rstrip("0123456789!@#$%^&*.?-_ ")
    return any(candidate in LOCAL_COMMON or candidate in RANKED_DICTIONARIES["passwords"]
               for candidate in (folded, stripped) if candidate)


def check_password(password: str, username: str = "") -> None:
    """ValueError (with a message that never repeats the password) when the password is too weak."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"password: at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"password: at most {MAX_LENGTH} characters")
    if _common(password):
        raise ValueError("password: this is a commonly used password")
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:100], user_inputs=[username, *CONTEXT] if username else CONTEXT)
    if result["score"] < MIN_SCORE:
        raise ValueError("password: too easy to guess (use a longer phrase of unrelated words)")
