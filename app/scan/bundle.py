"""What the scanner reads: its venues and today's events, today's list, the offline bundle."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app import rules
from app.cardcodes import NUMBER_LENGTH, format_number
from app.extensions import db
from app.keys import keyring
from app.models import Card, Event, Region, User, Venue, Visit
from app.scan.service import COUNTED, UNDO_WINDOW, may_scan

REVOKED = ("deactivated", "lost", "replaced")


def scannable_venues(user: User) -> list[Venue]:
    """The active and inactive venues this account may scan at, by name."""
    query = sa.select(Venue).order_by(Venue.name)
    if user.role == "coordinator":
        query = query.where(Venue.region_id == user.region_id)
    elif user.role == "boxoffice":
        query = query.where(Venue.id.in_([v.id for v in user.venues]))
    elif user.role != "admin":
        return []
    return list(db.session.scalars(query))


def persons_taken(event_ids: list[int]) -> dict[int, int]:
    """Persons already counted for each event (ok visits; flagged ones once kept)."""
    if not event_ids:
        return {}
    rows = db.session.execute(
        sa.select(Visit.event_id, sa.func.sum(Visit.adults + Visit.children + Visit.assistants))
        .where(Visit.event_id.in_(event_ids), COUNTED).group_by(Visit.event_id))
    return {event_id: int(total) for event_id, total in rows}


def todays_events(venue_ids: list[int], now: datetime) -> list[dict]:
    """Today's active events at these venues, each with the quota persons left."""
    start, end = rules.local_day_bounds(rules.local_date(now))
    events = list(db.session.scalars(
        sa.select(Event).where(Event.venue_id.in_(venue_ids), Event.active,
                               Event.starts_at >= start, Event.starts_at < end)
        .order_by(Event.starts_at)))
    taken = persons_taken([e.id for e in events])
    return [{"id": e.id, "venue_id": e.venue_id, "title": e.title,
             "starts_at": e.starts_at.isoformat(), "kind": e.kind, "quota": e.quota,
             "left": None if e.quota is None else max(e.quota - taken.get(e.id, 0), 0)}
            for e in events]


def venues_with_events(user: User, now: datetime) -> list[dict]:
    """The venues this account may scan for, each with today's events."""
    venues = scannable_venues(user)
    events = todays_events([v.id for v in venues], now)
    return [{"id": v.id, "name": v.name, "category": v.category, "region": v.region.code,
             "region_id": v.region_id, "active": v.active,
             "events": [e for e in events if e["venue_id"] == v.id]} for v in venues]


def todays_list(user: User, venue: Venue, event_id: int | None, now: datetime) -> list[dict]:
    """Today's records at the venue (for one event if given), newest first."""
    start, end = rules.local_day_bounds(rules.local_date(now))
    query = (sa.select(Visit, Card.number).join(Card, Card.id == Visit.card_id)
             .where(Visit.venue_id == venue.id, Visit.occurred_at >= start,
                    Visit.occurred_at < end)
             .order_by(Visit.occurred_at.desc()).limit(500))
    if event_id is not None:
        query = query.where(Visit.event_id == event_id)
    return [{"id": v.id, "occurred_at": v.occurred_at.isoformat(),
             "card_number": format_number(number), "adults": v.adults, "children": v.children,
             "assistants": v.assistants, "event_id": v.event_id, "status": v.status,
             "conflict": v.conflict, "mine": v.user_id == user.id,
             "can_annul": v.user_id == user.id and v.status == "ok"
             and now - v.recorded_at <= UNDO_WINDOW}
            for v, number in db.session.execute(query)]


def region_rules_json(region: Region) -> dict:
    """A region's rules as the offline checker reads them."""
    return {**asdict(region.rules()), "code": region.code, "names": region.names()}


def accepted_regions(venue: Venue) -> list[Region]:
    """Regions whose cards this venue accepts: its own, and the national network if it is in it."""
    query = sa.select(Region).where(Region.id == venue.region_id)
    if venue.region.national_network:
        query = sa.select(Region).where(sa.or_(Region.id == venue.region_id,
                                               Region.national_network))
    return list(db.session.scalars(query))


