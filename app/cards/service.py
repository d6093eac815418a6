"""Issuing transactions: each public function that changes cards owns one transaction."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from app import audit, rules
from app.cardcodes import CardPayload, new_number, normalise_number, sign_payload
from app.database import begin_write
from app.digits import ascii_digits
from app.extensions import db
from app.keys import keyring
from app.models import (
    CARD_KINDS,
    GENDERS,
    LIFE_SITUATIONS,
    AuditEvent,
    Card,
    Municipality,
    Region,
    User,
    Visit,
    utcnow,
)

DEACTIVATION_REASONS = ("holder_request", "no_longer_eligible", "misuse", "other")
REPLACEMENT_REASONS = ("lost", "damaged")
MAX_BATCH = 500


class CardError(Exception):
    """A card action that cannot be done: a stable code and the form field it concerns."""

    def __init__(self, code: str, field: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.field = field


@dataclass(frozen=True)
class Registration:
    """What the issuer fills in. Nothing here names the holder."""

    municipality_id: int
    postcode: str
    birth_year: int
    children: int
    kind: str = "personal"
    gender: str | None = None
    life_situation: str | None = None
    preprinted_number: str | None = None


def unused_number() -> str:
    """A fresh random card number that no card has yet."""
    while True:
        number = new_number()
        if db.session.scalar(sa.select(Card.id).where(Card.number == number)) is None:
            return number


def hash_link_token(token: str) -> str:
    """The stored form of a holder link token: only its hash is kept."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_link_token(card: Card) -> str:
    """Give the card a new private holder link (the old one stops working); returns the token."""
    token = secrets.token_urlsafe(24)  # 192 random bits
    card.link_token_hash = hash_link_token(token)
    return token


def qr_payload(card: Card) -> str:
    """The signed QR payload for the card's current fields, with the current key."""
    return sign_payload(CardPayload(number=card.number, region_id=card.region_id,
                                    valid_until=card.valid_until, children=card.children,
                                    kind=card.kind), keyring())


def local_today() -> date:
    """Today in Finland."""
    return rules.local_date(utcnow())


def register(issuer: User, form: Registration, today: date | None = None) -> tuple[Card, str]:
    """Register a new card, or a pre-printed blank one, for the issuer's site; returns the link token."""
    today = today or local_today()
    begin_write()
    site = issuer.issuing_site
    region = site.region
    _check_registration(form, region, today)
    card = _blank_card(form.preprinted_number, region) if form.preprinted_number else \
        Card(number=unused_number(), region=region)
    db.session.add(card)
    card.kind, card.status, card.status_reason = form.kind, "active", None
    card.municipality_id, card.postcode = form.municipality_id, form.postcode
    card.birth_year, card.children = form.birth_year, form.children
    card.gender, card.life_situation = form.gender or None, form.life_situation or None
    card.issuing_site, card.issued_by_id, card.issued_at = site, issuer.id, utcnow()
    # Unchanged since issue until a later change: the offline bundle carries the changed ones.
    card.changed_at = card.issued_at
    card.valid_until = rules.valid_until_for(today, region.rules())
    token = new_link_token(card)
    db.session.flush()
    audit.record(issuer, "card.register", card, region_id=region.id,
                 preprinted=bool(form.preprinted_number))
    db.session.commit()
    return card, token


def _check_registration(form: Registration, region: Region, today: date) -> None:
    # The form shows every error at once; this is the last guard against a crafted request.
    municipality = db.session.get(Municipality, form.municipality_id)
    if municipality is None or municipality.region_id != region.id or not municipality.active:
        raise CardError("unknown_municipality", "municipality")
    if len(form.postcode) != 5 or not ascii_digits(form.postcode):
        raise CardError("bad_postcode", "postcode")
    if not rules.EARLIEST_BIRTH_YEAR <= form.birth_year <= rules.latest_birth_year(
            today, region.rules()):
        raise CardError("bad_birth_year", "birth_year")
    if not 0 <= form.children <= rules.MAX_CARD_CHILDREN:
        raise CardError("bad_children", "children")
    if form.kind not in CARD_KINDS:
        raise CardError("bad_kind", "kind")
    if form.gender and form.gender not in GENDERS:
        raise CardError("bad_gender", "gender")
    if form.life_situation and form.life_situation not in LIFE_SITUATIONS:
        raise CardError("bad_life_situation", "life_situation")


def _blank_card(typed: str, region: Region) -> Card:
    number = normalise_number(typed)
    if number is None:
        raise CardError("bad_number", "preprinted_number")
    card = db.session.scalar(sa.select(Card).where(Card.number == number).with_for_update())
    if card is None:
        raise CardError("unknown_number", "preprinted_number")
    if card.status != "unissued":
        raise CardError("already_registered", "preprinted_number")
    if card.region_id != region.id:
        raise CardError("other_region", "preprinted_number")
    return card


def _locked(card: Card) -> Card:
    """The card re-read under a lock, so two clicks at once cannot both act on its old state."""
    begin_write()
    return db.session.scalar(sa.select(Card).where(Card.id == card.id).with_for_update()
                             .execution_options(populate_existing=True))


def renew(issuer: User, card: Card, today: date | None = None) -> Card:
    """Extend an active card's validity per its region's rules (a new QR payload follows)."""
    card = _locked(card)
    if card.status != "active":
        raise CardError("not_active")
    card.valid_until = rules.valid_until_for(today or local_today(), card.region.rules())
    audit.record(issuer, "card.renew", card, region_id=card.region_id,
                 valid_until=card.valid_until.isoformat())
    db.session.commit()
    return card


