"""TOTP secrets sealed with AES-256-GCM (adapters/secret_box.py): round trip, tampering, wrong or removed keys,
another user's record, rotation, and unencrypted secrets from before sealing."""

from __future__ import annotations

import base64
import os

import pyotp
import pytest

from services.casework.adapters.secret_box import AesGcmSecretBox, key_id
from services.casework.service_layer.ports import SecretUnreadable

pytestmark = pytest.mark.unit

KEY_A, KEY_B = os.urandom(32), os.urandom(32)
SECRET = pyotp.random_base32()
USER = "0b7e7c1e-7d0b-4c4e-9a59-3b1b0c0de001"
OTHER_USER = "0b7e7c1e-7d0b-4c4e-9a59-3b1b0c0de002"


def flip(stored: str, at: int) -> str:
    """The sealed value with one bit of its ciphertext (nonce ‖ ciphertext ‖ tag) changed."""
    prefix, body = stored.rsplit(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    raw[at] ^= 0x01
    return f"{prefix}:{base64.urlsafe_b64encode(bytes(raw)).decode().rstrip('=')}"


def test_round_trip_and_the_stored_form_holds_no_secret() -> None:
    box = AesGcmSecretBox([KEY_A])
    stored = box.seal(SECRET, USER)
    assert stored.startswith(f"v1:{key_id(KEY_A)}:") and SECRET not in stored and len(stored) <= 255
    assert box.open(stored, USER) == SECRET
    assert box.is_current(stored)
    assert box.seal(SECRET, USER) != stored  # a fresh nonce every time


@pytest.mark.parametrize("at", [0, 11, 12, 30, -1])  # nonce, ciphertext, tag
def test_a_changed_bit_anywhere_is_refused(at: int) -> None:
    box = AesGcmSecretBox([KEY_A])
    with pytest.raises(SecretUnreadable, match="authentication failed"):
        box.open(flip(box.seal(SECRET, USER), at), USER)


def test_a_sealed_value_copied_onto_another_user_is_refused() -> None:
    box = AesGcmSecretBox([KEY_A])
    with pytest.raises(SecretUnreadable, match="not this record"):
        box.open(box.seal(SECRET, USER), OTHER_USER)


def test_the_wrong_key_is_refused() -> None:
    stored = AesGcmSecretBox([KEY_A]).seal(SECRET, USER)
    with pytest.raises(SecretUnreadable, match="does not have"):
        AesGcmSecretBox([KEY_B]).open(stored, USER)
    # the key id pointed at a key of the same id that is not the same key: still refused, by the tag
    forged = stored.replace(key_id(KEY_A), key_id(KEY_B), 1)
    with pytest.raises(SecretUnreadable, match="authentication failed"):
        AesGcmSecretBox([KEY_B]).open(forged, USER)


@pytest.mark.parametrize("stored", ["v1:", "v1:abcdef12", "v2:x:y", "v1:{kid}:", "v1:{kid}:!!!!", "v1:{kid}:AAAA",
                                    "not a secret", ""])
def test_malformed_values_are_refused(stored: str) -> None:
    with pytest.raises(SecretUnreadable):
        AesGcmSecretBox([KEY_A]).open(stored.format(kid=key_id(KEY_A)), USER)


def test_rotation_older_keys_open_the_current_one_seals() -> None:
    old = AesGcmSecretBox([KEY_A]).seal(SECRET, USER)
    ring = AesGcmSecretBox([KEY_B, KEY_A])
    assert ring.current_key_id == key_id(KEY_B)
    assert ring.open(old, USER) == SECRET and not ring.is_current(old)
    new = ring.seal(SECRET, USER)
    assert new.startswith(f"v1:{key_id(KEY_B)}:") and ring.is_current(new)
    assert AesGcmSecretBox([KEY_B]).open(new, USER) == SECRET  # the old key can go once everything is resealed


def test_an_unencrypted_secret_from_before_sealing_is_accepted_unless_switched_off() -> None:
    box = AesGcmSecretBox([KEY_A])
    assert box.open(SECRET, USER) == SECRET and not box.is_current(SECRET)
    with pytest.raises(SecretUnreadable, match="unencrypted"):
        AesGcmSecretBox([KEY_A], accept_plaintext=False).open(SECRET, USER)


def test_keys_must_be_32_bytes_and_never_show_in_the_repr() -> None:
    with pytest.raises(ValueError):
        AesGcmSecretBox([])
    with pytest.raises(ValueError):
        AesGcmSecretBox([b"short"])
    text = repr(AesGcmSecretBox([KEY_A, KEY_B]))
    assert KEY_A.hex() not in text and base64.urlsafe_b64encode(KEY_A).decode()[:20] not in text
    assert key_id(KEY_A) in text
