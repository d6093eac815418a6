"""The application's signing keys (loaded once in create_app)."""
from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from app.cardcodes import KeyRing


def keyring() -> KeyRing:
    """The key ring of the running application."""
    return current_app.extensions["keyring"]


def session_cipher() -> Fernet:
    """Encrypts what the session cookie must carry but the browser must not read (a holder
    link on its way to the hand-over page); the key is derived from SECRET_KEY."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=b"kaikukortti session secrets").derive(current_app.secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))
