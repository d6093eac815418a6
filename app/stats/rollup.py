"""The statistics tables, kept up to date from the visits (DESIGN §8, §11).

A year's national figures would otherwise read millions of visits. Three tables hold what the
dashboard needs instead, by Finnish calendar day:

- stat_venue_days:  ok visits per (day, venue, category) — uses and tickets;
- stat_region_days: ok visits per (card fact, region of the venue, day, value of the fact);
- stat_card_years:  each card's first ok use of a year, per region of the venue and anywhere
                    (scope 0), with the card's facts — distinct cards of any split;
- stat_card_spans:  the days each card is in force, by the rule of
                    queries.cards_in_force_by_month (a deactivated card: until the audit log's
                    time of its deactivation);
- stat_card_days:   per region and day, cards registered and cards coming into and going out of
                    force: cards in force on a day is a running sum.

`refresh()` brings them up to date. It finds what changed since the last refresh from three
indexed timestamps — a visit recorded (online, or an offline record synced late), annulled, or
its conflict resolved — and a fourth on cards (any change to a card row: registered, renewed,
replaced, deactivated), and recomputes just the days, card-years and cards those touch, each
from all of its rows, so recomputing is idempotent. The first refresh (or `full=True`)
rebuilds everything. The work is read first and written under the write lock afterwards, so
on SQLite the door is not held up while a refresh reads; if another refresh finished in the
meantime, this one stands down (the data it would write is no newer).

Changes are looked for from `since` = the start of the previous refresh minus MARGIN, so a
visit whose transaction was still open when a refresh read is taken the next time.
Card facts (birth year, gender, …) are set when a card is registered and never change, so a
visit's facts are the card's.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta

import click
import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.database import begin_write
from app.extensions import db
from app.models import (
    STAT_DIMENSIONS,
    Card,
    StatCardDay,
    StatCardSpan,
    StatCardYear,
    StatRegionDay,
    StatState,
    StatVenueDay,
    Venue,
    Visit,
    utcnow,
)
from app.rules import TZ, local_date, local_day_bounds
from app.stats.queries import AGE_BANDS, chunked, deactivations

MARGIN = timedelta(minutes=5)
ANYWHERE = 0
CHUNK = 5_000
_LOCK_KEY = 0x4B41494B  # PostgreSQL advisory lock: one refresh writes at a time
_FIGURES = ("uses", "adults", "children", "assistants")


def age_group(year: int, birth_year: int | None) -> str:
    """The age group of a holder born in `birth_year` during `year` ('' when not known)."""
    if birth_year is None:
        return ""
    age = year - birth_year
    return next((label for below, label in AGE_BANDS if age < below), "65+")


class Tally:
    """The three tables' rows for a set of visits, summed in memory."""

    def __init__(self) -> None:
        self.venue_days: dict[tuple, list[int]] = {}
        self.region_days: dict[tuple, list[int]] = {}
        self.card_years: dict[tuple, tuple] = {}
        self._regions = dict(db.session.execute(sa.select(Venue.id, Venue.region_id)).all())
        self._days: dict[datetime, date] = {}
        self._ages: dict[tuple[int, int | None], str] = {}

    def _local_day(self, moment: datetime) -> date:
        hour = moment.replace(minute=0, second=0, microsecond=0)  # offsets change on the hour
        day = self._days.get(hour)
        if day is None:
            day = self._days[hour] = hour.astimezone(TZ).date()
        return day

    def add(self, rows: Iterable[sa.Row]) -> None:
        venue_days, region_days, card_years = self.venue_days, self.region_days, self.card_years
        ages = self._ages
        for (card_id, venue_id, occurred_at, adults, children, assistants, category, card_region,
             municipality, site, birth_year, gender, life_situation) in rows:
            day = self._local_day(occurred_at)
            figures = (1, adults, children, assistants)
            _bump(venue_days, (day, venue_id, category), figures)
            region = self._regions[venue_id]
            age = ages.get((day.year, birth_year))
            if age is None:
                age = ages[(day.year, birth_year)] = age_group(day.year, birth_year)
            facts = (str(municipality or ""), str(site or ""), age, gender or "", life_situation or "")
            for dim, value in zip(STAT_DIMENSIONS, facts, strict=True):
                _bump(region_days, (dim, region, day, value), figures)
            if card_id is None:
                continue  # a use whose card was purged: in the sums, not among the cards
            for scope in (region, ANYWHERE):
                key = (day.year, scope, card_id)
                known = card_years.get(key)
                if known is None or day < known[0]:
                    card_years[key] = (day, card_region, *facts)


