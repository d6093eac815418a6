"""Reading the audit trail: filtered selects of AuditEvent for the log page and its CSV."""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from app.audit_labels import REFERENCES
from app.extensions import db
from app.models import AuditEvent, Card, Event, IssuingSite, Municipality, Region, User, Venue, Visit
from app.rules import local_day_bounds

CSV_CHUNK = 1000
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditFilter:
    """What the log is narrowed to; None means no narrowing on that field."""

    object_type: str | None = None
    card_number: str | None = None  # canonical: the card's own events and its visits' events
    actor: str | None = None
    date_from: date | None = None
    date_to: date | None = None


def local_midnight(day: date) -> datetime:
    """The moment a Finnish calendar day begins."""
    return local_day_bounds(day)[0]


def audit_query(user: User, wanted: AuditFilter) -> sa.Select:
    """The account's audit events (coordinator: its region's; admin: all), newest first."""
    query = sa.select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if user.role != "admin":
        query = query.where(AuditEvent.region_id == user.region_id)
    if wanted.object_type:
        query = query.where(AuditEvent.object_type == wanted.object_type)
    if wanted.card_number:
        query = query.where(_about_card(wanted.card_number))
    if wanted.actor:
        query = query.where(AuditEvent.actor_id.in_(
            sa.select(User.id).where(User.username == wanted.actor)))
    if wanted.date_from:
        query = query.where(AuditEvent.at >= local_midnight(wanted.date_from))
    if wanted.date_to:
        query = query.where(AuditEvent.at < local_midnight(wanted.date_to + timedelta(days=1)))
    return query


def usernames(user_ids: Iterable[int | None]) -> dict[int, str]:
    """The usernames of these accounts, by id."""
    ids = {i for i in user_ids if i is not None}
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(User.id, User.username).where(User.id.in_(ids))).all())


def _about_card(number: str) -> sa.ColumnElement[bool]:
    """Events about the card of this number: its own, its visits', and its replacement."""
    card_ids = sa.select(Card.id).where(Card.number == number).scalar_subquery()
    visit_ids = sa.select(Visit.id).where(Visit.card_id == card_ids)
    return sa.or_(
        sa.and_(AuditEvent.object_type == "cards", AuditEvent.object_id == card_ids),
        sa.and_(AuditEvent.object_type == "visits", AuditEvent.object_id.in_(visit_ids)),
        sa.and_(AuditEvent.action == "card.replace",
                AuditEvent.details["new_card_id"].as_integer() == card_ids))


def referenced_ids(events: Iterable[AuditEvent]) -> dict[str, set[int]]:
    """The ids, by object type, that these events are about or name in their details."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for event in events:
        if event.object_id is not None:
            wanted[event.object_type].add(event.object_id)
        for key, value in (event.details or {}).items():
            if key in REFERENCES:
                wanted[REFERENCES[key]].update(detail_ids(value))
    return wanted


def detail_ids(value) -> list[int]:
    """The ids a detail holds: one id, a list of ids, or ids joined with commas."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    parts = value if isinstance(value, list) else str(value or "").split(",")
    return [int(p) for p in parts if str(p).strip().isdigit()]


# What names each kind of object: one query per kind for a whole page.
_NAMES = {
    "cards": (Card, Card.number),
    "regions": (Region, Region),
    "municipalities": (Municipality, Municipality.name),
    "issuing_sites": (IssuingSite, IssuingSite.name),
    "venues": (Venue, Venue.name),
    "events": (Event, Event),
    "users": (User, User.username),
}


def object_names(wanted: dict[str, set[int]], reader: User) -> dict[tuple[str, int], object]:
    """What names each wanted object, by (type, id): a card number, a name, a region, an event's
    title and start, a visit's card number. Cards of other regions stay unnamed for a coordinator."""
    found: dict[tuple[str, int], object] = {}
    for object_type, ids in wanted.items():
        if ids and object_type in _NAMES:
            model, column = _NAMES[object_type]
            query = sa.select(model.id, column).where(model.id.in_(ids))
            if object_type == "cards" and reader.role != "admin":
                query = query.where(Card.region_id == reader.region_id)
            found.update(((object_type, i), name) for i, name in db.session.execute(query))
    if wanted.get("visits"):
        query = sa.select(Visit.id, Card.number).join(Card, Card.id == Visit.card_id) \
            .where(Visit.id.in_(wanted["visits"]))
        found.update((("visits", i), number) for i, number in db.session.execute(query))
    return found


def csv_lines(query: sa.Select, header: Sequence[str],
              describe: Callable[[Sequence[AuditEvent]], Iterable[Sequence]]) -> Iterator[str]:
    """The filtered events as CSV text, a line at a time, for a streamed download; `describe`
    turns a chunk of events into rows (it may look up names once per chunk)."""
    yield "\ufeff" + _line(header)  # the mark lets spreadsheets read UTF-8
    rows = db.session.scalars(query.execution_options(yield_per=CSV_CHUNK))
    try:
        for chunk in rows.partitions():
            for row in describe(chunk):
                yield _line(row)
    finally:
        rows.close()  # a download cut short must not leave a server-side cursor open


def _line(values: Iterable) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";").writerow([_cell(v) for v in values])
    return buffer.getvalue()


def _cell(value) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
