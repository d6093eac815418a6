"""Factories for test data. Anonymous like the register: numbers and codes, no people."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

from werkzeug.security import generate_password_hash

from app.cards.service import unused_number
from app.extensions import db
from app.models import Card, Event, IssuingSite, Municipality, Region, User, Venue
from app.rules import TZ

PASSWORD = "correct horse battery"


@cache
def _hashed(password: str) -> str:
    # A salted hash that is cheap to check: test accounts log in hundreds of times a run.
    # Real accounts get the slow default through User.set_password (tested on its own).
    return generate_password_hash(password, method="pbkdf2:sha256:1000")


def region(code: str, national: bool = True, **rules) -> Region:
    """A region with default rules unless given."""
    obj = Region(code=code, name_fi=f"Alue {code}", name_sv=f"Område {code}",
                 name_en=f"Region {code}", national_network=national, **rules)
    db.session.add(obj)
    return obj


def venue(region: Region, name: str = "Teatteri", category: str = "culture",
          art_form: str = "theatre", active: bool = True) -> Venue:
    """A venue in a region."""
    obj = Venue(region=region, name=name, category=category, art_form=art_form, active=active)
    db.session.add(obj)
    return obj


def event(venue: Venue, kind: str = "event", quota: int | None = None,
          starts_at: datetime | None = None) -> Event:
    """An event at a venue, today at 18:00 Finnish time unless given."""
    start = starts_at or datetime.combine(datetime.now(TZ).date(), time(18), tzinfo=TZ)
    obj = Event(venue=venue, title=f"{kind} {quota}", starts_at=start, kind=kind, quota=quota)
    db.session.add(obj)
    return obj


def user(username: str, role: str, region: Region | None = None, site: IssuingSite | None = None,
         venues: list[Venue] | None = None, password: str = PASSWORD) -> User:
    """A staff account."""
    obj = User(username=username, role=role, region=region, issuing_site=site,
               venues=venues or [])
    obj.password_hash = _hashed(password)
    db.session.add(obj)
    return obj


def card(region: Region, status: str = "active", children: int = 0, kind: str = "personal",
         valid_until: date | None = None, site: IssuingSite | None = None) -> Card:
    """A registered card (or a blank one when status is unissued)."""
    obj = Card(number=unused_number(), region=region, status=status, children=children,
               kind=kind, issuing_site=site)
    if status != "unissued":
        obj.valid_until = valid_until or datetime.now(TZ).date() + timedelta(days=200)
        obj.issued_at = obj.changed_at = datetime.now(UTC)
        obj.birth_year = 1980
        obj.postcode = "33100"
    db.session.add(obj)
    return obj


@dataclass
class World:
    """Region A (national network) and B (local only), each with a site, venues and staff."""

    a: Region
    b: Region
    site_a: IssuingSite
    site_b: IssuingSite
    theatre: Venue
    college: Venue
    hall_b: Venue
    show: Event
    small_show: Event
    course: Event
    users: dict[str, User] = field(default_factory=dict)

    @classmethod
    def build(cls) -> World:
        """Create and commit the world."""
        a, b = region("AAA", national=True), region("BBB", national=False)
        db.session.add_all([Municipality(region=a, name="Kunta A"),
                            Municipality(region=b, name="Kunta B")])
        site_a = IssuingSite(region=a, name="Sosiaalitoimisto A", kind="social_services")
        site_b = IssuingSite(region=b, name="Nuorisotyö B", kind="youth_work")
        db.session.add_all([site_a, site_b])
        theatre = venue(a)
        college = venue(a, "Opisto", "education", "course")
        hall_b = venue(b, "Sali B", "sports", "sports")
        world = cls(a, b, site_a, site_b, theatre, college, hall_b,
                    show=event(theatre), small_show=event(theatre, quota=10),
                    course=event(college, kind="course"))
        world.users = {
            "admin": user("admin1", "admin"),
            "coordinator": user("coord-a", "coordinator", region=a),
            "issuer": user("issuer-a", "issuer", region=a, site=site_a),
            "boxoffice": user("box-a", "boxoffice", region=a, venues=[theatre, college]),
            "coordinator_b": user("coord-b", "coordinator", region=b),
            "boxoffice_b": user("box-b", "boxoffice", region=b, venues=[hall_b]),
        }
        db.session.commit()
        return world
