"""Queries behind the digital card: the card of a link, its state today, its uses this year."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa

from app.cards.service import hash_link_token
from app.extensions import db
from app.models import Card, Visit
from app.rules import TZ, card_standing, local_date


def card_for_token(token: str) -> Card | None:
    """The registered card this private link opens, or None (unknown, replaced link, blank)."""
    return db.session.scalar(
        sa.select(Card).where(Card.link_token_hash == hash_link_token(token),
                              Card.status != "unissued"))


def card_state(card: Card, today: date) -> str:
    """valid, expired, deactivated, lost or replaced: decided by the door's own rule."""
    return card_standing(card.status, card.valid_until, today) or "valid"


def year_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The start of this Finnish calendar year and of the next, as aware datetimes."""
    year = local_date(now).year
    return datetime(year, 1, 1, tzinfo=TZ), datetime(year + 1, 1, 1, tzinfo=TZ)


def uses_this_year(card: Card, now: datetime) -> int:
    """The card's ok visits whose local date falls in the current Finnish year."""
    start, end = year_bounds(now)
    return db.session.scalar(
        sa.select(sa.func.count(Visit.id)).where(
            Visit.card_id == card.id, Visit.status == "ok",
            Visit.occurred_at >= start, Visit.occurred_at < end)) or 0
