"""The door: check and redeem a scanned code. Each call is one transaction (DESIGN §4, §6).

Modelled on pretix's check-in: lock the rows that guard the decision, decide with the one
rule function, store every attempt, and answer a repeated client nonce from what was stored.
"""
from __future__ import annotations

import dataclasses
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app import audit, rules
from app.cardcodes import CodeError, is_mistyped_number, parse_code, raw_code_hash
from app.database import begin_write, lost_database
from app.extensions import db
from app.keys import keyring
from app.models import ANNUL_REASONS, VISIT_SOURCES, Card, Event, ScanAttempt, User, Venue, Visit, utcnow
from app.scan import answers

NO_TICKETS = rules.Allowed(adults=0, children=0, assistants=0)
UNDO_WINDOW = timedelta(minutes=15)
CLOCK_SKEW = timedelta(minutes=10)
OFFLINE_HORIZON = timedelta(days=14)
# Request errors that another try may not meet (the account may get the venue back, the
# server may be fixed): a synced record refused with any other error is refused for good.
TRANSIENT_ERRORS = frozenset({"venue_not_allowed", "event_cancelled", "server_error"})
log = logging.getLogger(__name__)

# The visits that use up a card's limits and an event's places: ok ones, but not an offline
# record the rules refused (a conflict) until a coordinator keeps it; annulled ones never.
COUNTED = sa.and_(Visit.status == "ok",
                  sa.or_(Visit.conflict.is_(None), Visit.conflict_resolution == "keep"))


class DoorError(Exception):
    """The request itself is wrong (not a verdict on a card): a code and an HTTP status."""

    def __init__(self, code: str, status: int = 400) -> None:
        super().__init__(code)
        self.code = code
        self.status = status

    @property
    def final(self) -> bool:
        """Whether the same record sent again would be refused the same way."""
        return self.code not in TRANSIENT_ERRORS


@dataclass(frozen=True)
class DoorRequest:
    """What the scanner sends: the raw code, where, and for redeem the tickets and nonce."""

    code: str
    venue_id: int
    event_id: int | None = None
    tickets: rules.Tickets = field(default_factory=rules.Tickets)
    nonce: str | None = None
    occurred_at: datetime | None = None
    source: str = "manual"
    verified: bool = True  # False: a number typed on an offline device, never checked there
    offline: bool = False  # made on a device without the network (set by redeem)


@dataclass(frozen=True)
class EarlierVisit:
    """The visit that makes this one a repeat: when, and where as the door may be told."""

    occurred_at: datetime
    here: bool  # at the venue asked about
    this_event: bool  # for the event asked about
    venue_name: str | None  # the venue's name when it is in the same region, else None


@dataclass(frozen=True)
class DoorResult:
    """The answer at the door."""

    reason: str
    card: Card | None = None
    allowed: rules.Allowed = NO_TICKETS
    uses_in_period: int = 0
    replaced_by: str | None = None
    visit_id: int | None = None
    conflict: str | None = None
    places_left: int | None = None
    earlier_visit: EarlierVisit | None = None
    answer: dict | None = None  # a redeem's answer as first given (app/scan/answers.py)

    @property
    def ok(self) -> bool:
        """Whether the card is good for the request."""
        return self.reason == "ok"


def card_state(card: Card) -> rules.CardState:
    """The rule function's view of a card."""
    return rules.CardState(
        number=card.number, kind=card.kind, status=card.status,
        region=card.region.rules(), valid_until=card.valid_until,
        children=card.children,
        replaced_by=card.replaced_by.number if card.replaced_by is not None else None)


def may_scan(user: User, venue: Venue) -> bool:
    """Whether this account may check and record cards at this venue."""
    if user.role == "admin":
        return True
    if user.role == "coordinator":
        return venue.region_id == user.region_id
    if user.role == "boxoffice":
        return any(v.id == venue.id for v in user.venues)
    return False


def check(user: User, req: DoorRequest, now: datetime | None = None) -> DoorResult:
    """Decide whether the code admits the requested tickets; records the attempt only."""
    now = now or utcnow()
    begin_write()
    venue, event = _load_place(user, req, lock=False)
    result = _decide(req, venue, event, now, lock=False)
    _store_attempt("check", user, req, result, None)
    db.session.commit()
    return result


