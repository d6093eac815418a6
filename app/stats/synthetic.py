"""Synthetic cards and visits for trying the statistics at scale (`flask seed-synthetic`).

Realistic in shape, fast in bulk: Core inserts of dicts in chunks, never ORM objects one by
one. About 30% of the cards are used; culture and sports are the largest categories; culture,
education and science thin out in summer while sports stay steady; child tickets are about a
fifth of the uses. The same seed gives the same figures (card numbers and nonces are random).
"""
from __future__ import annotations

import itertools
import random
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import click
import sqlalchemy as sa

from app.cardcodes import new_number
from app.extensions import db
from app.models import (
    GENDERS,
    LIFE_SITUATIONS,
    Card,
    IssuingSite,
    Municipality,
    Region,
    ScanAttempt,
    User,
    Venue,
    Visit,
)
from app.rules import TZ
from app.stats import rollup
from app.stats.queries import chunked, local_midnight

USED_SHARE = 0.30
CATEGORY_WEIGHTS = {"culture": 0.42, "sports": 0.33, "education": 0.15, "science": 0.10}
# Relative pace by calendar month for culture, education and science; sports stay at 1.
SEASON = {6: 0.55, 7: 0.35, 8: 0.6, 12: 0.85}
CHUNK = 10_000
REFUSED_SHARE = 0.04  # refused scans per visit
REFUSALS = {"expired": 40, "already_used": 20, "unknown_card": 12, "wrong_region": 8, "event_full": 6,
            "deactivated": 5, "too_many_children": 4, "period_limit": 3, "lost": 2}
_AGES = ((16, 17, 3), (18, 29, 25), (30, 44, 27), (45, 64, 30), (65, 90, 15))
_HOLDER_FACTS = ("region_id", "municipality_id", "postcode", "birth_year", "children", "gender",
                 "life_situation", "valid_until", "issuing_site_id")
_PLACES = [("Teatteri", "culture", "theatre"), ("Konserttisali", "culture", "music"),
           ("Taidemuseo", "culture", "museum"), ("Elokuvateatteri", "culture", "cinema"),
           ("Uimahalli", "sports", "sports"), ("Liikuntakeskus", "sports", "sports"),
           ("Kansalaisopisto", "education", "course"), ("Tiedekeskus", "science", "museum")]
_REGIONS = [("SYU", "Uusimaa", 4), ("SYP", "Pirkanmaa", 3), ("SYV", "Varsinais-Suomi", 2),
            ("SYL", "Lappi", 1)]


def generate(cards: int, visits: int, seed: int, today: date | None = None) -> dict[str, int]:
    """Insert `cards` issued cards and `visits` visits; return the counts."""
    rng = random.Random(seed)
    today = today or datetime.now(TZ).date()
    places = _places()
    door_id = _door_user()
    rows = _card_rows(rng, cards, places, today)
    successor = _pair_replacements(rng, rows)
    ids = _insert_cards(rows)
    _link_replacements(successor, ids, rows)
    used = rng.sample(range(len(rows)), min(len(rows), round(cards * USED_SHARE), visits))
    counts = {"cards": len(rows), "replaced": len(successor), "used_cards": len(used), "visits": 0,
              "annulled": 0}
    for chunk in _chunks(_visit_rows(rng, rows, ids, used, visits, places, door_id, today, successor)):
        db.session.execute(sa.insert(Visit), chunk)
        counts["visits"] += len(chunk)
        counts["annulled"] += sum(v["status"] == "annulled" for v in chunk)
    counts["refused_scans"] = _refused_scans(rng, rows, places, door_id, today, round(visits * REFUSED_SHARE))
    db.session.commit()
    return counts


def _refused_scans(rng: random.Random, rows: list[dict], places: dict, door_id: int, today: date,
                   count: int) -> int:
    """Refused checks and redeems at the door (accepted ones are not made: the statistics
    read refused scans through an index that skips them)."""
    reasons, weights = zip(*REFUSALS.items(), strict=True)
    end = local_midnight(today)
    span = (end - local_midnight(today - timedelta(days=730))).total_seconds()

    def attempts() -> Iterator[dict]:
        for _ in range(count):
            row = rng.choice(rows)
            reason = rng.choices(reasons, weights)[0]
            venues = places[row["region_id"]]["venues"]
            yield {"action": rng.choice(("check", "redeem")),
                   "card_number": None if reason == "unknown_card" else row["number"],
                   "code_hash": uuid.uuid4().hex if reason == "unknown_card" else None,
                   "venue_id": rng.choice(venues[rng.choice(list(venues))]), "user_id": door_id,
                   "at": end - timedelta(seconds=rng.random() * span), "reason": reason}
    made = 0
    for chunk in _chunks(attempts()):
        db.session.execute(sa.insert(ScanAttempt), chunk)
        made += len(chunk)
    return made


