"""Card transactions' building blocks: unique numbers, holder links, signed payloads."""
from __future__ import annotations

import hashlib
import secrets

import sqlalchemy as sa

from app.cardcodes import CardPayload, new_number, sign_payload
from app.extensions import db
from app.keys import keyring
from app.models import Card


def unused_number() -> str:
    """A fresh random card number that no card has yet."""
    while True:
        number = new_number()
        if db.session.scalar(sa.select(Card.id).where(Card.number == number)) is None:
            return number


def hash_link_token(token: str) -> str:
    """The stored form of a holder link token: only its hash is kept."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_link_token(card: Card) -> str:
    """Give the card a new private holder link (the old one stops working); returns the token."""
    token = secrets.token_urlsafe(24)  # 192 random bits
    card.link_token_hash = hash_link_token(token)
    return token


def qr_payload(card: Card) -> str:
    """The signed QR payload for the card's current fields, with the current key."""
    return sign_payload(CardPayload(number=card.number, region_id=card.region_id,
                                    valid_until=card.valid_until, children=card.children,
                                    kind=card.kind), keyring())
