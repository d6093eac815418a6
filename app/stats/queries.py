"""The figures of DESIGN §8 as select()s: the caller executes them.

Every query takes a scope, `region_id` (None for the whole country), and a range
[start, end) of Finnish local dates. A month is 'YYYY-MM' of the Finnish local date; the
months are cut into UTC boundaries here and read with a CASE, so one SQL text serves SQLite
and PostgreSQL alike (neither needs time-zone support from the database).

Scope: a use (an ok visit) and a refused scan belong to the region of the *venue* where they
happened; card figures (registered, in force, taken into use) belong to the region of the
*card*. So a card of region A used at a venue of region B (national network) is a use in B
and a card taken into use in A; the national figures count everything once.

Annulled visits never count. Use splits return (key…, distinct_cards, uses, adults, children,
assistants) rows, so the caller can hide small cells with `suppress_small`.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement, Select

from app.models import SCAN_ACTIONS, AuditEvent, Card, IssuingSite, Municipality, ScanAttempt, Venue, Visit
from app.rules import REASONS, local_day_bounds

AGE_GROUPS = ("0-15", "16-17", "18-29", "30-44", "45-64", "65+")
AGE_BANDS = ((16, "0-15"), (18, "16-17"), (30, "18-29"), (45, "30-44"), (65, "45-64"))
_TALLY_FIELDS = ("distinct_cards", "uses", "adults", "children", "assistants")


def local_midnight(day: date) -> datetime:
    """The moment a Finnish calendar day begins, aware."""
    return local_day_bounds(day)[0]


def months(start: date, end: date) -> list[tuple[str, date, date]]:
    """The months that meet [start, end), each cut to the range: ('YYYY-MM', first, after)."""
    if end <= start:
        raise ValueError("the range must end after it starts")
    spans, first = [], start
    while first < end:
        after = min(date(first.year + first.month // 12, first.month % 12 + 1, 1), end)
        spans.append((f"{first:%Y-%m}", first, after))
        first = after
    return spans


def _month_of(column: ColumnElement, start: date, end: date) -> ColumnElement:
    """'YYYY-MM' of a UTC timestamp column's Finnish date (within [start, end))."""
    return sa.case(*((column < local_midnight(after), label)
                     for label, _, after in months(start, end)))


def _year_of(column: ColumnElement, start: date, end: date) -> ColumnElement:
    """The Finnish calendar year of a UTC timestamp column (within [start, end))."""
    years = range(start.year, (end - timedelta(days=1)).year + 1)
    return sa.case(*((column < local_midnight(min(date(y + 1, 1, 1), end)), y) for y in years))


def _within(column: ColumnElement, start: date, end: date) -> list[ColumnElement]:
    return [column >= local_midnight(start), column < local_midnight(end)]


def _uses(region_id: int | None, start: date, end: date, keys: Mapping[str, ColumnElement],
          joins: Sequence[tuple[Any, ColumnElement]] = ()) -> Select:
    """Ok visits in scope grouped by `keys`: keys, distinct cards, uses and tickets."""
    inner = (sa.select(Visit.card_id, Visit.adults, Visit.children, Visit.assistants,
                       *(expr.label(name) for name, expr in keys.items()))
             .join(Venue, Venue.id == Visit.venue_id)
             .where(Visit.status == "ok", *_within(Visit.occurred_at, start, end)))
    for target, on in joins:
        inner = inner.outerjoin(target, on)
    if region_id is not None:
        inner = inner.where(Venue.region_id == region_id)
    # Grouping the outer select by plain columns keeps PostgreSQL from having to match two
    # CASE expressions with bound parameters.
    rows = inner.subquery()
    key_columns = [rows.c[name] for name in keys]
    return (sa.select(*key_columns,
                      sa.func.count(sa.distinct(rows.c.card_id)).label("distinct_cards"),
                      sa.func.count().label("uses"),
                      sa.func.sum(rows.c.adults).label("adults"),
                      sa.func.sum(rows.c.children).label("children"),
                      sa.func.sum(rows.c.assistants).label("assistants"))
            .group_by(*key_columns)
            .order_by(*(c.nulls_last() for c in key_columns)))


_CARD = (Card, Card.id == Visit.card_id)


def uses_by_month(region_id: int | None, start: date, end: date) -> Select:
    """Uses and adult/child/assistant tickets by month: (month, distinct_cards, uses, …)."""
    return _uses(region_id, start, end, {"month": _month_of(Visit.occurred_at, start, end)})