def replace(issuer: User, card: Card, reason: str) -> tuple[Card, str]:
    """Retire a lost or damaged card and issue a new number with the same facts and validity."""
    if reason not in REPLACEMENT_REASONS:
        raise CardError("bad_reason", "reason")
    card = _locked(card)
    if card.status != "active":
        raise CardError("not_active")
    new = Card(number=unused_number(), region_id=card.region_id, status="active")
    for field in ("kind", "municipality_id", "postcode", "birth_year", "children", "gender",
                  "life_situation", "valid_until"):
        setattr(new, field, getattr(card, field))
    new.issuing_site_id, new.issued_by_id, new.issued_at = issuer.issuing_site_id, issuer.id, utcnow()
    new.changed_at = new.issued_at
    db.session.add(new)
    token = new_link_token(new)
    card.status = "lost" if reason == "lost" else "replaced"
    card.status_reason, card.replaced_by, card.link_token_hash = reason, new, None
    db.session.flush()
    audit.record(issuer, "card.replace", card, region_id=card.region_id, reason=reason,
                 new_card_id=new.id)
    db.session.commit()
    return new, token


def deactivate(issuer: User, card: Card, reason: str) -> Card:
    """Deactivate a card for one of the fixed reasons; the holder's link then says so."""
    if reason not in DEACTIVATION_REASONS:
        raise CardError("bad_reason", "reason")
    card = _locked(card)
    if card.status == "deactivated":
        raise CardError("already_deactivated")
    if card.status != "active":
        raise CardError("not_active")
    card.status, card.status_reason = "deactivated", reason
    audit.record(issuer, "card.deactivate", card, region_id=card.region_id, reason=reason)
    db.session.commit()
    return card


def last_deactivation(card: Card) -> AuditEvent | None:
    """The audit entry of the card's latest deactivation, if it was ever deactivated."""
    return db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.object_type == Card.__tablename__,
                                    AuditEvent.object_id == card.id,
                                    AuditEvent.action == "card.deactivate")
        .order_by(AuditEvent.id.desc()).limit(1))


def undo_deadline(issuer: User, card: Card, now: datetime | None = None) -> datetime | None:
    """Until when this issuer may take back the card's deactivation (their own, recent), or None."""
    if card.status != "deactivated":
        return None
    done = last_deactivation(card)
    if done is None or done.actor_id != issuer.id \
            or not rules.deactivation_undoable(done.at, now or utcnow()):
        return None
    return done.at + timedelta(minutes=rules.DEACTIVATION_UNDO_MINUTES)


def undo_deactivation(issuer: User, card: Card, now: datetime | None = None) -> Card:
    """Take back one's own deactivation within the undo window: the card is active again."""
    card = _locked(card)
    if card.status != "deactivated":
        raise CardError("not_deactivated")
    if undo_deadline(issuer, card, now) is None:
        raise CardError("undo_too_late")
    reason = card.status_reason
    card.status, card.status_reason = "active", None
    audit.record(issuer, "card.undo_deactivate", card, region_id=card.region_id, reason=reason)
    db.session.commit()
    return card


def standing(card: Card, today: date | None = None) -> str:
    """valid, expired, not_issued, deactivated, lost or replaced: the door's own rule."""
    return rules.card_standing(card.status, card.valid_until, today or local_today()) or "valid"


def replace_link(issuer: User, card: Card) -> str:
    """Give the holder a new digital-card link; the old one stops working at once."""
    card = _locked(card)
    if card.status != "active":
        raise CardError("not_active")
    token = new_link_token(card)
    audit.record(issuer, "card.new_link", card, region_id=card.region_id)
    db.session.commit()
    return token


def create_blank_batch(coordinator: User, count: int) -> list[Card]:
    """Create `count` numbered blank (unissued) cards of the coordinator's region for printing."""
    if not 1 <= count <= MAX_BATCH:
        raise CardError("bad_count", "count")
    cards = [Card(number=unused_number(), region_id=coordinator.region_id, status="unissued")
             for _ in range(count)]
    db.session.add_all(cards)
    db.session.flush()
    audit.record(coordinator, "card.blank_batch", cards[0], region_id=coordinator.region_id,
                 count=count, last_card_id=cards[-1].id)
    db.session.commit()
    return cards


def uses(card: Card, limit: int = 100) -> list[Visit]:
    """The card's recorded uses, newest first (dates and venues are all the issuer sees)."""
    return list(db.session.scalars(
        sa.select(Visit).where(Visit.card_id == card.id, Visit.status == "ok")
        .order_by(Visit.occurred_at.desc()).limit(limit)))


def site_cards(issuer: User, limit: int = 20) -> list[Card]:
    """The site's most recently registered cards."""
    return list(db.session.scalars(
        sa.select(Card).where(Card.issuing_site_id == issuer.issuing_site_id)
        .order_by(Card.issued_at.desc(), Card.id.desc()).limit(limit)))


def find_card(number_text: str) -> Card | None:
    """The card a typed or scanned number names, whatever the case, spaces and look-alikes."""
    number = normalise_number(number_text or "")
    if number is None:
        return None
    return db.session.scalar(sa.select(Card).where(Card.number == number))

