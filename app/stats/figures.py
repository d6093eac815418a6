"""The raw figures of one report: plain dicts of numbers, before labels and the "<5" rule.

`collect(region_id, start, end)` returns
    {"months": [{"month": "YYYY-MM", "registered", "in_force", "taken_into_use", "uses",
                 "adults", "children", "assistants"}, …]   (every month of the range, in order),
     "splits": {split: [{"key", "name", "cards", "uses", "adults", "children", "assistants"}, …]},
     "refused": [{"reason", "scans"}, …]}
"""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import (
    STAT_DIMENSIONS,
    IssuingSite,
    Municipality,
    StatCardDay,
    StatCardYear,
    StatRegionDay,
    StatVenueDay,
    Venue,
)
from app.stats import queries, rollup

TICKETS = ("adults", "children", "assistants")
_NAMED = {"venue": ("venue_id", "venue_name"), "municipality": ("municipality_id", "municipality_name"),
          "issuing_site": ("issuing_site_id", "issuing_site_name")}


def collect(region_id: int | None, start: date, end: date) -> dict:
    """Every figure of DESIGN §8 for the scope and [start, end).

    A range from 1 January to a day of the same year (a year, or the year so far) is read
    from the statistics tables after bringing them up to date; any other range is read from
    the visits themselves (the same figures, slower on a national register).
    """
    if is_year_to_date(start, end):
        rollup.refresh()
        return collect_fast(region_id, start, end)
    return collect_raw(region_id, start, end)


def is_year_to_date(start: date, end: date) -> bool:
    """Whether [start, end) runs from 1 January to a day of that year (or the next 1 January)."""
    return (start.month, start.day) == (1, 1) and start < end <= date(start.year + 1, 1, 1)


def _empty_months(start: date, end: date) -> dict[str, dict]:
    labels = [label for label, _, _ in queries.months(start, end)]
    return {label: {"month": label, "registered": 0, "in_force": 0, "taken_into_use": 0,
                    "uses": 0, **dict.fromkeys(TICKETS, 0)} for label in labels}


def _card_months(by_month: dict[str, dict], region_id: int | None, start: date, end: date) -> None:
    """Cards registered and in force, read from the cards (both are indexed by issue time)."""
    run = db.session.execute
    for row in run(queries.cards_registered_by_month(region_id, start, end)).mappings():
        by_month[row["month"]]["registered"] = int(row["registered"])
    for row in run(queries.cards_in_force_by_month(region_id, start, end)).mappings():
        by_month[row["month"]]["in_force"] = int(row["cards"])


def _card_months_fast(by_month: dict[str, dict], region_id: int | None, start: date, end: date) -> None:
    """Cards registered by month, and in force at each month's end: a running sum of the days'
    cards coming into force minus those going out, from the first day on record."""
    in_region = [] if region_id is None else [StatCardDay.region_id == region_id]
    query = (sa.select(StatCardDay.day, sa.func.sum(StatCardDay.registered),
                       sa.func.sum(StatCardDay.starts) - sa.func.sum(StatCardDay.ends))
             .where(StatCardDay.day < end, *in_region).group_by(StatCardDay.day)
             .order_by(StatCardDay.day))
    ends = {label: after - timedelta(days=1) for label, _, after in queries.months(start, end)}
    in_force, days = 0, iter(db.session.execute(query))
    pending = next(days, None)
    for label, last_day in ends.items():
        while pending is not None and pending[0] <= last_day:
            day, registered, change = pending
            in_force += int(change)
            if day >= start:
                by_month[label]["registered"] += int(registered)
            pending = next(days, None)
        by_month[label]["in_force"] = in_force


def _refused(region_id: int | None, start: date, end: date) -> list[dict]:
    return [{"reason": r.reason, "scans": int(r.scans)}
            for r in db.session.execute(queries.refused_scans_by_reason(region_id, start, end))]