def redeem(user: User, req: DoorRequest, now: datetime | None = None,
           offline: bool = False) -> DoorResult:
    """Decide and, when ok, record the visit; a repeated nonce gets the first answer again.

    `offline` is for records a device made without the network: the holder was already let
    in, so a known card is recorded even when the rules now say no, flagged as a conflict
    for the coordinator (it counts towards no limit until kept), and the rules judge it at
    the moment it happened. A card the venue could never accept (rules.NEVER_ACCEPTED) is
    refused with that reason and not recorded.
    """
    now = now or utcnow()
    req = _canonical(req, now, offline)
    begin_write()
    earlier = _attempt_for_nonce(user, req.nonce)
    if earlier is not None:
        db.session.commit()
        return earlier
    venue, event = _load_place(user, req, lock=True, offline=offline)
    result = _decide(req, venue, event, req.occurred_at, lock=True, offline=offline)
    conflict = None if result.ok else result.reason
    record = result.ok or (offline and result.card is not None
                           and result.reason not in rules.NEVER_ACCEPTED)
    session = db.session()
    # The answer is built from the card and visit just written under lock: keep them loaded
    # rather than read them back (three queries and a transaction per redeem).
    session.expire_on_commit = False
    try:
        visit = _record_visit(user, req, result, venue, event, now, conflict) if record else None
        answered = _store_attempt("redeem", user, req, result, visit)
        session.commit()
    except IntegrityError:
        # Two requests with one nonce raced past the lookup: the visit's flush or the commit
        # met the other's row, which is committed by now. The first one's answer stands.
        db.session.rollback()
        earlier = _attempt_for_nonce(user, req.nonce)
        if earlier is None:
            raise
        db.session.commit()
        return earlier
    finally:
        session.expire_on_commit = True
    return answered


def redeem_offline(user: User, req: DoorRequest, now: datetime | None = None) -> DoorResult:
    """One synced record in a transaction of its own; its failure is its own, not the batch's.

    A request error raises DoorError as redeem does; one that is final is also stored as a
    refused offline attempt (for the coordinator, and so that a retry is answered the same).
    A database error other than an unreachable database is rolled back and raised as the
    transient `server_error`, so the other records of the batch go on.
    """
    try:
        try:
            return redeem(user, req, now, offline=True)
        except DoorError as exc:
            db.session.rollback()
            if exc.final:
                _store_refusal(user, req, exc)  # a failure here is the record's too (below)
            raise
    except SQLAlchemyError as exc:
        if lost_database(exc) is not None:
            raise
        db.session.rollback()
        log.exception("a synced record could not be stored")
        raise DoorError("server_error", 500) from exc


def _canonical(req: DoorRequest, now: datetime, offline: bool) -> DoorRequest:
    """The request as it is judged and stored: a canonical nonce, and the moment that counts.

    Online, the server's clock is the time of the visit (a phone's clock may be a day off,
    which would hide the visit from "already used today"); offline records keep the device's
    time, since that is when the holder was let in.
    """
    _validate_redeem(req, now)
    nonce = str(uuid.UUID(req.nonce))  # one spelling per id: case and urn: forms fold together
    moment = req.occurred_at if offline and req.occurred_at is not None else now
    return dataclasses.replace(req, nonce=nonce, occurred_at=moment, offline=offline)


def _validate_redeem(req: DoorRequest, now: datetime) -> None:
    try:
        uuid.UUID(req.nonce or "")
    except (ValueError, TypeError, AttributeError):
        raise DoorError("invalid_nonce") from None
    if req.source not in VISIT_SOURCES:
        raise DoorError("invalid_source")
    at = req.occurred_at
    # A device clock may drift, but a record from the future or from long ago is not believable.
    if at is not None and (at.tzinfo is None or not now - OFFLINE_HORIZON <= at <= now + CLOCK_SKEW):
        raise DoorError("invalid_occurred_at")


def _load_place(user: User, req: DoorRequest, lock: bool,
                offline: bool = False) -> tuple[Venue, Event | None]:
    venue = db.session.get(Venue, req.venue_id)
    if venue is None:
        raise DoorError("unknown_venue", 404)
    if not may_scan(user, venue):
        raise DoorError("venue_not_allowed", 403)
    if req.event_id is None:
        return venue, None
    query = sa.select(Event).where(Event.id == req.event_id)
    event = db.session.scalar(query.with_for_update() if lock else query)
    if event is None or event.venue_id != venue.id:
        raise DoorError("unknown_event", 404)
    if not event.active and not offline:  # cancelled; an offline record already happened
        raise DoorError("event_cancelled", 409)
    return venue, event


