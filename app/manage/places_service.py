"""Regions and their rules, municipalities, issuing sites and venues: one transaction per change.

Every change is audited with codes, ids and the names of the changed fields, never with names
or other free text. Nothing is ever deleted: deactivating keeps the history that points at it.
The door reads the rules from the database on every scan, so a saved change applies at once.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app import audit
from app.database import begin_write
from app.extensions import db
from app.manage.scope import manages_region
from app.models import (
    ART_FORMS,
    PERIODS,
    SITE_KINDS,
    VALIDITY_MODES,
    VENUE_CATEGORIES,
    IssuingSite,
    Municipality,
    Region,
    User,
    Venue,
)

CODE_PATTERN = re.compile(r"^[A-Z0-9]{2,16}$")
RANGES = {"validity_months": (1, 60), "period_limit": (1, 100), "community_group_size": (1, 100),
          "min_age": (0, 120), "child_max_age": (0, 17), "default_quota": (0, 100000)}
CHOICES = {"validity": VALIDITY_MODES, "period": PERIODS, "kind": SITE_KINDS,
           "category": VENUE_CATEGORIES, "art_form": ART_FORMS}
TEXT_FIELDS = frozenset({"code", "name", "name_fi", "name_sv", "name_en"})
NAME_LENGTHS = {Municipality: 120, IssuingSite: 160, Venue: 160}

Place = Municipality | IssuingSite | Venue


class PlaceError(Exception):
    """A change that cannot be saved: a stable code and the form field it concerns."""

    def __init__(self, code: str, field: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.field = field


@dataclass(frozen=True)
class Rules:
    """The rules a region's coordinator may change. validity_months None keeps the current one."""

    national_network: bool
    validity: str
    validity_months: int | None
    period_limit: int | None
    period: str
    community_group_size: int


@dataclass(frozen=True)
class RegionFacts:
    """What only the national administrator sets: code, names and the age limits."""

    code: str
    name_fi: str
    name_sv: str = ""
    name_en: str = ""
    min_age: int = 16
    child_max_age: int = 17


@dataclass(frozen=True)
class SiteFacts:
    """An issuing site's name and kind."""

    name: str
    kind: str


@dataclass(frozen=True)
class VenueFacts:
    """A venue's name, category, art form and optional default quota per event."""

    name: str
    category: str
    art_form: str
    default_quota: int | None = None


def create_region(actor: User, facts: RegionFacts, rules: Rules) -> Region:
    """Add a region with its rules (admins only)."""
    _require_admin(actor)
    begin_write()
    region = Region()
    values = {**_region_values(facts), **_rule_values(rules, region)}
    _check_code_free(values["code"], None)
    return _save_new(actor, region, values, "region", lambda: region.id)


def update_region(actor: User, region: Region, facts: RegionFacts, rules: Rules) -> list[str]:
    """Change a region's code, names, age limits and rules (admins only); returns what changed."""
    _require_admin(actor)
    begin_write()
    values = {**_region_values(facts), **_rule_values(rules, region)}
    _check_code_free(values["code"], region.id)
    return _save_changes(actor, region, values, "region.update", region.id)


def update_rules(actor: User, region: Region, rules: Rules) -> list[str]:
    """Change the rules of a region the actor manages; the door applies them from the next scan."""
    if not manages_region(actor, region.id):
        raise PlaceError("not_allowed")
    begin_write()
    return _save_changes(actor, region, _rule_values(rules, region), "region.rules", region.id)


def create_municipality(actor: User, region_id: int, name: str) -> Municipality:
    """Add a municipality to a region the actor manages; names are unique within a region."""
    begin_write()
    municipality = Municipality(region_id=_managed_region(actor, region_id))
    values = {"name": _name(name, Municipality)}
    _check_name_free(municipality, values["name"])
    return _save_new(actor, municipality, values, "municipality", lambda: region_id)


def update_municipality(actor: User, municipality: Municipality, name: str) -> list[str]:
    """Rename a municipality."""
    _managed_region(actor, municipality.region_id)
    begin_write()
    values = {"name": _name(name, Municipality)}
    _check_name_free(municipality, values["name"])
    return _save_changes(actor, municipality, values, "municipality.update",
                         municipality.region_id)


def create_site(actor: User, region_id: int, facts: SiteFacts) -> IssuingSite:
    """Add an issuing site to a region the actor manages."""
    begin_write()
    site = IssuingSite(region_id=_managed_region(actor, region_id))
    return _save_new(actor, site, _place_values(facts, IssuingSite), "site", lambda: region_id)


def update_site(actor: User, site: IssuingSite, facts: SiteFacts) -> list[str]:
    """Change an issuing site's name or kind."""
    _managed_region(actor, site.region_id)
    begin_write()
    return _save_changes(actor, site, _place_values(facts, IssuingSite), "site.update",
                         site.region_id)


def create_venue(actor: User, region_id: int, facts: VenueFacts) -> Venue:
    """Add a venue to a region the actor manages."""
    begin_write()
    venue = Venue(region_id=_managed_region(actor, region_id))
    return _save_new(actor, venue, _place_values(facts, Venue), "venue", lambda: region_id)