def _bump(sums: dict[tuple, list[int]], key: tuple, figures: tuple[int, ...]) -> None:
    """Add a visit's figures (1 use and its tickets) to the sums under key."""
    known = sums.get(key)
    if known is None:
        sums[key] = list(figures)
    else:
        for i, figure in enumerate(figures):
            known[i] += figure


def _visits() -> sa.Select:
    """Ok visits with what the tables need, in Tally.add's order."""
    return (sa.select(Visit.card_id, Visit.venue_id, Visit.occurred_at, Visit.adults,
                      Visit.children, Visit.assistants, Visit.category, Card.region_id,
                      Card.municipality_id, Card.issuing_site_id, Card.birth_year, Card.gender,
                      Card.life_situation)
            .outerjoin(Card, Card.id == Visit.card_id)  # a purged card's uses still count
            .where(Visit.status == "ok"))


def refresh(full: bool = False) -> dict[str, int]:
    """Bring the statistics tables up to date; what was recomputed, by table."""
    began = utcnow()
    state = db.session.get(StatState, 1)
    seen = state.since if state else None
    if full or state is None:
        tally, scope = Tally(), None
        tally.add(db.session.execute(_visits().execution_options(yield_per=20_000)))
        spans, changed_cards = _spans(), None
    else:
        scope = _changed_since(state.since)
        tally = _recount(scope) if any(scope.values()) else None
        changed_cards = db.session.scalars(sa.select(Card.id).where(Card.changed_at >= state.since)).all()
        spans = _spans(changed_cards) if changed_cards else None
    _lock()
    state = db.session.get(StatState, 1)
    if (state.since if state else None) != seen:
        db.session.rollback()  # another refresh wrote while this one read
        return {"stood_down": 1}
    counts = _write(tally, scope) if tally is not None else {}
    if spans is not None:
        counts.update(_write_spans(spans, changed_cards))
    if state is None:
        state = StatState(id=1)
        db.session.add(state)
    state.since, state.refreshed_at = began - MARGIN, began
    db.session.commit()
    return counts


def _lock() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_KEY)))
    else:
        begin_write()


def _changed_since(since: datetime) -> dict[str, set]:
    """The days and card-years that visits changed since `since` touch."""
    regions = dict(db.session.execute(sa.select(Venue.id, Venue.region_id)).all())
    changed = sa.union(*(sa.select(Visit.card_id, Visit.venue_id, Visit.occurred_at).where(column >= since)
                         for column in (Visit.recorded_at, Visit.annulled_at,
                                        Visit.conflict_resolved_at))).subquery()
    scope: dict[str, set] = {"venue_days": set(), "region_days": set(), "card_years": set()}
    for card_id, venue_id, occurred_at in db.session.execute(sa.select(changed)):
        day = occurred_at.astimezone(TZ).date()
        scope["venue_days"].add((venue_id, day))
        scope["region_days"].add((regions[venue_id], day))
        if card_id is not None:
            scope["card_years"].add((card_id, day.year))
    return scope


def _recount(scope: dict[str, set]) -> Tally:
    """Each changed day and card-year summed again from all of its visits."""
    run = db.session.execute
    venue_rows, region_rows, card_rows = Tally(), Tally(), Tally()
    for venue_id, day in scope["venue_days"]:
        venue_rows.add(run(_visits().where(Visit.venue_id == venue_id, *_on(day))))
    by_region: dict[int, list[int]] = {}
    for venue_id, region_id in run(sa.select(Venue.id, Venue.region_id)):
        by_region.setdefault(region_id, []).append(venue_id)
    for region_id, day in scope["region_days"]:
        region_rows.add(run(_visits().where(Visit.venue_id.in_(by_region[region_id]), *_on(day))))
    by_year: dict[int, list[int]] = {}
    for card_id, year in scope["card_years"]:
        by_year.setdefault(year, []).append(card_id)
    for year, cards in by_year.items():
        start, end = local_day_bounds(date(year, 1, 1))[0], local_day_bounds(date(year, 12, 31))[1]
        for chunk in _chunks(cards):
            card_rows.add(run(_visits().where(Visit.card_id.in_(chunk), Visit.occurred_at >= start,
                                              Visit.occurred_at < end)))
    tally = Tally()
    tally.venue_days, tally.region_days = venue_rows.venue_days, region_rows.region_days
    tally.card_years = card_rows.card_years
    return tally


