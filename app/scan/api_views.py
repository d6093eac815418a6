"""The scanner's JSON API (DESIGN §7): read the request, call the door service, shape JSON."""
from __future__ import annotations

from datetime import datetime

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from app import rules
from app.auth import public, roles
from app.extensions import limiter
from app.input_guard import NUL, nul_message
from app.models import utcnow
from app.scan import api, bundle, openapi
from app.scan.answers import verdict_json
from app.scan.service import DoorError, DoorRequest, annul, check, redeem, redeem_offline

SCANNING = ("boxoffice", "coordinator", "admin")
MAX_SYNC = 500


def error_messages() -> dict[str, str]:
    """What each request error code says to the person at the door."""
    return {
        "invalid_json": _("The request must be a JSON object."),
        "invalid_request": _("A field of the request is missing or wrong."),
        "invalid_character": nul_message(),
        "unknown_venue": _("No such venue."),
        "venue_not_allowed": _("This account may not scan at this venue."),
        "unknown_event": _("No such event at this venue."),
        "event_cancelled": _("This event has been cancelled."),
        "invalid_tickets": _("The number of tickets is not possible."),
        "invalid_nonce": _("The record has no valid identifier."),
        "invalid_source": _("Unknown way of reading the card."),
        "invalid_occurred_at": _("The time of the record is not believable."),
        "nonce_reused": _("This record identifier was used by another account."),
        "unknown_visit": _("No such record."),
        "not_your_record": _("Only the person who recorded it can undo it."),
        "already_annulled": _("The record has already been undone."),
        "too_late": _("A record can be undone only within 15 minutes."),
        "invalid_reason": _("Unknown reason."),
        "too_many_visits": _("Send at most 500 records at a time."),
        "typing_error": _("Check the number: it is not a card number as typed."),
        "server_error": _("Something went wrong on our side. Please try again."),
    }


@api.errorhandler(DoorError)
def door_error(exc: DoorError):
    """A request error as `{"error": {"code", "message"}}` with its HTTP status."""
    message = error_messages().get(exc.code, _("The request could not be understood."))
    return jsonify(error={"code": exc.code, "message": message}), exc.status


def body() -> dict:
    """The JSON object sent, or a 400."""
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested deeper than Python's stack: no body of ours looks so
        data = None
    if not isinstance(data, dict):
        raise DoorError("invalid_json")
    return data


def whole(data: dict, name: str, default: int | None = None, required: bool = True) -> int | None:
    """An integer field (booleans and strings are refused)."""
    value = data.get(name, default)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not -2**31 < value < 2**31:
        raise DoorError("invalid_request")
    return value


def text(data: dict, name: str, limit: int = 4096, opaque: bool = False) -> str:
    """A string field of bounded length, without NUL (which PostgreSQL cannot hold) unless it
    is `opaque`: a scanned code is hashed, never stored, and unreadable is an unknown card."""
    value = data.get(name)
    if not isinstance(value, str) or len(value) > limit:
        raise DoorError("invalid_request")
    if not opaque and NUL in value:
        raise DoorError("invalid_character")
    return value


