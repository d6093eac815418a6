"""1,000 printed cards as one PDF (DESIGN §11: ≤ 20 s), through the real printing code.

Run by hand from the project folder (not part of the test suite):

    .venv/bin/python -m bench.print_cards [--cards 1000] [--runs 3] [--record]

It makes a fresh SQLite database in a temporary folder (`flask db upgrade`, `seed-demo`, then
`seed-synthetic --cards N --visits 0`), and times, `--runs` times each (the median is
reported, and the slowest):
- N registered cards as one PDF, on A4 sheets of ten and as one ID-1 page a card: the cards
  read from the database, each card's face as the issuing views make it (`face_for`: the QR
  payload signed with Ed25519), and `printing.cards.card_pdf`;
- the one HTTP route that prints a batch, POST /cards/blank as the demo coordinator through
  Flask's test client: new blank cards numbered and stored, and their A4 sheets as the answer.
  It takes at most 500 cards at a time (MAX_BATCH), so it is timed at 500 (or N if fewer).
Printed for each: pages and bytes of the PDF.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bench import readme
from bench.client import csrf_token, signed_in
from tests.browser.conftest import _flask, _server_env

RESULTS_END = "<!-- end of print_cards results -->"  # new results go just above this line
TARGET_SECONDS = 20.0
PAGE = re.compile(rb"/Type\s*/Page(?!s)")


@dataclass(frozen=True)
class Timing:
    """One way of printing, timed `runs` times."""

    name: str
    cards: int
    seconds: list[float]
    pages: int
    size: int

    @property
    def median(self) -> float:
        """The median time in seconds."""
        return statistics.median(self.seconds)


def timed(name: str, cards: int, make: Callable[[], bytes], runs: int,
          after: Callable[[], None]) -> Timing:
    """Run `make` `runs` times; its times, and the pages and size of its last PDF."""
    seconds, pdf = [], b""
    for _ in range(runs):
        began = time.perf_counter()
        pdf = make()
        seconds.append(time.perf_counter() - began)
        after()
    if not pdf.startswith(b"%PDF"):
        sys.exit(f"{name}: the answer is not a PDF")
    return Timing(name, cards, seconds, len(PAGE.findall(pdf)), len(pdf))


def registered_cards_pdf(count: int, layout: str) -> Callable[[], bytes]:
    """Read the newest `count` registered cards, make their faces and print them as one PDF."""
    from app.cards.views import face_for
    from app.extensions import db
    from app.models import Card
    from app.printing.cards import card_pdf

    def make() -> bytes:
        cards = db.session.scalars(sa.select(Card).where(Card.status != "unissued")
                                   .order_by(Card.id.desc()).limit(count)).all()
        if len(cards) < count:
            sys.exit(f"only {len(cards)} registered cards in the database")
        return card_pdf([face_for(card) for card in cards], layout=layout)
    return make


def blank_batch_over_http(app, account: dict, count: int) -> Callable[[], bytes]:
    """POST /cards/blank as the coordinator, as the browser form does; the PDF answered."""
    client = signed_in(app, account["username"], account["password"])
    token = csrf_token(client.get("/cards/blank").get_data(as_text=True))

    def make() -> bytes:
        answer = client.post("/cards/blank", data={"count": str(count), "csrf_token": token})
        if answer.status_code != 200 or answer.mimetype != "application/pdf":
            sys.exit(f"POST /cards/blank answered {answer.status_code} {answer.mimetype}")
        return answer.get_data()
    return make


def report(timings: list[Timing], cards: int) -> str:
    """The results as a small Markdown table."""
    lines = ["| what | cards | median (s) | slowest (s) | pages | PDF size |",
             "| --- | --- | --- | --- | --- | --- |"]
    for timing in timings:
        lines.append(f"| {timing.name} | {timing.cards:,} | {timing.median:.2f} "
                     f"| {max(timing.seconds):.2f} | {timing.pages:,} | {timing.size / 2**20:.1f} MiB |")
    worst = max(t.median for t in timings if t.cards == cards)
    lines += ["", f"{len(timings[0].seconds)} runs each; target: {cards:,} cards as one PDF "
                  f"≤ {TARGET_SECONDS:.0f} s (slowest layout's median here: {worst:.2f} s)."]
    return "\n".join(lines)


def record(table: str, command: str) -> None:
    """Add the results, the command and the date to bench/README.md, newest last."""
    readme.record(RESULTS_END, table, command)


def measure(folder: Path, cards: int, runs: int, batch: int) -> list[Timing]:
    """Fill a fresh database and time each way of printing."""
    instance = folder / "instance"
    instance.mkdir()
    env = _server_env(instance, f"sqlite:///{instance / 'print.db'}")
    _flask(env, "db", "upgrade")
    demo = json.loads(_flask(env, "seed-demo", "--json"))
    _flask(env, "seed-synthetic", "--cards", str(cards), "--visits", "0")
    coordinator = next(a for a in demo["accounts"] if a["role"] == "coordinator")
    os.environ.update(env)
    from app import create_app
    from app.extensions import db

    app = create_app()
    with app.test_request_context():
        timings = [timed(f"registered cards, {layout} layout", cards,
                         registered_cards_pdf(cards, layout), runs, db.session.rollback)
                   for layout in ("sheet", "single")]
    timings.append(timed("POST /cards/blank (A4 sheets)", batch,
                         blank_batch_over_http(app, coordinator, batch), runs, lambda: None))
    return timings


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=1000, help="cards in the one PDF")
    parser.add_argument("--runs", type=int, default=3, help="times each way is timed")
    parser.add_argument("--record", action="store_true", help="append the results to bench/README.md")
    args = parser.parse_args(argv)
    from app.cards.service import MAX_BATCH

    with tempfile.TemporaryDirectory(prefix="kaiku-bench-") as folder:
        timings = measure(Path(folder), args.cards, args.runs, min(args.cards, MAX_BATCH))
    table = report(timings, args.cards)
    print(table)
    if args.record:
        options = [arg for arg in (sys.argv[1:] if argv is None else argv) if arg != "--record"]
        record(table, " ".join([".venv/bin/python -m bench.print_cards", *options]))


if __name__ == "__main__":
    main()