def uses_by_category(region_id: int | None, start: date, end: date) -> Select:
    """Uses by venue category, as recorded on the visit."""
    return _uses(region_id, start, end, {"category": Visit.category})


def uses_by_art_form(region_id: int | None, start: date, end: date) -> Select:
    """Uses by the venue's art form."""
    return _uses(region_id, start, end, {"art_form": Venue.art_form})


def uses_by_venue(region_id: int | None, start: date, end: date) -> Select:
    """Uses by venue: (venue_id, venue_name, distinct_cards, …)."""
    return _uses(region_id, start, end, {"venue_id": Venue.id, "venue_name": Venue.name})


def uses_by_municipality(region_id: int | None, start: date, end: date) -> Select:
    """Uses by the card's home municipality (None when the card names none)."""
    return _uses(region_id, start, end,
                 {"municipality_id": Municipality.id, "municipality_name": Municipality.name},
                 [_CARD, (Municipality, Municipality.id == Card.municipality_id)])


def uses_by_issuing_site(region_id: int | None, start: date, end: date) -> Select:
    """Uses by the site that issued the card."""
    return _uses(region_id, start, end,
                 {"issuing_site_id": IssuingSite.id, "issuing_site_name": IssuingSite.name},
                 [_CARD, (IssuingSite, IssuingSite.id == Card.issuing_site_id)])


def uses_by_age_group(region_id: int | None, start: date, end: date) -> Select:
    """Uses by the holder's age group: the visit's Finnish year minus the birth year.

    Only the birth year is stored, so someone born in 2000 is 24 all through 2024. Groups are
    AGE_GROUPS ("0-15" appears only where a region admits holders under 16); None = unknown.
    """
    age = _year_of(Visit.occurred_at, start, end) - Card.birth_year
    group = sa.case((Card.birth_year.is_(None), sa.null()),
                    *((age < below, label) for below, label in AGE_BANDS), else_="65+")
    return _uses(region_id, start, end, {"age_group": group}, [_CARD])


def uses_by_gender(region_id: int | None, start: date, end: date) -> Select:
    """Uses by the holder's gender (voluntary; None = not given)."""
    return _uses(region_id, start, end, {"gender": Card.gender}, [_CARD])


def uses_by_life_situation(region_id: int | None, start: date, end: date) -> Select:
    """Uses by the holder's life situation (voluntary; None = not given)."""
    return _uses(region_id, start, end, {"life_situation": Card.life_situation}, [_CARD])


SPLITS = {  # name: (query, its key fields)
    "category": (uses_by_category, ("category",)),
    "art_form": (uses_by_art_form, ("art_form",)),
    "venue": (uses_by_venue, ("venue_id", "venue_name")),
    "municipality": (uses_by_municipality, ("municipality_id", "municipality_name")),
    "issuing_site": (uses_by_issuing_site, ("issuing_site_id", "issuing_site_name")),
    "age_group": (uses_by_age_group, ("age_group",)),
    "gender": (uses_by_gender, ("gender",)),
    "life_situation": (uses_by_life_situation, ("life_situation",)),
}


def _card_scope(region_id: int | None) -> list[ColumnElement]:
    return [] if region_id is None else [Card.region_id == region_id]


def cards_registered_by_month(region_id: int | None, start: date, end: date) -> Select:
    """Cards issued (issued_at in range) by month: (month, registered, replacements).

    A replacement card is a new card and counts as registered; `replacements` says how many
    of them replaced a lost or damaged card (registered − replacements = new holders).
    """
    predecessor = aliased(Card)
    # An uncorrelated IN: replaced_by_id has no index, and a correlated EXISTS would scan
    # the cards table once per card.
    replaces = Card.id.in_(sa.select(predecessor.replaced_by_id)
                           .where(predecessor.replaced_by_id.is_not(None)))
    rows = (sa.select(_month_of(Card.issued_at, start, end).label("month"),
                      sa.case((replaces, 1), else_=0).label("replacement"))
            .where(*_within(Card.issued_at, start, end), *_card_scope(region_id))
            .subquery())
    return (sa.select(rows.c.month, sa.func.count().label("registered"),
                      sa.func.sum(rows.c.replacement).label("replacements"))
            .group_by(rows.c.month).order_by(rows.c.month))


