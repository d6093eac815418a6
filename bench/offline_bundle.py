"""The scanner's offline bundle with 100,000 changed cards: its size as served and gzip'd, and
the time of GET /api/scan/offline-bundle (issue 11: the register wins offline too).

Run by hand from the project folder (not part of the test suite):

    .venv/bin/python -m bench.offline_bundle [--changed 100000] [--unchanged 100000] [--runs 5] [--record]

It makes a fresh SQLite database in a temporary folder (`flask db upgrade`, `seed-demo`), adds
`--changed` active cards of Pirkanmaa renewed since issue (changed_at after issued_at; last
valid days spread over the coming year, children 0–4 as families have them) and `--unchanged`
cards that were not (they must stay out of the bundle), then signs in as the demo box office
through Flask's test client and GETs the bundle of its first venue `--runs` times. Printed: the
changed cards the bundle holds, the answer's bytes as served (waitress sends JSON unzipped) and
gzip'd at level 6 (what a reverse proxy with gzip sends), the same for its `changed` section
alone, bytes per changed card, and the median and slowest time of the request, with the
median CPU time it took in this process (app and SQLite: less at the mercy of a busy machine).
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench import readme
from bench.client import signed_in
from tests.browser.conftest import _flask, _server_env

RESULTS_END = "<!-- end of offline_bundle results -->"  # new results go just above this line
CHILDREN_WEIGHTS = [55, 18, 15, 8, 4]  # 0, 1, 2, 3, 4 children
BATCH = 10_000


def card_rows(count: int, changed: bool, region_id: int, numbers: set[str], rng: random.Random):
    """`count` active cards, renewed since issue or not, in batches for executemany."""
    from app.cardcodes import new_number

    now = datetime.now(UTC)
    rows = []
    for _ in range(count):
        number = new_number()
        while number in numbers:
            number = new_number()
        numbers.add(number)
        issued = now - timedelta(days=rng.randrange(30, 700), seconds=rng.randrange(86400))
        changed_at = issued + timedelta(days=rng.randrange(1, 300)) if changed else issued
        rows.append({"number": number, "kind": "personal", "status": "active",
                     "region_id": region_id, "children": rng.choices(range(5), CHILDREN_WEIGHTS)[0],
                     "issued_at": issued, "created_at": issued, "changed_at": min(changed_at, now),
                     "valid_until": now.date() + timedelta(days=rng.randrange(0, 366))})
        if len(rows) == BATCH:
            yield rows
            rows = []
    if rows:
        yield rows


def fill(changed: int, unchanged: int, region_code: str) -> None:
    """Add the changed and unchanged cards to the region."""
    from app.extensions import db
    from app.models import Card, Region

    rng = random.Random(11)
    region_id = db.session.scalar(sa.select(Region.id).where(Region.code == region_code))
    numbers = set(db.session.scalars(sa.select(Card.number)))
    for count, is_changed in ((changed, True), (unchanged, False)):
        for rows in card_rows(count, is_changed, region_id, numbers, rng):
            db.session.execute(sa.insert(Card), rows)
    db.session.commit()


def measure(folder: Path, changed: int, unchanged: int, runs: int) -> dict:
    """Fill a fresh database, GET the bundle `runs` times; its sizes and times."""
    instance = folder / "instance"
    instance.mkdir()
    env = _server_env(instance, f"sqlite:///{instance / 'bundle.db'}")
    _flask(env, "db", "upgrade")
    demo = json.loads(_flask(env, "seed-demo", "--json"))
    boxoffice = next(a for a in demo["accounts"] if a["username"] == "boxoffice")
    venue_id = boxoffice["scope"]["venue_ids"][0]
    os.environ.update(env, KAIKU_SCAN_RATE_LIMIT="10000 per minute")
    from app import create_app

    app = create_app()
    with app.app_context():
        fill(changed, unchanged, boxoffice["scope"]["region"])
    client = signed_in(app, boxoffice["username"], boxoffice["password"])
    seconds, cpu, body = [], [], b""
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        answer = client.get("/api/scan/offline-bundle", query_string={"venue_id": venue_id})
        body = answer.get_data()
        seconds.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
        if answer.status_code != 200:
            sys.exit(f"GET /api/scan/offline-bundle answered {answer.status_code}")
    data = json.loads(body)
    section = json.dumps(data["changed"], separators=(",", ":")).encode()
    width = data["changed"]["width"]
    held = sum(len(joined) // width for _days, _children, joined in data["changed"]["cards"])
    return {"held": held, "groups": len(data["changed"]["cards"]), "seconds": seconds, "cpu": cpu,
            "sizes": {"the whole answer": body, "its `changed` section": section}}


def report(result: dict, changed: int, unchanged: int) -> str:
    """The results as a small Markdown table."""
    lines = [f"{changed:,} changed and {unchanged:,} unchanged active cards of the venue's region; "
             f"the bundle holds {result['held']:,} changed cards in {result['groups']:,} groups "
             "(days to valid_until × children).", "",
             "| what | bytes as served | gzip -6 | gzip'd bytes per changed card |",
             "| --- | ---: | ---: | ---: |"]
    for name, raw in result["sizes"].items():
        zipped = len(gzip.compress(raw, compresslevel=6))
        lines.append(f"| {name} | {len(raw):,} | {zipped:,} | {zipped / max(result['held'], 1):.2f} |")
    seconds, cpu = result["seconds"], result["cpu"]
    lines += ["", f"GET /api/scan/offline-bundle (Flask test client, SQLite), {len(seconds)} runs: "
                  f"median {statistics.median(seconds) * 1000:.0f} ms, slowest "
                  f"{max(seconds) * 1000:.0f} ms; CPU time of this process (the app and SQLite) "
                  f"median {statistics.median(cpu) * 1000:.0f} ms."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changed", type=int, default=100_000, help="cards renewed since issue")
    parser.add_argument("--unchanged", type=int, default=100_000, help="cards not changed since issue")
    parser.add_argument("--runs", type=int, default=5, help="times the bundle is fetched")
    parser.add_argument("--record", action="store_true", help="append the results to bench/README.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kaiku-bench-") as folder:
        result = measure(Path(folder), args.changed, args.unchanged, args.runs)
    table = report(result, args.changed, args.unchanged)
    print(table)
    if args.record:
        options = [arg for arg in (sys.argv[1:] if argv is None else argv) if arg != "--record"]
        readme.record(RESULTS_END, table, " ".join([".venv/bin/python -m bench.offline_bundle", *options]))


if __name__ == "__main__":
    main()
