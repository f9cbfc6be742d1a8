"""Encryption of stored credentials (app secrets, tokens, AES keys).

The key is derived from `CAREBOT_SECRET_KEY` (any string of 32 or more characters, from the
environment only), so a database dump alone reveals no platform secret.
"""
from __future__ import annotations

import base64
import os
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MIN_KEY_LENGTH = 32


class SecretKeyError(ValueError):
    """CAREBOT_SECRET_KEY is missing, too short, or not the key the secrets were stored with."""


def _fernet(master: str | None = None) -> Fernet:
    master = os.environ.get("CAREBOT_SECRET_KEY") if master is None else master
    if not master or len(master) < MIN_KEY_LENGTH:
        raise SecretKeyError(f"set CAREBOT_SECRET_KEY to a string of at least {MIN_KEY_LENGTH} characters")
    return _derived(master)


@lru_cache(maxsize=4)
def _derived(master: str) -> Fernet:
    """The key derivation runs once per key, not once per webhook request."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"carebot-credentials",
               info=b"fernet-v1").derive(master.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(plaintext: str, master: str | None = None) -> str:
    return _fernet(master).encrypt(plaintext.encode()).decode()


def unseal(token: str, master: str | None = None) -> str:
    try:
        return _fernet(master).decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretKeyError("stored credentials do not open with this CAREBOT_SECRET_KEY") from None
