"""Demo data (DESIGN §10): two regions, venues of every kind, today's events, an account per
role and cards in every state. Fictional places; the cards, like all cards, name nobody."""
from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from app import rules
from app.cardcodes import format_number
from app.cards.service import new_link_token, qr_payload, unused_number
from app.extensions import db
from app.models import Card, Event, IssuingSite, Municipality, Region, User, Venue

REGIONS = [
    {"code": "PIR", "name_fi": "Pirkanmaa", "name_sv": "Birkaland", "name_en": "Pirkanmaa",
     "national_network": True,
     "municipalities": ["Tampere", "Nokia", "Ylöjärvi"],
     "sites": [("Aikuissosiaalityö, keskusta", "social_services"), ("Nuorisopalvelut", "youth_work")],
     "venues": [("Kaupunginteatteri", "culture", "theatre", None),
                ("Taidemuseo", "culture", "museum", None),
                ("Työväenopisto", "education", "course", None),
                ("Tiedekeskus", "science", "museum", None),
                ("Uimahalli", "sports", "sports", None)]},
    {"code": "KYM", "name_fi": "Kymenlaakso", "name_sv": "Kymmenedalen", "name_en": "Kymenlaakso",
     "national_network": False,
     "municipalities": ["Kotka", "Kouvola"],
     "sites": [("Perhekeskus", "health")],
     "venues": [("Konserttitalo", "culture", "music", 20),
                ("Kansalaisopisto", "education", "course", None)]},
]


def is_empty() -> bool:
    """Whether the database has no regions yet (the demo seeds only an empty database)."""
    return db.session.scalar(sa.select(sa.func.count(Region.id))) == 0


def seed(base_url: str, today: date | None = None) -> dict:
    """Create the demo data and return the DESIGN §10 document describing it."""
    today = today or datetime.now(rules.TZ).date()
    regions = [_region(spec) for spec in REGIONS]
    db.session.flush()
    venues = [v for r in regions for v in r["venues"]]
    events = _events(venues, today)
    accounts = _accounts(regions)
    cards = _cards(regions, accounts, today, base_url)
    db.session.commit()
    return {
        "accounts": [{k: a[k] for k in ("username", "password", "role", "scope")} for a in accounts],
        "regions": [{"id": r["region"].id, "code": r["region"].code, "name": r["region"].name_fi,
                     "national_network": r["region"].national_network} for r in regions],
        "venues": [{"id": v.id, "name": v.name, "region": v.region.code, "category": v.category}
                   for v in venues],
        "events": [{"id": e.id, "venue_id": e.venue_id, "title": e.title, "kind": e.kind,
                    "quota": e.quota, "starts_at": e.starts_at.isoformat()} for e in events],
        "cards": cards,
    }


def _region(spec: dict) -> dict:
    region = Region(code=spec["code"], name_fi=spec["name_fi"], name_sv=spec["name_sv"],
                    name_en=spec["name_en"], national_network=spec["national_network"])
    municipalities = [Municipality(region=region, name=n) for n in spec["municipalities"]]
    sites = [IssuingSite(region=region, name=n, kind=k) for n, k in spec["sites"]]
    venues = [Venue(region=region, name=n, category=c, art_form=a, default_quota=q)
              for n, c, a, q in spec["venues"]]
    db.session.add_all([region, *municipalities, *sites, *venues])
    return {"region": region, "municipalities": municipalities, "sites": sites, "venues": venues}


def _events(venues: list[Venue], today: date) -> list[Event]:
    def at(hour: int) -> datetime:
        return datetime.combine(today, time(hour), tzinfo=rules.TZ)

    events = []
    for venue in venues:
        if venue.art_form == "course":
            events.append(Event(venue=venue, title="Keramiikka, alkeet", starts_at=at(17),
                                kind="course", quota=8))
        elif venue.art_form == "theatre":
            events.append(Event(venue=venue, title="Kevätnäytös", starts_at=at(19), quota=3))
            events.append(Event(venue=venue, title="Lastennäytelmä", starts_at=at(13)))
        elif venue.default_quota is not None:
            events.append(Event(venue=venue, title="Sinfoniakonsertti", starts_at=at(19),
                                quota=venue.default_quota))
    db.session.add_all(events)
    db.session.flush()
    return events