def cards_taken_into_use_by_month(region_id: int | None, start: date, end: date) -> Select:
    """Cards with at least one ok use in range, by the month of their first use in range.

    (month, cards); the months add up to the distinct cards used in the range. A card's uses
    anywhere count (scope is the card's region).
    """
    first = (sa.select(Visit.card_id, sa.func.min(Visit.occurred_at).label("first_use"))
             .join(Card, Card.id == Visit.card_id)
             .where(Visit.status == "ok", *_within(Visit.occurred_at, start, end),
                    *_card_scope(region_id))
             .group_by(Visit.card_id)
             .subquery())
    rows = sa.select(_month_of(first.c.first_use, start, end).label("month")).subquery()
    return (sa.select(rows.c.month, sa.func.count().label("cards"))
            .group_by(rows.c.month).order_by(rows.c.month))


def cards_in_force_by_month(region_id: int | None, start: date, end: date) -> Select:
    """Cards in force on the last day of each month (of the range, if it ends mid-month).

    (month, cards). A card is in force on day D when it was issued by the end of D, its
    valid_until is D or later, and either it is active, or it is lost/replaced and its
    successor was issued after D (the successor's issued_at is when the old card stopped), or
    it is deactivated and the audit log has it deactivated after D. Two limits follow from
    what the register keeps: a deactivated card with no audit entry (purged log, imported
    data) never counts; and a renewed card counts with its new valid_until, even for a month
    in which it had already lapsed.
    """
    successor = aliased(Card)
    deactivated = deactivations().subquery()
    counts = []
    for label, _, after in months(start, end):
        cutoff, last_day = local_midnight(after), after - timedelta(days=1)
        counts.append(
            sa.select(sa.literal(label).label("month"), sa.func.count(Card.id).label("cards"))
            .select_from(Card)
            .outerjoin(successor, successor.id == Card.replaced_by_id)
            .outerjoin(deactivated, deactivated.c.card_id == Card.id)
            .where(Card.issued_at < cutoff, Card.valid_until >= last_day,
                   sa.or_(Card.status == "active",
                          sa.and_(Card.status.in_(("lost", "replaced")),
                                  successor.issued_at >= cutoff),
                          sa.and_(Card.status == "deactivated", deactivated.c.at >= cutoff)),
                   *_card_scope(region_id)))
    rows = sa.union_all(*counts).subquery()
    return sa.select(rows.c.month, rows.c.cards).order_by(rows.c.month)


def deactivations() -> Select:
    """When each card was last deactivated, from the audit log: (card_id, at)."""
    return (sa.select(AuditEvent.object_id.label("card_id"), sa.func.max(AuditEvent.at).label("at"))
            .where(AuditEvent.object_type == Card.__tablename__,
                   AuditEvent.action == "card.deactivate")
            .group_by(AuditEvent.object_id))


def refused_scans_by_reason(region_id: int | None, start: date, end: date,
                            actions: Iterable[str] = ("check", "redeem")) -> Select:
    """Refused scans at the venues in scope, by reason: (reason, scans).

    Both actions count by default. The scanner checks a code before it redeems and offers no
    redeem after a refused check, so a refused redeem is a new refusal (the situation changed
    after the check, or an offline record), not the same one again.
    """
    # The refusal reasons are listed rather than "!= 'ok'", so the (reason, at) index skips
    # the accepted scans, which are most of them.
    query = (sa.select(ScanAttempt.reason, sa.func.count().label("scans"))
             .join(Venue, Venue.id == ScanAttempt.venue_id)
             .where(ScanAttempt.reason.in_([r for r in REASONS if r != "ok"]),
                    *_within(ScanAttempt.at, start, end))
             .group_by(ScanAttempt.reason).order_by(ScanAttempt.reason))
    if region_id is not None:
        query = query.where(Venue.region_id == region_id)
    if set(actions) != set(SCAN_ACTIONS):  # a filter on every action would only slow the read
        query = query.where(ScanAttempt.action.in_(tuple(actions)))
    return query


def suppress_small(rows: Iterable[Any], key_fields: Sequence[str],
                   threshold: int = 5) -> list[dict[str, Any]]:
    """Rows as dicts, with every figure of a row of fewer than `threshold` cards shown "<5"."""
    hidden, shown = f"<{threshold}", []
    for row in rows:
        data = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
        if data["distinct_cards"] < threshold:
            data = {k: v if k in key_fields else hidden for k, v in data.items()}
        shown.append(data)
    return shown


def chunked(items: Iterable, size: int) -> Iterator[list]:
    """The items in lists of `size` (the last may be shorter): for bulk inserts and IN lists."""
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