def _decide(req: DoorRequest, venue: Venue, event: Event | None, now: datetime,
            lock: bool, offline: bool = False) -> DoorResult:
    try:
        rules.check_tickets(req.tickets)
    except rules.InvalidTickets:
        raise DoorError("invalid_tickets") from None
    # A slip of the finger is for the seller to mend, not a verdict; a synced record already
    # happened, so there it is judged like any code that is not a card.
    if not offline and is_mistyped_number(req.code):
        raise DoorError("typing_error", 422)
    try:
        parsed = parse_code(req.code, keyring().public_keys())
    except CodeError as exc:
        return DoorResult(exc.reason)
    query = sa.select(Card).where(Card.number == parsed.number)
    card = db.session.scalar(query.with_for_update() if lock else query)
    if card is None:
        return DoorResult("unknown_card")
    state = card_state(card)
    place = rules.VenueState(id=venue.id, active=venue.active, region=venue.region.rules())
    try:
        verdict = rules.decide(state, place, _event_state(event), req.tickets,
                               _history(card, event, state.region, now), now)
    except rules.InvalidTickets:
        raise DoorError("invalid_tickets") from None
    never = rules.never_accepted(state, place) if offline else None
    if never is not None:  # whatever refusal came first, this one decides an offline record
        verdict = dataclasses.replace(verdict, reason=never, replaced_by=None, earlier_visit=None)
    return DoorResult(verdict.reason, card, verdict.allowed, verdict.uses_in_period,
                      verdict.replaced_by, places_left=verdict.places_left,
                      earlier_visit=_earlier_visit(verdict.earlier_visit, venue, event))


def _earlier_visit(prior: rules.PriorVisit | None, venue: Venue,
                   event: Event | None) -> EarlierVisit | None:
    if prior is None:
        return None
    there = venue if prior.venue_id == venue.id else db.session.get(Venue, prior.venue_id)
    # Another region's venue is not this door's business: only "another venue".
    name = there.name if there is not None and there.region_id == venue.region_id else None
    return EarlierVisit(occurred_at=prior.occurred_at, here=prior.venue_id == venue.id,
                        this_event=event is not None and prior.event_id == event.id,
                        venue_name=name)


def _event_state(event: Event | None) -> rules.EventState | None:
    if event is None:
        return None
    taken = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Visit.adults + Visit.children + Visit.assistants), 0))
        .where(Visit.event_id == event.id, COUNTED))
    return rules.EventState(id=event.id, kind=event.kind, quota=event.quota,
                            persons_taken=int(taken))


def _history(card: Card, event: Event | None, region: rules.RegionRules,
             now: datetime) -> list[rules.PriorVisit]:
    since = rules.history_since(region, now)
    window = Visit.occurred_at >= since
    if event is not None:
        window = sa.or_(window, Visit.event_id == event.id)
    rows = db.session.execute(
        sa.select(Visit.venue_id, Visit.event_id, Visit.occurred_at)
        .where(Visit.card_id == card.id, COUNTED, window))
    return [rules.PriorVisit(venue_id=v, event_id=e, occurred_at=at) for v, e, at in rows]


def _record_visit(user: User, req: DoorRequest, result: DoorResult, venue: Venue,
                  event: Event | None, now: datetime, conflict: str | None) -> Visit:
    tickets = req.tickets
    visit = Visit(card_id=result.card.id, venue_id=venue.id,
                  event_id=event.id if event else None, user_id=user.id,
                  adults=tickets.adults, children=tickets.children,
                  assistants=tickets.assistants, category=venue.category,
                  occurred_at=req.occurred_at, recorded_at=now, nonce=req.nonce,
                  source=req.source, status="ok", conflict=conflict, verified=req.verified)
    db.session.add(visit)
    db.session.flush()
    return visit


def _store_attempt(action: str, user: User, req: DoorRequest, result: DoorResult,
                   visit: Visit | None) -> DoorResult:
    """Store the attempt; a redeem's with its whole answer, which is returned with it."""
    number = result.card.number if result.card is not None else None
    answered = dataclasses.replace(result, visit_id=visit.id if visit else None,
                                   conflict=visit.conflict if visit else None)
    redeeming = action == "redeem"
    if redeeming:
        answered = dataclasses.replace(answered, answer=answers.redeem_json(answered))
    db.session.add(ScanAttempt(
        action=action, card_number=number,
        code_hash=None if number else raw_code_hash(req.code),
        venue_id=req.venue_id, event_id=req.event_id, user_id=user.id,
        reason=result.reason, nonce=req.nonce if redeeming else None,
        visit_id=visit.id if visit else None, offline=req.offline, answer=answered.answer))
    return answered


