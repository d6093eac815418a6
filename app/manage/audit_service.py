"""Reading the audit trail: filtered selects of AuditEvent for the log page and its CSV."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import AuditEvent, Card, User
from app.rules import local_day_bounds

CSV_COLUMNS = ("time", "actor", "action", "action_label", "object_type", "object_id", "details")
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditFilter:
    """What the log is narrowed to; None means no narrowing on that field."""

    object_type: str | None = None
    object_id: int | None = None
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
    if wanted.object_id is not None:
        query = query.where(AuditEvent.object_id == wanted.object_id)
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


def card_numbers(card_ids: Iterable[int | None]) -> dict[int, str]:
    """The numbers of these cards, by id (a card's page is found by its number)."""
    ids = {i for i in card_ids if i is not None}
    if not ids:
        return {}
    return dict(db.session.execute(sa.select(Card.id, Card.number).where(Card.id.in_(ids))).all())


def csv_lines(query: sa.Select, label: Callable[[str], str],
              when: Callable[[datetime], str]) -> Iterator[str]:
    """The filtered events as CSV text, a line at a time, for a streamed download."""
    yield "\ufeff" + _line(CSV_COLUMNS)  # the mark lets spreadsheets read UTF-8
    rows = db.session.execute(
        query.add_columns(User.username).outerjoin(User, User.id == AuditEvent.actor_id)
        .execution_options(yield_per=1000))
    try:
        for event, username in rows:
            yield _line((when(event.at), username or "", event.action, label(event.action),
                         event.object_type, "" if event.object_id is None else event.object_id,
                         json.dumps(event.details or {}, sort_keys=True)))
    finally:
        rows.close()  # a download cut short must not leave a server-side cursor open


def _line(values: Iterable) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=";").writerow([_cell(v) for v in values])
    return buffer.getvalue()


def _cell(value) -> str:
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
