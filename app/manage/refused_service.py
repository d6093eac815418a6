"""Refused offline records: what a scanner recorded without a network and the server refused."""
from __future__ import annotations

import sqlalchemy as sa

from app.extensions import db
from app.models import ScanAttempt, User, Venue


def refused_query(user: User) -> sa.Select:
    """Offline records stored without a visit and with a refusing reason, at the account's
    venues, newest first: records the rules refuse for good (a card the venue could never
    accept, a code that is no card) and records refused as malformed (e.g. invalid_tickets).
    """
    query = (sa.select(ScanAttempt).join(Venue, Venue.id == ScanAttempt.venue_id)
             .where(ScanAttempt.offline.is_(True), ScanAttempt.visit_id.is_(None),
                    ScanAttempt.reason != "ok"))
    if user.role != "admin":
        query = query.where(Venue.region_id == user.region_id)
    return query.order_by(ScanAttempt.at.desc(), ScanAttempt.id.desc())


def refused_count(user: User) -> int:
    """How many refused offline records the account's venues have."""
    query = refused_query(user).order_by(None).with_only_columns(sa.func.count(ScanAttempt.id))
    return db.session.scalar(query) or 0