def _on(day: date) -> list:
    start, end = local_day_bounds(day)
    return [Visit.occurred_at >= start, Visit.occurred_at < end]


def _write(tally: Tally, scope: dict[str, set] | None) -> dict[str, int]:
    """Replace the rows of the changed keys (all rows when `scope` is None) with the tally's."""
    run = db.session.execute
    if scope is None:
        for model in (StatVenueDay, StatRegionDay, StatCardYear):
            run(sa.delete(model))
    else:
        deletions = (
            (StatVenueDay, (StatVenueDay.venue_id, StatVenueDay.day), scope["venue_days"]),
            (StatRegionDay, (StatRegionDay.region_id, StatRegionDay.day), scope["region_days"]),
            (StatCardYear, (StatCardYear.card_id, StatCardYear.year), scope["card_years"]),
        )
        for model, (first, second), keys in deletions:
            if keys:  # many keys at once: a Core executemany (the ORM has no bulk DELETE)
                table = model.__table__
                db.session.connection().execute(
                    sa.delete(table).where(table.c[first.key] == sa.bindparam("a"),
                                           table.c[second.key] == sa.bindparam("b")),
                    [{"a": a, "b": b} for a, b in keys])
    fields = ("first_day", "card_region_id", *STAT_DIMENSIONS)
    inserts = (
        (StatVenueDay, ({"day": d, "venue_id": v, "category": c, **dict(zip(_FIGURES, s, strict=True))}
                        for (d, v, c), s in tally.venue_days.items())),
        (StatRegionDay, ({"dim": m, "region_id": r, "day": d, "value": v,
                          **dict(zip(_FIGURES, s, strict=True))}
                         for (m, r, d, v), s in tally.region_days.items())),
        (StatCardYear, ({"year": y, "scope": s, "card_id": c, **dict(zip(fields, f, strict=True))}
                        for (y, s, c), f in tally.card_years.items())),
    )
    counts = {}
    for model, rows in inserts:
        counts[model.__tablename__] = _insert(model, rows)
    return counts


def _insert(model: type, rows: Iterable[dict]) -> int:
    """Insert plain rows in chunks through Core (the ORM's bulk path costs more than the SQL)."""
    connection, statement, made = db.session.connection(), sa.insert(model.__table__), 0
    for chunk in _chunks(rows):
        connection.execute(statement, chunk)
        made += len(chunk)
    return made


def _chunks(items: Iterable) -> Iterator[list]:
    return chunked(items, CHUNK)


def card_span(status: str, issued_at: datetime | None, valid_until: date | None,
              successor_issued_at: datetime | None,
              deactivated_at: datetime | None = None) -> tuple[date, date] | None:
    """The days [start, end) a card is in force, None if never.

    The rule of queries.cards_in_force_by_month: from its issue day through valid_until while
    active; a lost or replaced card until its successor was issued; a deactivated card until
    the day it was deactivated (never, when the audit log does not say when).
    """
    if issued_at is None or valid_until is None:
        return None
    start, end = local_date(issued_at), valid_until + timedelta(days=1)
    if status in ("lost", "replaced") and successor_issued_at is not None:
        end = min(end, local_date(successor_issued_at))
    elif status == "deactivated" and deactivated_at is not None:
        end = min(end, local_date(deactivated_at))
    elif status != "active":
        return None
    return (start, end) if start < end else None