def revoked_numbers(region_ids: list[int], today: date) -> list[str]:
    """Numbers of cards of these regions that are no longer valid but whose printout may say so."""
    return list(db.session.scalars(
        sa.select(Card.number).where(Card.region_id.in_(region_ids), Card.status.in_(REVOKED),
                                     Card.valid_until >= today).order_by(Card.number)))


def revoked_as(region_ids: list[int], today: date) -> dict[str, list]:
    """The lost and replaced among the revoked: number -> [status, the new card's number or None]."""
    new = aliased(Card)
    rows = db.session.execute(
        sa.select(Card.number, Card.status, new.number).outerjoin(new, new.id == Card.replaced_by_id)
        .where(Card.region_id.in_(region_ids), Card.status.in_(("lost", "replaced")),
               Card.valid_until >= today))
    return {number: [status, replaced_by] for number, status, replaced_by in rows}


def changed_cards(region_ids: list[int], today: date) -> dict:
    """Cards in force changed since issue: a printout older than the change may say otherwise."""
    # Core rows, and SQLite's day left as its text: at 100,000 cards, parsing each date into a
    # date would take most of the time (PostgreSQL's driver hands dates over as they are).
    rows = db.session.connection().execute(
        sa.select(Card.number, sa.type_coerce(Card.valid_until, sa.String), Card.children)
        .where(Card.region_id.in_(region_ids), Card.status == "active",
               Card.valid_until >= today,
               # Issuing sets changed_at to issued_at; rows from before changed_at existed
               # (NULL) may have changed too, and the register wins.
               sa.or_(Card.changed_at.is_(None), Card.changed_at > Card.issued_at)))
    return encode_changed(rows.all(), today)


def encode_changed(cards: Iterable[tuple[str, date | str, int]], today: date) -> dict:
    """The register's validity (a date or YYYY-MM-DD) and children of `cards`, grouped.

    `cards` holds [days from `base` to valid_until, children, the numbers]; a group's numbers
    are `width` characters each, sorted and joined, so the scanner finds one by bisection.
    """
    groups: dict[tuple[date | str, int], list[str]] = defaultdict(list)
    for number, valid_until, children in cards:
        groups[valid_until, children].append(number)
    encoded = sorted([(_day(valid_until) - today).days, children, "".join(sorted(numbers))]
                     for (valid_until, children), numbers in groups.items())
    return {"base": today.isoformat(), "width": NUMBER_LENGTH, "cards": encoded}


def _day(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def limits_json() -> dict:
    """The rule function's fixed numbers the offline checker needs (app/rules.py is their home)."""
    return {"max_ticket_children": rules.MAX_TICKET_CHILDREN}


def offline_bundle(user: User, venue: Venue, now: datetime) -> dict:
    """Everything a device needs to decide from a QR alone while the network is away."""
    regions = accepted_regions(venue)
    today = rules.local_date(now)
    start, _end = rules.local_day_bounds(today)
    recent = db.session.execute(
        sa.select(Card.number, Visit.event_id, Visit.occurred_at)
        .join(Card, Card.id == Visit.card_id)
        .where(Visit.venue_id == venue.id, COUNTED, Visit.occurred_at >= start))
    return {
        "generated_at": now.isoformat(),
        "venue": {"id": venue.id, "name": venue.name, "region_id": venue.region_id,
                  "active": venue.active, "category": venue.category},
        "keys": {str(k): v for k, v in keyring().public_keys_raw_b64().items()},
        "regions": {str(r.id): region_rules_json(r) for r in regions},
        "limits": limits_json(),
        "revoked": revoked_numbers([r.id for r in regions], today),
        "revoked_as": revoked_as([r.id for r in regions], today),
        "changed": changed_cards([r.id for r in regions], today),
        "events": todays_events([venue.id], now),
        "recent_visits": [{"card_number": number, "event_id": event_id,
                           "occurred_at": at.isoformat()} for number, event_id, at in recent],
    }


def venue_for(user: User, venue_id: int | None) -> Venue | None:
    """The venue if it exists and the account may scan there, else None."""
    venue = db.session.get(Venue, venue_id) if venue_id is not None else None
    return venue if venue is not None and may_scan(user, venue) else None