def update_venue(actor: User, venue: Venue, facts: VenueFacts) -> list[str]:
    """Change a venue's name, category, art form or default quota."""
    _managed_region(actor, venue.region_id)
    begin_write()
    return _save_changes(actor, venue, _place_values(facts, Venue), "venue.update",
                         venue.region_id)


def set_active(actor: User, obj: Region | Place, active: bool) -> bool:
    """Deactivate or reactivate; history stays. Returns whether anything changed."""
    region_id = obj.id if isinstance(obj, Region) else obj.region_id
    if isinstance(obj, Region):
        _require_admin(actor)
    else:
        _managed_region(actor, region_id)
    begin_write()
    if obj.active == active:
        db.session.rollback()
        return False
    obj.active = active
    audit.record(actor, f"{_noun(obj)}.{'reactivate' if active else 'deactivate'}", obj,
                 region_id=region_id)
    db.session.commit()
    return True


def _noun(obj: object) -> str:
    return {Region: "region", Municipality: "municipality", IssuingSite: "site",
            Venue: "venue"}[type(obj)]


def _require_admin(actor: User) -> None:
    if actor.role != "admin":
        raise PlaceError("not_allowed")


def _managed_region(actor: User, region_id: int | None) -> int:
    if region_id is None or db.session.get(Region, region_id) is None \
            or not manages_region(actor, region_id):
        raise PlaceError("unknown_region", "region")
    return region_id


def _name(text: str, model: type) -> str:
    name = (text or "").strip()
    if not name:
        raise PlaceError("name_required", "name")
    if len(name) > NAME_LENGTHS[model]:
        raise PlaceError("too_long", "name")
    return name


def _region_values(facts: RegionFacts) -> dict:
    code = (facts.code or "").strip().upper()
    if not CODE_PATTERN.match(code):
        raise PlaceError("bad_code", "code")
    name_fi = (facts.name_fi or "").strip()
    if not name_fi:
        raise PlaceError("name_required", "name_fi")
    names = {"name_fi": name_fi, "name_sv": (facts.name_sv or "").strip() or name_fi,
             "name_en": (facts.name_en or "").strip() or name_fi}
    for field, name in names.items():
        if len(name) > 120:
            raise PlaceError("too_long", field)
    values = {"code": code, **names, "min_age": facts.min_age, "child_max_age": facts.child_max_age}
    _check_values(values)
    return values


def _rule_values(rules: Rules, region: Region) -> dict:
    values = asdict(rules)
    if values["validity_months"] is None:
        values["validity_months"] = region.validity_months or 12
    values["national_network"] = bool(values["national_network"])
    _check_values(values)
    return values


def _place_values(facts: SiteFacts | VenueFacts, model: type) -> dict:
    values = asdict(facts)
    values["name"] = _name(values["name"], model)
    _check_values(values)
    return values


def _check_values(values: dict) -> None:
    """Ranges and vocabularies, checked here too so no caller can store a wrong rule."""
    for field, value in values.items():
        if field in RANGES and value is not None:
            low, high = RANGES[field]
            if not isinstance(value, int) or not low <= value <= high:
                raise PlaceError(f"bad_{field}", field)
        elif field in RANGES and field not in ("period_limit", "default_quota"):
            raise PlaceError(f"bad_{field}", field)
        if field in CHOICES and value not in CHOICES[field]:
            raise PlaceError(f"bad_{field}", field)


def _check_code_free(code: str, region_id: int | None) -> None:
    taken = db.session.scalar(sa.select(Region.id).where(Region.code == code))
    if taken is not None and taken != region_id:
        raise PlaceError("code_taken", "code")


def _check_name_free(municipality: Municipality, name: str) -> None:
    """Names are unique within a region, whatever the case (the database checks exact names)."""
    others = db.session.execute(sa.select(Municipality.id, Municipality.name).where(
        Municipality.region_id == municipality.region_id))
    if any(other_name.casefold() == name.casefold() and other_id != municipality.id
           for other_id, other_name in others):
        raise PlaceError("name_taken", "name")


def _save_new(actor: User, obj, values: dict, noun: str, region_id) -> object:
    for field, value in values.items():
        setattr(obj, field, value)
    db.session.add(obj)
    _flush(obj)
    audit.record(actor, f"{noun}.create", obj, region_id=region_id(), **_codes(values))
    db.session.commit()
    return obj


def _save_changes(actor: User, obj, values: dict, action: str, region_id: int) -> list[str]:
    changed = [field for field, value in values.items() if getattr(obj, field) != value]
    if not changed:
        db.session.rollback()
        return []
    for field in changed:
        setattr(obj, field, values[field])
    _flush(obj)
    audit.record(actor, action, obj, region_id=region_id, changed=changed,
                 **_codes({field: values[field] for field in changed}))
    db.session.commit()
    return changed


def _codes(values: dict) -> dict:
    """The values an audit event may hold: codes, numbers and flags, never names."""
    return {field: value for field, value in values.items()
            if field not in TEXT_FIELDS or field == "code"}


def _flush(obj) -> None:
    """Write now, so that a code or name taken meanwhile is a form error, not a crash."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        if isinstance(obj, Region):
            raise PlaceError("code_taken", "code") from None
        if isinstance(obj, Municipality):
            raise PlaceError("name_taken", "name") from None
        raise PlaceError("not_saved") from None
