"""TOTP secrets sealed with AES-256-GCM under keys kept outside the database (service_layer/ports.py: SecretBox).

Stored form: ``v1:<key id>:<base64url(12-byte nonce ‖ ciphertext ‖ 16-byte tag)>``. The key id is the first 8 hex
digits of a SHA-256 over the key (it names the key, it does not reveal it); the associated data is the stored
value's prefix and the record's context (the user id), so changing the version, the key id or the user the value
belongs to makes it fail to open just as a changed byte of ciphertext does.

A keyring holds the current key (seals and opens) and older ones (open only), so a key can rotate without
downtime: put the new key first, restart, run ``rotate-totp-key``, then drop the old key (docs/security.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.casework.service_layer.ports import SecretUnreadable

VERSION = "v1"
NONCE_BYTES = 12
KEY_BYTES = 32
# What enrol-totp stored before sealing existed: pyotp's base32 secret, nothing else.
LEGACY_PLAINTEXT = re.compile(r"[A-Z2-7]{16,64}=*")


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"tsunagu totp key id\0" + key).hexdigest()[:8]


class AesGcmSecretBox:
    def __init__(self, keys: Sequence[bytes], *, accept_plaintext: bool = True) -> None:
        """``keys``: the current key first, then older ones still accepted for opening."""
        if not keys:
            raise ValueError("a secret box needs at least one key")
        self._ciphers: dict[str, AESGCM] = {}
        for key in keys:
            if len(key) != KEY_BYTES:
                raise ValueError(f"a key must be {KEY_BYTES} bytes")
            self._ciphers.setdefault(key_id(key), AESGCM(key))
        self._current = key_id(keys[0])
        self._accept_plaintext = accept_plaintext

    @property
    def current_key_id(self) -> str:
        return self._current

    def seal(self, plaintext: str, context: str) -> str:
        prefix = f"{VERSION}:{self._current}:"
        nonce = os.urandom(NONCE_BYTES)  # random 96-bit nonces: safe far beyond the number of users ever enrolled
        sealed = self._ciphers[self._current].encrypt(nonce, plaintext.encode(), _aad(prefix, context))
        return prefix + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")

    def open(self, stored: str, context: str) -> str:
        if not stored.startswith(f"{VERSION}:"):
            if LEGACY_PLAINTEXT.fullmatch(stored):
                if self._accept_plaintext:
                    return stored
                raise SecretUnreadable("unencrypted secret refused (TSUNAGU_CASEWORK_TOTP_ACCEPT_PLAINTEXT=false)")
            raise SecretUnreadable("unknown format")
        _, kid, body = [*stored.split(":", 2), "", ""][:3]
        cipher = self._ciphers.get(kid)
        if cipher is None:
            raise SecretUnreadable(f"sealed under key {kid!r}, which this deployment does not have")
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            raise SecretUnreadable("malformed ciphertext") from None
        if len(raw) <= NONCE_BYTES:
            raise SecretUnreadable("malformed ciphertext")
        try:
            plain = cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _aad(f"{VERSION}:{kid}:", context))
        except InvalidTag:
            raise SecretUnreadable(f"authentication failed under key {kid!r} (altered, or not this record's)") \
                from None
        return plain.decode()

    def is_current(self, stored: str) -> bool:
        return stored.startswith(f"{VERSION}:{self._current}:")

    def __repr__(self) -> str:  # never the keys
        return f"AesGcmSecretBox(current={self._current}, keys={len(self._ciphers)})"


def _aad(prefix: str, context: str) -> bytes:
    return f"{prefix}{context}".encode()
