"""TOTP verification (RFC 6238 test vector, window of one step, normalisation) at fixed times."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from services.casework.domain import totp

pytestmark = pytest.mark.unit

SECRET = pyotp.random_base32()
AT = datetime(2026, 6, 1, 0, 30, 10, tzinfo=UTC)
STEP = int(AT.timestamp()) // 30


def test_the_rfc_6238_test_vector() -> None:
    secret = base64.b32encode(b"12345678901234567890").decode()
    # RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits) → 287082 with 6 digits
    assert totp.matching_step(secret, "287082", datetime.fromtimestamp(59, UTC)) == 1


def test_the_current_code_matches_its_step() -> None:
    assert totp.matching_step(SECRET, pyotp.TOTP(SECRET).at(AT), AT) == STEP


@pytest.mark.parametrize("offset", [-1, 1])
def test_one_step_either_side_is_accepted(offset: int) -> None:
    assert totp.matching_step(SECRET, totp.code_at(SECRET, AT, offset), AT) == STEP + offset


@pytest.mark.parametrize("offset", [-2, 2, -10])
def test_codes_further_away_are_refused(offset: int) -> None:
    code = totp.code_at(SECRET, AT, offset)
    if any(code == totp.code_at(SECRET, AT, near) for near in (-1, 0, 1)):
        pytest.skip("collision of 6-digit codes (1 in ~300 000)")
    assert totp.matching_step(SECRET, code, AT) is None


def test_a_code_is_valid_for_three_steps_around_its_own() -> None:
    code = totp.code_at(SECRET, AT)
    assert totp.matching_step(SECRET, code, AT + timedelta(seconds=30)) == STEP
    assert totp.matching_step(SECRET, code, AT - timedelta(seconds=30)) == STEP
    assert totp.matching_step(SECRET, code, AT + timedelta(seconds=60)) is None


@pytest.mark.parametrize("typed", ["", None, "12345", "1234567", "abcdef", "12 34 5x"])
def test_malformed_codes_are_refused(typed: str | None) -> None:
    assert totp.matching_step(SECRET, typed, AT) is None


def test_full_width_digits_and_spaces_are_accepted() -> None:
    code = totp.code_at(SECRET, AT)
    typed = " ".join([code[:3], code[3:]]).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert totp.matching_step(SECRET, typed, AT) == STEP


def test_a_wrong_secret_does_not_match() -> None:
    other = pyotp.random_base32()
    code = totp.code_at(other, AT)
    if totp.matching_step(SECRET, code, AT) is not None:
        pytest.skip("collision of 6-digit codes")
    assert totp.matching_step(SECRET, code, AT) is None


def test_new_secrets_are_160_bit_base32_and_the_uri_names_issuer_and_user() -> None:
    secret = totp.new_secret()
    assert len(base64.b32decode(secret)) >= 20
    uri = totp.provisioning_uri(secret, "hq")
    assert uri.startswith("otpauth://totp/Tsunagu:hq?") and f"secret={secret}" in uri and "issuer=Tsunagu" in uri