def _places() -> dict[int, dict]:
    """Each region's municipalities, sites and venues by category, created where missing."""
    if db.session.scalar(sa.select(sa.func.count(Region.id))) == 0:
        db.session.add_all(Region(code=code, name_fi=name, name_sv=name, name_en=name)
                           for code, name, _ in _REGIONS)
        db.session.flush()
    places = {}
    for region in db.session.scalars(sa.select(Region).order_by(Region.id)):
        _fill_region(region)
        towns = db.session.scalars(sa.select(Municipality.id).where(
            Municipality.region_id == region.id).order_by(Municipality.id)).all()
        sites = db.session.scalars(sa.select(IssuingSite.id).where(
            IssuingSite.region_id == region.id).order_by(IssuingSite.id)).all()
        venues: dict[str, list[int]] = {}
        for venue_id, category in db.session.execute(
                sa.select(Venue.id, Venue.category).where(Venue.region_id == region.id)
                .order_by(Venue.id)):
            venues.setdefault(category, []).append(venue_id)
        weight = next((w for code, _, w in _REGIONS if code == region.code), 2)
        places[region.id] = {"towns": towns, "sites": sites, "venues": venues, "weight": weight}
    return places


def _fill_region(region: Region) -> None:
    """Give a region a municipality, a site and a venue of every category if it lacks them."""
    def has(model, *where) -> bool:
        return db.session.scalar(sa.select(model.id).where(
            model.region_id == region.id, *where).limit(1)) is not None

    if not has(Municipality):
        db.session.add_all(Municipality(region=region, name=f"{region.name_fi} {n}")
                           for n in ("keskus", "pohjoinen", "etelä"))
    if not has(IssuingSite):
        db.session.add_all([IssuingSite(region=region, name="Sosiaalipalvelut", kind="social_services"),
                            IssuingSite(region=region, name="Nuorisotyö", kind="youth_work")])
    for category in CATEGORY_WEIGHTS:
        if not has(Venue, Venue.category == category):
            db.session.add_all(Venue(region=region, name=n, category=c, art_form=a)
                               for n, c, a in _PLACES if c == category)
    db.session.flush()


def _door_user() -> int:
    """A box-office account to record the visits: an existing one or an inactive new one."""
    found = db.session.scalar(sa.select(User.id).where(User.role == "boxoffice").order_by(User.id))
    if found is not None:
        return found
    user = User(username="synthetic-door", role="boxoffice", active=False)
    user.set_password(uuid.uuid4().hex)
    db.session.add(user)
    db.session.flush()
    return user.id


def _card_rows(rng: random.Random, count: int, places: dict, today: date) -> list[dict]:
    """Issued cards spread over the last two years, with holders' voluntary facts."""
    taken = set(db.session.scalars(sa.select(Card.number)))
    regions = list(places)
    weights = [places[r]["weight"] for r in regions]
    first_day = today - timedelta(days=730)
    rows = []
    for _ in range(count):
        number = new_number()
        while number in taken:
            number = new_number()
        taken.add(number)
        region = rng.choices(regions, weights)[0]
        place = places[region]
        issued = local_midnight(first_day + timedelta(days=rng.randrange(729)))
        issued += timedelta(seconds=rng.randrange(8 * 3600, 16 * 3600))
        low, high, _ = rng.choices(_AGES, [w for *_, w in _AGES])[0]
        rows.append({
            "number": number, "kind": "personal", "status": _status(rng), "region_id": region,
            "municipality_id": rng.choice(place["towns"]),
            "postcode": f"{rng.randrange(100, 99_999):05d}",
            "birth_year": issued.year - rng.randint(low, high),
            "children": rng.choices((0, 1, 2, 3), (55, 22, 15, 8))[0],
            "gender": rng.choices((*GENDERS, None), (54, 38, 2, 6))[0],
            "life_situation": rng.choice((*LIFE_SITUATIONS, None, None)),
            "issued_at": issued, "valid_until": issued.date() + timedelta(days=365),
            "issuing_site_id": rng.choice(place["sites"]), "created_at": issued, "changed_at": issued,
            "status_reason": None,
        })
    return rows


def _status(rng: random.Random) -> str:
    return rng.choices(("active", "deactivated"), (96, 4))[0]


def _insert_cards(rows: list[dict]) -> list[int]:
    """Insert the cards in chunks; their ids in order."""
    ids: list[int] = []
    table = Card.__table__
    for chunk in _chunks(iter(rows)):
        result = db.session.execute(
            sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), chunk)
        ids.extend(result.scalars())
    return ids


