"""The OpenAPI 3.1 document of the scanner's JSON API (served at /api/openapi.json)."""
from __future__ import annotations

from app.models import ANNUL_REASONS, VISIT_SOURCES
from app.rules import MAX_TICKET_CHILDREN, REASONS


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _answer(description: str, schema: dict) -> dict:
    return {"description": description, **_json(schema)}


ERRORS = {
    "400": _answer("The request is malformed (reason code in error.code)", _ref("Error")),
    "401": _answer("Not signed in", _ref("Error")),
    "403": _answer("Not allowed for this account or venue", _ref("Error")),
    "413": _answer("The body is over 2 MB (too_large)", _ref("Error")),
    "429": _answer("Too many requests from this account", _ref("Error")),
    "503": _answer("The database cannot be reached right now (database_unavailable); "
                   "retry after Retry-After seconds", _ref("Error")),
}

TYPING_ERROR = _answer(
    "typing_error: the code reads as a card number typed wrong (at most 12 of the number's "
    "symbols, after the usual folding of case, spaces, hyphens and look-alikes, that are not a "
    "valid number: a failing check symbol, one too few or too many). Not a verdict and not "
    "stored: the scanner asks to check "
    "the number. A well-formed number no card has is a verdict, unknown_card. In /sync, where "
    "the visit already happened, such a number is refused as unknown_card.", _ref("Error"))

INT = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}
NONCE_ECHO = {"description": "The item's nonce as sent"}
FINAL = ("true: the record was recorded or refused for good (the same again gets the same "
         "answer), so the device drops it from its queue; false: a failure another try may mend "
         "(venue_not_allowed, server_error), so the device keeps it")
COUNT = {"type": "integer", "minimum": 0, "maximum": 100}
TICKETS = {"adults": {"type": "integer", "minimum": 0, "maximum": 1},
           "children": {"type": "integer", "minimum": 0, "maximum": MAX_TICKET_CHILDREN,
                        "description": "More than any card holds is invalid_tickets"},
           "assistants": {"type": "integer", "minimum": 0, "maximum": 1}}

SCHEMAS = {
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
    "CheckRequest": {"type": "object", "required": ["code", "venue_id"], "properties": {
        "code": {"type": "string", "maxLength": 4096,
                 "description": "What was scanned or typed: a QR payload or a card number"},
        "venue_id": INT, "event_id": {"anyOf": [INT, {"type": "null"}]}, **TICKETS}},
    "RedeemRequest": {"allOf": [_ref("CheckRequest"), {
        "type": "object", "required": ["nonce", "occurred_at", "source"], "properties": {
            "nonce": {"type": "string", "format": "uuid"},
            "occurred_at": {"type": "string", "format": "date-time"},
            "source": {"type": "string", "enum": list(VISIT_SOURCES)},
            "verified": {"type": "boolean", "default": True}}}]},
    "Card": {"type": ["object", "null"], "properties": {
        "number": {"type": "string"}, "region": {"type": "string", "description": "Region code"},
        "region_id": INT,
        "region_names": {"type": "object", "description": "The region's name in fi, sv and en",
                         "properties": {lang: {"type": "string"} for lang in ("fi", "sv", "en")}},
        "period": {"type": "string", "enum": ["month", "year"],
                   "description": "The period uses_in_period counts in (the region's)"},
        "kind": {"type": "string", "enum": ["personal", "community"]}, "children": COUNT,
        "valid_until": {"type": ["string", "null"], "format": "date"}}},
    "Verdict": {"type": "object", "required": ["verdict", "reason", "allowed"], "properties": {
        "verdict": {"type": "string", "enum": ["ok", "refused"]},
        "reason": {"type": "string", "enum": list(REASONS)},
        "card": _ref("Card"), "replaced_by": {"type": ["string", "null"]},
        "allowed": {"type": "object", "description": "The most tickets of each kind, capped by "
                    "places_left; persons is the most persons in all",
                    "properties": {**TICKETS, "persons": {"type": "integer", "minimum": 0}}},
        "uses_in_period": {"type": "integer", "minimum": 0},
        "places_left": {"type": ["integer", "null"], "minimum": 0,
                        "description": "Persons the event's Kaikukortti quota still admits "
                                       "(holder, children and assistants all count); null "
                                       "without an event or without a quota. event_full: 0 "
                                       "left; too_few_places: more persons asked than left"},
        "earlier_visit": {"type": ["object", "null"],
                          "description": "For already_used: when and where the card was used",
                          "properties": {
                              "occurred_at": {"type": "string", "format": "date-time"},
                              "here": {"type": "boolean", "description": "At this venue"},
                              "this_event": {"type": "boolean", "description": "For this event"},
                              "venue_name": {"type": ["string", "null"],
                                             "description": "The venue, when in the same "
                                                            "region as this one"}}}}},
    "RedeemAnswer": {"allOf": [_ref("Verdict"), {"type": "object", "properties": {
        "visit_id": {"anyOf": [INT, {"type": "null"}]},
        "conflict": {"type": ["string", "null"]}}}]},
    "Event": {"type": "object", "properties": {
        "id": INT, "venue_id": INT, "title": {"type": "string"},
        "starts_at": {"type": "string", "format": "date-time"},
        "kind": {"type": "string", "enum": ["event", "course"]},
        "quota": {"type": ["integer", "null"]}, "left": {"type": ["integer", "null"]}}},
}


