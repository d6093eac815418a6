"""Statistics at national scale (DESIGN §11): the annual national summary ≤ 2 s, a region's
dashboard ≤ 1 s, at 1,000,000 cards and 10,000,000 visits, on SQLite and on PostgreSQL.

Run by hand from the project folder (not part of the test suite), against a database that
`flask seed-synthetic` has filled (it rebuilds the statistics tables at the end):

    export KAIKU_ENV=development DATABASE_URL=sqlite:////tmp/bench/big.db   # or postgresql://…
    .venv/bin/flask --app app db upgrade
    .venv/bin/flask --app app seed-synthetic --cards 1000000 --visits 10000000 --seed 7
    .venv/bin/python -m bench.stats [--year 2025] [--runs 5] [--raw] [--record]

What is timed, each `--runs` times (the median is reported, and the slowest):
- refresh: `rollup.refresh()` when nothing changed since the last one (every report does it);
- national year: `build_report(None, 1 Jan, 1 Jan next year)` — every table of the dashboard
  and the annual summary (figures, labels, the "<5" rule), the refresh included;
- region year: the same for the region with the most visits;
- national/region dashboard over HTTP: GET /stats for that year through Flask's test client,
  signed in through /login as the admin `bench-stats-admin` (made on the first run, a new
  random password each run): the whole page with its charts;
- with --raw, once each: the same national and region figures read from the visits
  (`figures.collect_raw`), the path that ranges other than a year to date take.
Sizes printed: cards, visits, scan attempts and the statistics tables' rows.
"""
from __future__ import annotations

import argparse
import secrets
import statistics
import time
from collections.abc import Callable
from datetime import date

import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import Card, ScanAttempt, StatCardYear, StatRegionDay, StatVenueDay, User, Venue, Visit
from app.stats import figures, rollup
from app.stats.report import build_report
from bench import readme
from bench.client import signed_in

RESULTS_END = "<!-- end of stats results -->"
TARGETS = {"national year": 2.0, "region year": 1.0, "national dashboard": 2.0,
           "region dashboard": 1.0}
BENCH_ADMIN = "bench-stats-admin"


def timed(action: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
        db.session.rollback()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--year", type=int, help="the year to report (default: last year)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--raw", action="store_true", help="also time the figures read from the visits")
    parser.add_argument("--record", action="store_true", help="add the results to bench/README.md")
    args = parser.parse_args()
    app = create_app()
    with app.test_request_context():
        year = args.year or date.today().year - 1
        start, end = date(year, 1, 1), date(year + 1, 1, 1)
        count = lambda model: db.session.scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
        sizes = {name: count(model) for name, model in (
            ("cards", Card), ("visits", Visit), ("scan attempts", ScanAttempt),
            ("stat_venue_days", StatVenueDay), ("stat_region_days", StatRegionDay),
            ("stat_card_years", StatCardYear))}
        region = db.session.execute(
            sa.select(Venue.region_id).join(StatVenueDay, StatVenueDay.venue_id == Venue.id)
            .group_by(Venue.region_id).order_by(sa.func.sum(StatVenueDay.uses).desc())).scalar()
        dialect = db.engine.dialect.name
        began = time.perf_counter()
        rollup.refresh()
        db.session.commit()
        first_refresh = time.perf_counter() - began
        results = {
            "refresh (nothing changed)": timed(rollup.refresh, args.runs),
            "national year": timed(lambda: build_report(None, start, end), args.runs),
            "region year": timed(lambda: build_report(region, start, end), args.runs),
        }
        results.update(_http(app, year, region, args.runs))
        if args.raw:
            results["national year from the visits"] = timed(
                lambda: figures.collect_raw(None, start, end), 1)
            results["region year from the visits"] = timed(
                lambda: figures.collect_raw(region, start, end), 1)
    lines = [f"{dialect}, year {year}, region id {region}; sizes: "
             + ", ".join(f"{k} {v:,}" for k, v in sizes.items()),
             f"first refresh in this run: {first_refresh:.2f} s", "",
             "| what | median s | max s | runs | target |", "| --- | ---: | ---: | ---: | --- |"]
    for name, times in results.items():
        target = next((f"≤ {t:g} s" for key, t in TARGETS.items() if name.startswith(key)), "")
        median = statistics.median(times)
        lines.append(f"| {name} | {median:.3f} | {max(times):.3f} | {len(times)} | {target} |")
    text = "\n".join(lines)
    print(text)
    if args.record:
        readme.record(RESULTS_END, text, f"python -m bench.stats --year {year} --runs {args.runs}"
                      + (" --raw" if args.raw else ""))


def _http(app, year: int, region: int, runs: int) -> dict[str, list[float]]:
    """The dashboard page as the admin, if the dashboard exists."""
    if "stats.dashboard" not in app.view_functions:
        return {}
    admin = db.session.scalar(sa.select(User).where(User.username == BENCH_ADMIN))
    if admin is None:
        admin = User(username=BENCH_ADMIN, role="admin")
        db.session.add(admin)
    password = secrets.token_urlsafe(16)
    admin.set_password(password)
    db.session.commit()
    client = signed_in(app, BENCH_ADMIN, password)
    results = {}
    for name, query in (("national dashboard over HTTP", {"year": year}),
                        ("region dashboard over HTTP", {"year": year, "region": region})):
        def get(query=query) -> None:
            response = client.get("/stats", query_string=query)
            assert response.status_code == 200, response.status_code
        results[name] = timed(get, runs)
    return results


if __name__ == "__main__":
    main()
