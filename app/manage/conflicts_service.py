"""Offline conflicts: records the scanner's sync kept but flagged, and their resolution.

A conflict concerns two regions when a card is recorded at another region's venue: both
coordinators see it, and the venue's resolves it (its staff made the record, and the visit
belongs to the venue's statistics; the card's region only learns why its card has a record
that counts towards nothing yet). Of the card's other visits that day each coordinator sees
its own region's in full, and of the others only how many there are.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.database import begin_write
from app.extensions import db
from app.manage.scope import manages_region
from app.models import ANNUL_REASONS, CONFLICT_RESOLUTIONS, Card, User, Venue, Visit, utcnow
from app.rules import local_date, local_day_bounds


class ConflictError(Exception):
    """A resolution that cannot be done, with a stable code."""

    def __init__(self, code: str, status: int = 409) -> None:
        super().__init__(code)
        self.code = code
        self.status = status


def conflict_query(user: User, resolved: bool = False) -> sa.Select:
    """Flagged visits at the account's venues or of its region's cards: open (oldest first) or resolved."""
    query = (sa.select(Visit).join(Venue, Venue.id == Visit.venue_id)
             .outerjoin(Card, Card.id == Visit.card_id).where(Visit.conflict.is_not(None)))
    if user.role != "admin":
        query = query.where(sa.or_(Venue.region_id == user.region_id,
                                   Card.region_id == user.region_id))
    if resolved:
        return query.where(Visit.conflict_resolution.is_not(None)).order_by(
            Visit.conflict_resolved_at.desc(), Visit.id.desc())
    return query.where(Visit.conflict_resolution.is_(None)).order_by(
        Visit.occurred_at, Visit.id)


def open_count(user: User) -> int:
    """How many conflicts the account's open queue shows (those it sees, not only resolves)."""
    query = conflict_query(user).order_by(None).with_only_columns(sa.func.count(Visit.id))
    return db.session.scalar(query) or 0


def resolves(user: User, visit: Visit) -> bool:
    """Whether the account resolves this flagged visit: the venue's region does (and admins)."""
    return manages_region(user, visit.venue.region_id)


def sees(user: User, visit: Visit) -> bool:
    """Whether the account sees this flagged visit: the venue's region and the card's."""
    return resolves(user, visit) or (
        visit.card is not None and manages_region(user, visit.card.region_id))


@dataclass(frozen=True)
class OtherVisits:
    """A flagged visit's neighbours: the ones the account may see, and how many it may not."""

    shown: list[Visit] = field(default_factory=list)
    elsewhere: int = 0  # at other regions' venues: a count, never which, when or by whom


def _day_bounds_of(moment: datetime) -> tuple[datetime, datetime]:
    return local_day_bounds(local_date(moment))


def other_visits(user: User, conflicts: list[Visit]) -> dict[int, OtherVisits]:
    """For each flagged visit, the card's other visits for the same event or the same day."""
    if not conflicts:
        return {}
    bounds = [_day_bounds_of(v.occurred_at) for v in conflicts]
    events = {v.event_id for v in conflicts if v.event_id is not None}
    near = sa.or_(*(Visit.occurred_at.between(start, end) for start, end in set(bounds)),
                  Visit.event_id.in_(events))
    candidates = db.session.scalars(
        sa.select(Visit).where(Visit.card_id.in_({v.card_id for v in conflicts}), near)
        .options(selectinload(Visit.venue), selectinload(Visit.event))
        .order_by(Visit.occurred_at, Visit.id)).all()
    by_card: dict[int, list[Visit]] = defaultdict(list)
    for visit in candidates:
        by_card[visit.card_id].append(visit)
    found = {v.id: [o for o in by_card[v.card_id] if o.id != v.id and (
        (v.event_id is not None and o.event_id == v.event_id)
        or start <= o.occurred_at < end)] for v, (start, end) in zip(conflicts, bounds, strict=True)}
    return {visit_id: _scoped(user, near) for visit_id, near in found.items()}


def _scoped(user: User, near: list[Visit]) -> OtherVisits:
    shown = [o for o in near if manages_region(user, o.venue.region_id)]
    return OtherVisits(shown, len(near) - len(shown))


def resolve(user: User, visit_id: int, resolution: str, reason: str | None = None,
            now: datetime | None = None) -> Visit:
    """Keep or annul one flagged visit, in one transaction with its audit event."""
    now = now or utcnow()
    if resolution not in CONFLICT_RESOLUTIONS:
        raise ConflictError("bad_resolution", 400)
    if resolution == "annul" and reason not in ANNUL_REASONS:
        raise ConflictError("bad_reason", 400)
    begin_write()
    visit = db.session.scalar(sa.select(Visit).where(Visit.id == visit_id).with_for_update())
    if visit is None or visit.conflict is None or not sees(user, visit):
        raise ConflictError("unknown_conflict", 404)
    if not resolves(user, visit):
        raise ConflictError("venue_region_resolves", 403)
    if visit.conflict_resolution is not None:
        raise ConflictError("already_resolved")
    visit.conflict_resolution, visit.conflict_resolved_at = resolution, now
    visit.conflict_resolved_by_id = user.id
    # A record the box office already undid stays as it was undone.
    if resolution == "annul" and visit.status != "annulled":
        visit.status, visit.annulled_at, visit.annulled_by_id = "annulled", now, user.id
        visit.annul_reason = reason
    details = {"conflict": visit.conflict, "reason": reason} if resolution == "annul" \
        else {"conflict": visit.conflict}
    audit.record(user, f"visit.conflict_{resolution}", visit, region_id=visit.venue.region_id,
                 **details)
    db.session.commit()
    return visit