def _accounts(regions: list[dict]) -> list[dict]:
    first, second = regions
    specs = [
        ("admin", "admin", None, None, []),
        ("coordinator", "coordinator", first["region"], None, []),
        ("issuer", "issuer", first["region"], first["sites"][0], []),
        ("boxoffice", "boxoffice", first["region"], None, first["venues"]),
        ("coordinator-kym", "coordinator", second["region"], None, []),
        ("issuer-kym", "issuer", second["region"], second["sites"][0], []),
        ("boxoffice-kym", "boxoffice", second["region"], None, second["venues"]),
    ]
    accounts = []
    for username, role, region, site, venues in specs:
        password = secrets.token_urlsafe(9)
        user = User(username=username, role=role, region=region, issuing_site=site,
                    venues=list(venues))
        user.set_password(password)
        db.session.add(user)
        accounts.append({"user": user, "username": username, "password": password, "role": role,
                         "scope": _scope(region, site, venues)})
    db.session.flush()
    return accounts


def _scope(region: Region | None, site: IssuingSite | None, venues: list[Venue]) -> dict:
    if site is not None:
        return {"region": region.code, "site_id": site.id}
    if venues:
        return {"region": region.code, "venue_ids": [v.id for v in venues]}
    if region is not None:
        return {"region": region.code}
    return {"all_regions": True}


def _cards(regions: list[dict], accounts: list[dict], today: date, base_url: str) -> list[dict]:
    issuers = {a["user"].issuing_site_id: a["user"] for a in accounts if a["role"] == "issuer"}
    specs = [  # (region index, status, children, kind, days until expiry)
        (0, "active", 0, "personal", 300), (0, "active", 2, "personal", 200),
        (0, "active", 4, "personal", 0), (0, "active", 0, "community", 365),
        (0, "active", 1, "personal", -3), (0, "deactivated", 0, "personal", 100),
        (0, "lost", 1, "personal", 150), (0, "unissued", 0, "personal", None),
        (0, "unissued", 0, "personal", None), (1, "active", 0, "personal", 250),
        (1, "active", 3, "personal", 120), (1, "active", 2, "personal", -5),
    ]
    cards = []
    for index, status, children, kind, days in specs:
        region = regions[index]
        cards.append(_card(region, issuers, status, children, kind, today, days))
    # A replaced card points at its successor, which is also in the list.
    old = _card(regions[0], issuers, "replaced", 1, "personal", today, 90)
    old[0].replaced_by = cards[1][0]
    cards.append(old)
    db.session.flush()
    return [_describe(card, token, base_url) for card, token in cards]


def _card(region: dict, issuers: dict, status: str, children: int, kind: str, today: date,
          days: int | None) -> tuple[Card, str | None]:
    card = Card(number=unused_number(), kind=kind, status=status, region=region["region"],
                children=children)
    db.session.add(card)
    if status == "unissued":
        return card, None
    site = region["sites"][0]
    issued_on = today - timedelta(days=60)
    card.municipality = region["municipalities"][0]
    card.postcode = "33100" if region["region"].code == "PIR" else "48100"
    card.birth_year = today.year - 35
    card.issuing_site = site
    card.issued_by_id = issuers[site.id].id if site.id in issuers else None
    card.issued_at = datetime.combine(issued_on, time(10), tzinfo=rules.TZ)
    card.changed_at = card.issued_at
    card.valid_until = today + timedelta(days=days)
    card.status_reason = "demo" if status == "deactivated" else None
    token = new_link_token(card)
    if status in ("lost", "replaced"):
        # A lost or replaced card got that status from a replacement, which ends its link:
        # the document keeps the holder's old link, and it opens nothing, as after a real one.
        card.link_token_hash = None
    return card, token


def _describe(card: Card, token: str | None, base_url: str) -> dict:
    return {
        "number": format_number(card.number),
        "status": card.status,
        "kind": card.kind,
        "region": card.region.code,
        "valid_until": card.valid_until.isoformat() if card.valid_until else None,
        "children": card.children,
        "replaced_by": format_number(card.replaced_by.number) if card.replaced_by else None,
        "qr_payload": qr_payload(card) if card.valid_until else None,
        "digital_link": f"{base_url}/c/{token}" if token else None,
        "print_url": f"{base_url}/cards/{card.number}/card.pdf",
    }