def collect_fast(region_id: int | None, start: date, end: date) -> dict:
    """The same figures as collect_raw for a year-to-date range, from the statistics tables.

    The tables must be up to date (rollup.refresh()).
    """
    if not is_year_to_date(start, end):
        raise ValueError("the statistics tables answer ranges from 1 January within one year")
    run = db.session.execute
    by_month = _empty_months(start, end)
    _card_months_fast(by_month, region_id, start, end)
    sums = [sa.func.sum(getattr(StatVenueDay, f)).label(f) for f in ("uses", *TICKETS)]
    days = [StatVenueDay.day >= start, StatVenueDay.day < end]
    in_region = [] if region_id is None else [Venue.region_id == region_id]
    venue_days = sa.select(StatVenueDay.day, *sums).join(Venue, Venue.id == StatVenueDay.venue_id) \
        .where(*days, *in_region).group_by(StatVenueDay.day)
    for row in run(venue_days).mappings():
        month = by_month[f"{row['day']:%Y-%m}"]
        for f in ("uses", *TICKETS):
            month[f] += int(row[f])
    taken, distinct = _card_year_counts(region_id, start, end)
    for month, cards in taken.items():
        by_month[month]["taken_into_use"] += cards

    def venue_split(*keys) -> list[dict]:
        query = (sa.select(*keys, *sums).join(Venue, Venue.id == StatVenueDay.venue_id)
                 .where(*days, *in_region).group_by(*keys))
        return [{"key": r[0], "name": r[1] if len(keys) > 1 else None, "cards": None,
                 **{f: int(r._mapping[f]) for f in ("uses", *TICKETS)}} for r in run(query)]

    splits = {"category": venue_split(StatVenueDay.category),
              "art_form": venue_split(Venue.art_form),
              "venue": venue_split(Venue.id, Venue.name)}
    names = {"municipality": dict(run(sa.select(Municipality.id, Municipality.name)).all()),
             "issuing_site": dict(run(sa.select(IssuingSite.id, IssuingSite.name)).all())}
    for dim in STAT_DIMENSIONS:
        uses = (sa.select(StatRegionDay.value, *(sa.func.sum(getattr(StatRegionDay, f)).label(f)
                                                 for f in ("uses", *TICKETS)))
                .where(StatRegionDay.dim == dim, StatRegionDay.day >= start, StatRegionDay.day < end,
                       *([] if region_id is None else [StatRegionDay.region_id == region_id]))
                .group_by(StatRegionDay.value))
        cards = distinct[dim]
        rows = []
        for row in run(uses).mappings():
            key = _fact_key(dim, row["value"])
            rows.append({"key": key, "name": names[dim].get(key) if dim in names else None,
                         "cards": int(cards.get(row["value"], 0)),
                         **{f: int(row[f]) for f in ("uses", *TICKETS)}})
        splits[dim] = rows
    return {"months": list(by_month.values()), "splits": splits,
            "refused": _refused(region_id, start, end)}


def _card_year_counts(region_id: int | None, start: date,
                      end: date) -> tuple[Counter, dict[str, Counter]]:
    """From each card's first use of the year: cards taken into use by month (cards of the
    region, used anywhere), and distinct cards by each holder fact (used at the region's
    venues). Every query reads only the covering index ix_stat_card_years_report; PostgreSQL
    counts all the facts in one pass (GROUPING SETS), SQLite one fact at a time."""
    run = db.session.execute
    in_year = [StatCardYear.year == start.year, StatCardYear.first_day < end]
    taken: Counter = Counter()
    for first_day, cards in run(
            sa.select(StatCardYear.first_day, sa.func.count())
            .where(*in_year, StatCardYear.scope == rollup.ANYWHERE,
                   *([] if region_id is None else [StatCardYear.card_region_id == region_id]))
            .group_by(StatCardYear.first_day)):
        taken[f"{first_day:%Y-%m}"] += cards
    scope = rollup.ANYWHERE if region_id is None else region_id
    where = [*in_year, StatCardYear.scope == scope]
    columns = [getattr(StatCardYear, dim) for dim in STAT_DIMENSIONS]
    distinct = {dim: Counter() for dim in STAT_DIMENSIONS}
    if db.session.get_bind().dialect.name == "postgresql":
        grouping = [sa.func.grouping(column).label(f"g_{column.key}") for column in columns]
        query = (sa.select(*columns, *grouping, sa.func.count().label("cards")).where(*where)
                 .group_by(sa.func.grouping_sets(*(sa.tuple_(column) for column in columns))))
        for row in run(query).mappings():
            dim = next(d for d in STAT_DIMENSIONS if row[f"g_{d}"] == 0)
            distinct[dim][row[dim]] += row["cards"]
    else:
        for dim, column in zip(STAT_DIMENSIONS, columns, strict=True):
            distinct[dim].update(dict(run(sa.select(column, sa.func.count()).where(*where)
                                          .group_by(column)).all()))
    return taken, distinct


def _fact_key(dim: str, value: str) -> int | str | None:
    """A stored fact back as the key collect_raw gives: None for '', ids as ints."""
    if value == "":
        return None
    return int(value) if dim in ("municipality", "issuing_site") else value


def collect_raw(region_id: int | None, start: date, end: date) -> dict:
    """The figures straight from the cards, visits and scan attempts (the reference)."""
    run = db.session.execute
    by_month = _empty_months(start, end)
    for row in run(queries.uses_by_month(region_id, start, end)).mappings():
        by_month[row["month"]].update({k: int(row[k]) for k in ("uses", *TICKETS)})
    _card_months(by_month, region_id, start, end)
    for row in run(queries.cards_taken_into_use_by_month(region_id, start, end)).mappings():
        by_month[row["month"]]["taken_into_use"] = int(row["cards"])
    splits = {}
    for split, (query, keys) in queries.SPLITS.items():
        rows = []
        for row in run(query(region_id, start, end)).mappings():
            rows.append({"key": row[keys[0]], "name": row[keys[1]] if len(keys) > 1 else None,
                         "cards": int(row["distinct_cards"]), "uses": int(row["uses"]),
                         **{t: int(row[t]) for t in TICKETS}})
        splits[split] = rows
    return {"months": list(by_month.values()), "splits": splits,
            "refused": _refused(region_id, start, end)}