def moment(data: dict, name: str) -> datetime | None:
    """An ISO 8601 time with an offset, or None when absent."""
    value = data.get(name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(text(data, name, 64).replace("Z", "+00:00"))
    except ValueError:
        raise DoorError("invalid_occurred_at") from None
    if parsed.tzinfo is None:
        raise DoorError("invalid_occurred_at")
    return parsed


def door_request(data: dict, redeeming: bool) -> DoorRequest:
    """Read a check or redeem body into the service's request."""
    tickets = rules.Tickets(adults=whole(data, "adults", 1), children=whole(data, "children", 0),
                            assistants=whole(data, "assistants", 0))
    verified = data.get("verified", True)
    if not isinstance(verified, bool):
        raise DoorError("invalid_request")
    return DoorRequest(
        code=text(data, "code", opaque=True), venue_id=whole(data, "venue_id"),
        event_id=whole(data, "event_id", required=False), tickets=tickets,
        nonce=text(data, "nonce", 64) if redeeming else None,
        occurred_at=moment(data, "occurred_at") if redeeming else None,
        source=text(data, "source", 16) if redeeming else "manual", verified=verified)


def rate_limit() -> str:
    """Requests per account per minute on the scan API (configurable)."""
    return current_app.config["SCAN_RATE_LIMIT"]


def account_key() -> str:
    """Rate limits count per signed-in account."""
    return f"user:{current_user.id}" if current_user.is_authenticated else \
        f"addr:{request.remote_addr}"


scan_limit = limiter.limit(rate_limit, key_func=account_key)


@api.post("/scan/check")
@roles(*SCANNING)
@scan_limit
def scan_check():
    """Check a scanned or typed code for a venue (and event); records the attempt."""
    return jsonify(verdict_json(check(current_user, door_request(body(), redeeming=False))))


@api.post("/scan/redeem")
@roles(*SCANNING)
@scan_limit
def scan_redeem():
    """Check and record a visit; the same nonce again gives the same answer."""
    return jsonify(redeem(current_user, door_request(body(), redeeming=True)).answer)


@api.post("/scan/annul")
@roles(*SCANNING)
@scan_limit
def scan_annul():
    """Undo one's own record within 15 minutes."""
    data = body()
    annul(current_user, whole(data, "visit_id"), text(data, "reason", 32))
    return jsonify(ok=True)


@api.post("/scan/sync")
@roles(*SCANNING)
@scan_limit
def scan_sync():
    """Take records made offline; each is decided and stored once (by nonce)."""
    items = body().get("visits")
    if not isinstance(items, list):
        raise DoorError("invalid_request")
    if len(items) > MAX_SYNC:
        raise DoorError("too_many_visits", 413)
    return jsonify(results=[sync_one(item) for item in items])


def sync_one(item: object) -> dict:
    """One offline record's answer; a bad item answers with its error, the others go on.

    `final`: the server recorded the record or refused it for good, so the device drops it;
    false only for a failure another try may mend.
    """
    nonce = item.get("nonce") if isinstance(item, dict) else None
    try:
        if not isinstance(item, dict):
            raise DoorError("invalid_request")
        result = redeem_offline(current_user, door_request(item, redeeming=True))
    except DoorError as exc:
        message = error_messages().get(exc.code, exc.code)
        return {"nonce": nonce, "verdict": "error", "final": exc.final,
                "error": {"code": exc.code, "message": message}}
    return {**result.answer, "nonce": nonce, "final": True}


@api.get("/scan/venues")
@roles(*SCANNING)
@scan_limit
def scan_venues():
    """The venues this account may scan for, with today's events."""
    return jsonify(venues=bundle.venues_with_events(current_user, utcnow()))


def query_id(name: str) -> int | None:
    """A row id from the query string: None when absent, a 400 when not a possible id."""
    value = request.args.get(name)
    if value is None:
        return None
    # Digits only, and few of them: int() of thousands of digits raises, a huge id overflows SQL.
    if not (value.isascii() and value.isdigit() and len(value) <= 10 and 0 < int(value) < 2**31):
        raise DoorError("invalid_request")
    return int(value)


def requested_venue():
    """The venue named by ?venue_id=, if this account may scan there."""
    venue_id = query_id("venue_id")
    venue = bundle.venue_for(current_user, venue_id)
    if venue is None:
        raise DoorError("unknown_venue" if venue_id is None else "venue_not_allowed",
                        400 if venue_id is None else 403)
    return venue


@api.get("/scan/today")
@roles(*SCANNING)
@scan_limit
def scan_today():
    """Today's records at the venue (optionally for one event)."""
    venue = requested_venue()
    event_id = query_id("event_id")
    return jsonify(visits=bundle.todays_list(current_user, venue, event_id, utcnow()))


@api.get("/scan/offline-bundle")
@roles(*SCANNING)
@scan_limit
def scan_offline_bundle():
    """Keys, rules, revocations and today's data for deciding without the network."""
    return jsonify(bundle.offline_bundle(current_user, requested_venue(), utcnow()))


@api.get("/openapi.json")
@public
def openapi_document():
    """The OpenAPI document of this API."""
    return jsonify(openapi.document())