def _pair_replacements(rng: random.Random, rows: list[dict]) -> dict[int, int]:
    """Make about 2% of cards lost or replaced by a later card that takes over their facts."""
    order = sorted(range(len(rows)), key=lambda i: rows[i]["issued_at"])
    successor: dict[int, int] = {}
    paired: set[int] = set()
    for old, new in itertools.pairwise(order):
        if rng.random() < 0.02 and not paired & {old, new} \
                and rows[old]["status"] == rows[new]["status"] == "active":
            rows[old]["status"] = rows[old]["status_reason"] = rng.choice(("lost", "replaced"))
            rows[new].update({k: rows[old][k] for k in _HOLDER_FACTS})
            successor[old] = new
            paired |= {old, new}
    return successor


def _link_replacements(successor: dict[int, int], ids: list[int], rows: list[dict]) -> None:
    """Point each replaced card at its successor, now that both have ids."""
    table = Card.__table__
    if successor:
        db.session.execute(
            sa.update(table).where(table.c.id == sa.bindparam("old"))
            .values(replaced_by_id=sa.bindparam("new"), changed_at=sa.bindparam("at")),
            [{"old": ids[old], "new": ids[new], "at": rows[new]["issued_at"]}
             for old, new in successor.items()])


def _window(rng: random.Random, row: dict, rows: list[dict], today: date,
            successor: int | None) -> tuple[datetime, datetime]:
    """When a card could be used: from issue to expiry, replacement, deactivation or now."""
    start = row["issued_at"]
    end = min(local_midnight(row["valid_until"] + timedelta(days=1)), local_midnight(today))
    if successor is not None:
        end = min(end, rows[successor]["issued_at"])
    if row["status"] == "deactivated":
        end = start + (end - start) * rng.random()
    return start, max(end, start + timedelta(hours=1))


def _visit_rows(rng: random.Random, rows: list[dict], ids: list[int], used: list[int], total: int,
                places: dict, door_id: int, today: date,
                successor: dict[int, int]) -> Iterator[dict]:
    """Visits: one for every used card, the rest to the same cards, some far more than others."""
    if not used:
        return
    pace = [rng.expovariate(1.0) for _ in used]
    extra = rng.choices(used, pace, k=total - len(used))
    categories, weights = list(CATEGORY_WEIGHTS), list(CATEGORY_WEIGHTS.values())
    windows: dict[int, tuple[datetime, datetime]] = {}
    for index in [*used, *extra]:
        row = rows[index]
        if index not in windows:
            windows[index] = _window(rng, row, rows, today, successor.get(index))
        category = rng.choices(categories, weights)[0]
        at = _moment(rng, *windows[index], steady=category == "sports")
        children = rng.randint(1, row["children"]) if row["children"] and rng.random() < 0.33 else 0
        annulled = rng.random() < 0.01
        yield {
            "card_id": ids[index], "venue_id": rng.choice(places[row["region_id"]]["venues"][category]),
            "user_id": door_id, "adults": 1, "children": children,
            "assistants": int(rng.random() < 0.05), "category": category, "occurred_at": at,
            "recorded_at": at, "nonce": str(uuid.uuid4()),
            "source": rng.choices(("camera", "barcode", "manual", "offline"), (70, 15, 10, 5))[0],
            "status": "annulled" if annulled else "ok",
            "annulled_at": at + timedelta(minutes=2) if annulled else None,
            "annulled_by_id": door_id if annulled else None,
            "annul_reason": "mistake" if annulled else None, "verified": True,
        }


def _moment(rng: random.Random, start: datetime, end: datetime, steady: bool) -> datetime:
    """A moment in [start, end); outside sports, summer months are thinned out."""
    span = (end - start).total_seconds()
    for _ in range(8):
        at = start + timedelta(seconds=rng.random() * span)
        if steady or rng.random() < SEASON.get(at.astimezone(TZ).month, 1.0):
            return at
    return at


def _chunks(rows: Iterator[dict]) -> Iterator[list[dict]]:
    return chunked(rows, CHUNK)


@click.command("seed-synthetic")
@click.option("--cards", default=10_000, show_default=True, type=click.IntRange(min=0))
@click.option("--visits", default=50_000, show_default=True, type=click.IntRange(min=0))
@click.option("--seed", default=1, show_default=True, type=int)
def seed_synthetic(cards: int, visits: int, seed: int) -> None:
    """Add synthetic cards and visits for trying the statistics (never on production data)."""
    began = time.perf_counter()
    counts = generate(cards, visits, seed)
    click.echo(f"{counts['cards']} cards ({counts['replaced']} replaced, {counts['used_cards']} used), "
               f"{counts['visits']} visits ({counts['annulled']} annulled), "
               f"{counts['refused_scans']} refused scans in {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    rollup.refresh(full=True)
    click.echo(f"statistics tables rebuilt in {time.perf_counter() - began:.1f} s")