def _store_refusal(user: User, req: DoorRequest, exc: DoorError) -> None:
    """Keep a synced record refused for good, when it names a nonce and a venue of the account."""
    try:
        nonce = str(uuid.UUID(req.nonce or ""))
    except (ValueError, TypeError, AttributeError):
        return  # nothing to know it again by
    venue = db.session.get(Venue, req.venue_id)
    if venue is None or not may_scan(user, venue):
        return
    event = db.session.get(Event, req.event_id) if req.event_id is not None else None
    begin_write()
    if db.session.scalar(sa.select(ScanAttempt.id).where(ScanAttempt.nonce == nonce)):
        db.session.commit()  # kept already (this is a retry, or the stored refusal replayed)
        return
    number = _card_number(req.code)
    db.session.add(ScanAttempt(
        action="redeem", card_number=number, code_hash=None if number else raw_code_hash(req.code),
        venue_id=venue.id, event_id=event.id if event and event.venue_id == venue.id else None,
        user_id=user.id, reason=exc.code, nonce=nonce, offline=True,
        answer={"error": {"code": exc.code, "status": exc.status}}))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # the same record, synced at the same moment, was kept first


def _card_number(code: str) -> str | None:
    """The number of the register's card the code names, or None."""
    try:
        number = parse_code(code, keyring().public_keys()).number
    except CodeError:
        return None
    return db.session.scalar(sa.select(Card.number).where(Card.number == number))


def _attempt_for_nonce(user: User, nonce: str | None) -> DoorResult | None:
    attempt = db.session.scalar(sa.select(ScanAttempt).where(ScanAttempt.nonce == nonce))
    if attempt is None:
        return None
    if attempt.user_id != user.id:
        raise DoorError("nonce_reused", 409)
    answer = attempt.answer
    if answer is not None and "error" in answer:  # refused for good at sync: the same again
        raise DoorError(answer["error"]["code"], answer["error"]["status"])
    card = None
    if attempt.card_number:
        card = db.session.scalar(sa.select(Card).where(Card.number == attempt.card_number))
    if answer is not None:
        return _replayed(attempt.reason, card, answer)
    # Stored before answers were kept: what the attempt itself says.
    visit = db.session.get(Visit, attempt.visit_id) if attempt.visit_id else None
    return DoorResult(attempt.reason, card, visit_id=attempt.visit_id,
                      conflict=visit.conflict if visit else None)


def _replayed(reason: str, card: Card | None, answer: dict) -> DoorResult:
    """The first answer's result again, carrying the answer itself."""
    earlier = answer.get("earlier_visit")
    replaced_by = answer.get("replaced_by")
    return DoorResult(
        reason, card, rules.Allowed(**answer["allowed"]), answer["uses_in_period"],
        replaced_by.replace("-", "") if replaced_by else None, visit_id=answer["visit_id"],
        conflict=answer["conflict"], places_left=answer["places_left"],
        earlier_visit=EarlierVisit(datetime.fromisoformat(earlier["occurred_at"]), earlier["here"],
                                   earlier["this_event"], earlier["venue_name"])
        if earlier else None, answer=answer)


def annul(user: User, visit_id: int, reason: str, now: datetime | None = None) -> Visit:
    """Undo one's own record within the undo window; the visit stays, marked annulled."""
    now = now or utcnow()
    if reason not in ANNUL_REASONS:
        raise DoorError("invalid_reason")
    begin_write()
    visit = db.session.scalar(sa.select(Visit).where(Visit.id == visit_id).with_for_update())
    if visit is None or not may_scan(user, visit.venue):
        raise DoorError("unknown_visit", 404)
    if visit.user_id != user.id:
        raise DoorError("not_your_record", 403)
    if visit.status == "annulled":
        raise DoorError("already_annulled", 409)
    if now - visit.recorded_at > UNDO_WINDOW:
        raise DoorError("too_late", 409)
    visit.status, visit.annulled_at, visit.annulled_by_id = "annulled", now, user.id
    visit.annul_reason = reason
    audit.record(user, "visit.annul", visit, region_id=visit.venue.region_id, reason=reason)
    db.session.commit()
    return visit