def _spans(card_ids: list[int] | None = None) -> dict[int, tuple[int, date, date | None, date | None]]:
    """card id: (region, issue day, span start, span end) of all cards or of the given ones."""
    successor = aliased(Card)
    deactivated = deactivations().subquery()
    query = (sa.select(Card.id, Card.region_id, Card.status, Card.issued_at, Card.valid_until,
                       successor.issued_at, deactivated.c.at)
             .outerjoin(successor, successor.id == Card.replaced_by_id)
             .outerjoin(deactivated, deactivated.c.card_id == Card.id)
             .where(Card.issued_at.is_not(None)))
    found = {}
    for chunk in ([None] if card_ids is None else _chunks(card_ids)):
        part = query if chunk is None else query.where(Card.id.in_(chunk))
        for card_id, region, status, issued_at, valid_until, successor_at, deactivated_at in \
                db.session.execute(part.execution_options(yield_per=20_000)):
            span = card_span(status, issued_at, valid_until, successor_at, deactivated_at)
            found[card_id] = (region, local_date(issued_at), *(span or (None, None)))
    return found


def _write_spans(spans: dict, changed: list[int] | None) -> dict[str, int]:
    """Store the spans; recount the days they (and the spans they replace) touch."""
    run = db.session.execute
    spans_table, days_table = StatCardSpan.__table__, StatCardDay.__table__
    if changed is None:
        run(sa.delete(StatCardSpan))
        run(sa.delete(StatCardDay))
        days: dict[tuple[int, date], list[int]] = {}
        for region, issued, start, end in spans.values():
            days.setdefault((region, issued), [0, 0, 0])[0] += 1
            if start is not None:
                days.setdefault((region, start), [0, 0, 0])[1] += 1
                days.setdefault((region, end), [0, 0, 0])[2] += 1
    else:
        touched: set[tuple[int, date]] = set()
        for chunk in _chunks(changed):
            for row in run(sa.select(StatCardSpan).where(StatCardSpan.card_id.in_(chunk))).scalars():
                touched |= {(row.region_id, row.start_day), (row.region_id, row.end_day)}
            db.session.connection().execute(sa.delete(spans_table).where(spans_table.c.card_id.in_(chunk)))
        for region, issued, start, end in spans.values():
            touched.add((region, issued))
            if start is not None:
                touched |= {(region, start), (region, end)}
        days = None
    made = _insert(StatCardSpan, ({"card_id": card_id, "region_id": region, "start_day": start,
                                   "end_day": end}
                                  for card_id, (region, _, start, end) in spans.items()
                                  if start is not None))
    if days is None:
        days = _recount_card_days(touched)
        if touched:  # an executemany of no rows is an error, not nothing (blank cards touch no day)
            db.session.connection().execute(
                sa.delete(days_table).where(days_table.c.region_id == sa.bindparam("r"),
                                            days_table.c.day == sa.bindparam("d")),
                [{"r": r, "d": d} for r, d in touched])
    made_days = _insert(StatCardDay, ({"region_id": r, "day": d, "registered": c[0], "starts": c[1],
                                       "ends": c[2]} for (r, d), c in days.items() if any(c)))
    return {"stat_card_spans": made, "stat_card_days": made_days}


def _recount_card_days(keys: set[tuple[int, date]]) -> dict[tuple[int, date], list[int]]:
    """Cards issued, coming into and going out of force on each (region, day), counted anew."""
    run = db.session.execute
    counts = {}
    for region, day in keys:
        start, end = local_day_bounds(day)
        counts[(region, day)] = [
            run(sa.select(sa.func.count()).where(Card.region_id == region, Card.issued_at >= start,
                                                 Card.issued_at < end)).scalar_one(),
            run(sa.select(sa.func.count()).where(StatCardSpan.region_id == region,
                                                 StatCardSpan.start_day == day)).scalar_one(),
            run(sa.select(sa.func.count()).where(StatCardSpan.region_id == region,
                                                 StatCardSpan.end_day == day)).scalar_one(),
        ]
    return counts


@click.command("stats-refresh")
@click.option("--full", is_flag=True, help="Rebuild every statistics table from the start.")
def stats_refresh(full: bool) -> None:
    """Bring the statistics tables up to date (every report also does this by itself)."""
    began = time.perf_counter()
    counts = refresh(full=full)
    shown = ", ".join(f"{name} {count}" for name, count in counts.items()) or "nothing had changed"
    click.echo(f"{shown} in {time.perf_counter() - began:.1f} s")
