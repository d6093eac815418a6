"""Event transactions: one event or a weekly series, edits, cancelling and reinstating.

Times are typed as Finnish wall-clock time and stored as aware UTC. A series keeps its
wall-clock time across the daylight-saving changes: a 17:00 course is at 17:00 in
Helsinki every week, so its UTC time moves by an hour in March and October.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app import audit
from app.extensions import db
from app.manage.scope import manages_region
from app.models import EVENT_KINDS, Event, User, Venue, Visit
from app.rules import TZ

MAX_TITLE = 200
MAX_QUOTA = 100_000
SERIES_WEEKS = (1, 2, 3, 4)
SERIES_MIN, SERIES_MAX = 2, 52


class EventError(Exception):
    """An event change that cannot be made: a stable code and the form field it concerns."""

    def __init__(self, code: str, field: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.field = field


@dataclass(frozen=True)
class EventFields:
    """What the coordinator fills in for one event (or every event of a series)."""

    venue_id: int
    title: str
    day: date
    start: time
    kind: str = "event"
    quota: int | None = None


@dataclass(frozen=True)
class Repeat:
    """How a series repeats: every N weeks, a number of times or until a last date."""

    every_weeks: int
    count: int | None = None
    until: date | None = None


def local_start(day: date, start: time) -> datetime:
    """The aware UTC moment of a Finnish wall-clock date and time; a skipped hour is refused."""
    wall = datetime.combine(day, start.replace(second=0, microsecond=0, tzinfo=None))
    moment = wall.replace(tzinfo=TZ).astimezone(UTC)
    # In the spring the clocks jump from 03:00 to 04:00: 03:30 does not exist that night.
    if moment.astimezone(TZ).replace(tzinfo=None) != wall:
        raise EventError("skipped_time", "start_time")
    return moment


def series_days(first: date, repeat: Repeat) -> list[date]:
    """The dates of a series, checked: 2–52 dates, every 1–4 weeks."""
    if repeat.every_weeks not in SERIES_WEEKS:
        raise EventError("bad_interval", "every_weeks")
    if (repeat.count is None) == (repeat.until is None):
        raise EventError("count_or_until", "count")
    step = timedelta(weeks=repeat.every_weeks)
    if repeat.count is not None:
        if not SERIES_MIN <= repeat.count <= SERIES_MAX:
            raise EventError("bad_count", "count")
        return [first + step * n for n in range(repeat.count)]
    if repeat.until < first:
        raise EventError("until_before_first", "until")
    count = (repeat.until - first) // step + 1
    if not SERIES_MIN <= count <= SERIES_MAX:
        raise EventError("bad_until", "until")
    return [first + step * n for n in range(count)]


def create_event(actor: User, fields: EventFields) -> Event:
    """Create one event at a venue of the actor's region(s)."""
    venue = _checked(actor, fields)
    event = _new_event(venue, fields, local_start(fields.day, fields.start))
    db.session.flush()
    _record_create(actor, event)
    db.session.commit()
    return event


def create_series(actor: User, fields: EventFields, repeat: Repeat) -> list[Event]:
    """Create every event of a series in one transaction: all of them, or none."""
    venue = _checked(actor, fields)
    starts = [local_start(day, fields.start) for day in series_days(fields.day, repeat)]
    events = [_new_event(venue, fields, moment) for moment in starts]
    db.session.flush()
    for event in events:
        _record_create(actor, event, series_first_id=events[0].id, series_count=len(events))
    db.session.commit()
    return events


def update_event(actor: User, event: Event, fields: EventFields) -> Event:
    """Change an event's venue, title, time, kind or quota."""
    venue = _checked(actor, fields, current=event.venue)
    if venue.id != event.venue_id and _has_visits(event):
        raise EventError("venue_has_visits", "venue")
    new = {"venue_id": venue.id, "title": fields.title.strip(), "kind": fields.kind,
           "quota": fields.quota, "starts_at": local_start(fields.day, fields.start)}
    changed = sorted(name for name, value in new.items() if getattr(event, name) != value)
    for name in changed:
        setattr(event, name, new[name])
    event.venue = venue
    if changed:
        audit.record(actor, "event.update", event, region_id=venue.region_id,
                     changed=",".join(changed), venue_id=venue.id, kind=event.kind,
                     quota=event.quota)
    db.session.commit()
    return event


def set_event_active(actor: User, event: Event, active: bool) -> Event:
    """Cancel an event (it stays, with its visits) or reinstate it."""
    if not manages_region(actor, event.venue.region_id):
        raise EventError("other_region")
    if event.active != active:
        event.active = active
        audit.record(actor, "event.reinstate" if active else "event.cancel", event,
                     region_id=event.venue.region_id, venue_id=event.venue_id)
    db.session.commit()
    return event


def event_list(venue_id: int | None = None, first_day: date | None = None,
               last_day: date | None = None, past: bool = False,
               today: date | None = None) -> sa.Select:
    """Events by time: from today on, or past ones too; narrowed by venue and dates."""
    query = sa.select(Event).join(Event.venue).options(selectinload(Event.venue))
    if venue_id is not None:
        query = query.where(Event.venue_id == venue_id)
    if first_day is not None:
        query = query.where(Event.starts_at >= local_start(first_day, time(0)))
    elif not past:
        today = today or datetime.now(TZ).date()
        query = query.where(Event.starts_at >= local_start(today, time(0)))
    if last_day is not None:
        query = query.where(Event.starts_at < local_start(last_day + timedelta(days=1), time(0)))
    newest_first = past and first_day is None
    order = Event.starts_at.desc() if newest_first else Event.starts_at.asc()
    return query.order_by(order, Event.id)


def _checked(actor: User, fields: EventFields, current: Venue | None = None) -> Venue:
    """The venue, after checking every field; nothing is saved before this passes."""
    title = fields.title.strip()
    if not title or len(title) > MAX_TITLE:
        raise EventError("bad_title", "title")
    if fields.kind not in EVENT_KINDS:
        raise EventError("bad_kind", "kind")
    if fields.quota is not None and not 0 <= fields.quota <= MAX_QUOTA:
        raise EventError("bad_quota", "quota")
    venue = db.session.get(Venue, fields.venue_id)
    if venue is None or not manages_region(actor, venue.region_id):
        raise EventError("unknown_venue", "venue")
    # An event may stay at a venue that was switched off since; new ones may not go there.
    if not venue.active and venue is not current:
        raise EventError("venue_inactive", "venue")
    return venue


def _new_event(venue: Venue, fields: EventFields, starts_at: datetime) -> Event:
    event = Event(venue=venue, title=fields.title.strip(), starts_at=starts_at,
                  kind=fields.kind, quota=fields.quota, active=True)
    db.session.add(event)
    return event


def _record_create(actor: User, event: Event, **details: int) -> None:
    audit.record(actor, "event.create", event, region_id=event.venue.region_id,
                 venue_id=event.venue_id, kind=event.kind, quota=event.quota, **details)


def _has_visits(event: Event) -> bool:
    return db.session.scalar(sa.select(Visit.id).where(Visit.event_id == event.id).limit(1)) \
        is not None
