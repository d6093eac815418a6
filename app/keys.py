"""The application's signing keys (loaded once in create_app)."""
from __future__ import annotations

from flask import current_app

from app.cardcodes import KeyRing


def keyring() -> KeyRing:
    """The key ring of the running application."""
    return current_app.extensions["keyring"]