def _post(summary: str, request: str, answer: str, extra: dict | None = None) -> dict:
    return {"post": {"summary": summary, "requestBody": {"required": True, **_json(_ref(request))},
                     "responses": {"200": _answer("The answer", _ref(answer)), **ERRORS,
                                   **(extra or {})}}}


def _get(summary: str, schema: dict, params: list[dict] | None = None) -> dict:
    return {"get": {"summary": summary, "parameters": params or [],
                    "responses": {"200": _answer("The answer", schema), **ERRORS}}}


VENUE_PARAM = {"name": "venue_id", "in": "query", "required": True, "schema": INT}
NUMBERS = {"type": "array", "items": {"type": "string", "pattern": "^[0-9A-Z]{10}$"}}
# What the register knows that an older printout may not (the database wins offline too).
OFFLINE_BUNDLE = {"type": "object", "properties": {
    "revoked": {**NUMBERS, "description": "Cards of the accepted regions no longer in force "
                "(deactivated, lost, replaced) whose validity has not ended"},
    "revoked_as": {"type": "object", "description": "The lost and replaced among them: "
                   "number -> [status, the new card's number or null]",
                   "additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2}},
    "changed": {"type": "object", "required": ["base", "width", "cards"],
                "description": "Active cards in force changed since issue (a renewal): their "
                "last valid day and children as the register has them, which win over the QR's",
                "properties": {
                    "base": {"type": "string", "format": "date"},
                    "width": {"type": "integer", "description": "characters of a number"},
                    "cards": {"type": "array", "description": "[days from base to valid_until, "
                              "children, the numbers sorted and joined]",
                              "items": {"type": "array", "minItems": 3, "maxItems": 3}}}}}}


def document() -> dict:
    """The whole OpenAPI document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Kaikukortti card check: scanner API", "version": "1",
                 "description": "Same-origin session cookie; send the page's CSRF token as "
                                "X-CSRFToken on every POST. Verdict reasons are stable codes."},
        "components": {"schemas": {**SCHEMAS, "AnnulRequest": {
            "type": "object", "required": ["visit_id", "reason"], "properties": {
                "visit_id": INT, "reason": {"type": "string", "enum": list(ANNUL_REASONS)}}},
            "SyncRequest": {"type": "object", "required": ["visits"], "properties": {
                "visits": {"type": "array", "maxItems": 500, "items": _ref("RedeemRequest")}}},
            "SyncAnswer": {"type": "object", "required": ["results"], "properties": {"results": {
                "type": "array", "items": _ref("SyncResult"),
                "description": "One result per item, in the order sent"}}},
            "SyncResult": {"anyOf": [
                {"allOf": [_ref("RedeemAnswer"), {"type": "object", "required": ["final"],
                                                  "properties": {"nonce": NONCE_ECHO,
                                                                 "final": {"const": True}}}]},
                {"type": "object", "required": ["verdict", "final", "error"], "properties": {
                    "nonce": NONCE_ECHO, "verdict": {"const": "error"},
                    "final": {"type": "boolean", "description": FINAL},
                    "error": SCHEMAS["Error"]["properties"]["error"]}}]},
            "Ok": {"type": "object", "properties": {"ok": {"type": "boolean"}}}},
            "securitySchemes": {"session": {"type": "apiKey", "in": "cookie", "name": "session"},
                                "csrf": {"type": "apiKey", "in": "header",
                                         "name": "X-CSRFToken"}}},
        "security": [{"session": [], "csrf": []}],
        "paths": {
            "/api/scan/check": _post("Check a code for a venue", "CheckRequest", "Verdict",
                                     {"404": _answer("No such venue or event (unknown_venue, "
                                                     "unknown_event)", _ref("Error")),
                                      "409": _answer("The event is cancelled (event_cancelled)",
                                                     _ref("Error")),
                                      "422": TYPING_ERROR}),
            "/api/scan/redeem": _post("Check and record a visit (idempotent per nonce)",
                                      "RedeemRequest", "RedeemAnswer",
                                      {"404": _answer("No such venue or event (unknown_venue, "
                                                      "unknown_event)", _ref("Error")),
                                       "409": _answer("Nonce used by another account "
                                                      "(nonce_reused), or the event is cancelled "
                                                      "(event_cancelled)", _ref("Error")),
                                       "422": TYPING_ERROR}),
            "/api/scan/annul": _post("Undo one's own record within 15 minutes",
                                     "AnnulRequest", "Ok",
                                     {"404": _answer("No such record", _ref("Error")),
                                      "409": _answer("Too late or already undone",
                                                     _ref("Error"))}),
            "/api/scan/sync": _post("Records made offline; one result per item, each decided "
                                    "and stored on its own (a bad item never fails the batch)",
                                    "SyncRequest", "SyncAnswer"),
            "/api/scan/venues": _get("Venues this account scans for, with today's events",
                                     {"type": "object"}),
            "/api/scan/today": _get("Today's records at a venue", {"type": "object"},
                                    [VENUE_PARAM, {"name": "event_id", "in": "query",
                                                   "required": False, "schema": INT}]),
            "/api/scan/offline-bundle": _get("Keys, rules and revocations for offline checks",
                                             OFFLINE_BUNDLE, [VENUE_PARAM]),
        },
    }
