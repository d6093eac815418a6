"""Hostile input to the scanner API: a fuzz run from its OpenAPI document, and hand-made attacks.

Whatever arrives, the API answers with a verdict or a 4xx carrying a reason code: never a 500,
never a stack trace.
"""
from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from app.cardcodes import b45decode, b45encode, format_number
from app.cards.service import qr_payload
from app.extensions import db
from app.models import Visit
from app.scan import openapi
from tests.conftest import csrf_token
from tests.support import factories

# Per operation (and phase): both fuzz tests take about twenty seconds on two shared cores.
FUZZ_EXAMPLES = 40
MAX_BODY = 2 * 1024 * 1024
POSTS = ("/api/scan/check", "/api/scan/redeem", "/api/scan/annul", "/api/scan/sync")


def assert_reasoned(response) -> None:
    """A 4xx in the API's error shape: a reason code and a message, nothing from the inside."""
    text = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, (response.status_code, text[:300])
    error = response.get_json()["error"]
    assert isinstance(error["code"], str) and error["code"] and error["message"]
    assert "Traceback" not in text and 'File "' not in text


@dataclass
class Door:
    """A signed-in box office at region A's theatre, a card to scan, and its codes."""

    client: object
    world: factories.World
    codes: dict[str, str]

    def post(self, path: str, body=None, data: bytes | None = None,
             content_type: str = "application/json"):
        """POST JSON (or raw bytes) with the page's CSRF token, as the PWA does."""
        if data is None:
            data = json.dumps(body).encode()
        return self.client.post(path, data=data, content_type=content_type)

    def redeem_body(self, code: str) -> dict:
        """A redeem of `code` at the theatre, complete but for what the test changes."""
        return {"code": code, "venue_id": self.world.theatre.id, "adults": 1, "children": 0,
                "assistants": 0, "nonce": str(uuid.uuid4()),
                "occurred_at": datetime.now(UTC).isoformat(), "source": "camera"}


@pytest.fixture
def door(app, world, auth, client) -> Door:
    """Region A's box office, signed in; every request carries the page's CSRF token."""
    app.config["SCAN_RATE_LIMIT"] = "100000 per minute"  # the fuzzer is not the subject here
    card = factories.card(world.a, children=2)
    db.session.commit()
    payload = qr_payload(card)
    auth.login("box-a")
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client, "/")
    codes = {"qr": payload, "number": card.number,
             "formatted": format_number(card.number).lower(),
             "tampered": payload[:30] + ("B" if payload[30] != "B" else "C") + payload[31:],
             "truncated": payload[:-7], "padded": f"  {payload}\n", "nul": payload + "\x00"}
    return Door(client, world, codes)


def recorded_visits() -> int:
    """How many visits the database holds."""
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(Visit))


# The fuzz run: every operation of /api/openapi.json, with data that fits the document and
# data that does not (wrong types, missing fields, out-of-range numbers, other methods).

fuzzed = schemathesis.openapi.from_dict(openapi.document())
fuzzed.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=FUZZ_EXAMPLES,
    allow_x00=True, codec="utf-8", with_security_parameters=False)

REAL = st.fixed_dictionaries({
    "venue": st.sampled_from(["theatre", "college", "hall_b"]),
    "event": st.sampled_from([None, "show", "small_show", "course"]),
    "code": st.sampled_from(["qr", "number", "formatted", "tampered", "truncated", "padded", "nul"]),
    "nonce": st.sampled_from([f"00000000-0000-4000-8000-00000000000{i}" for i in range(4)]),
    "minutes_ago": st.integers(min_value=-5, max_value=60 * 24 * 20),
    "visit_id": st.integers(min_value=1, max_value=4),
})


def make_real(case, real: dict, door: Door) -> None:
    """Put places, codes, nonces, records and times that exist into a request the document allows.

    Random ids and timestamps would stop nearly every request at "unknown venue"; with real
    ones the fuzzer reaches the verdicts, the records, undo, nonce reuse and offline conflicts.
    """
    world = door.world
    body = case.body if isinstance(case.body, dict) else {}
    items = body["visits"] if isinstance(body.get("visits"), list) else [body]
    for item in (i for i in items if isinstance(i, dict)):
        if "visit_id" in item:
            item["visit_id"] = real["visit_id"]
        if "code" in item:
            item["venue_id"] = getattr(world, real["venue"]).id
            item["event_id"] = getattr(world, real["event"]).id if real["event"] else None
            item["code"] = door.codes[real["code"]]
        if "nonce" in item:
            item["nonce"] = real["nonce"]
            moment = datetime.now(UTC) - timedelta(minutes=real["minutes_ago"])
            item["occurred_at"] = moment.isoformat()
    if isinstance(case.query, dict) and "venue_id" in case.query:
        case.query["venue_id"] = getattr(world, real["venue"]).id
        if "event_id" in case.query and real["event"]:
            case.query["event_id"] = getattr(world, real["event"]).id


def call_and_check(case, app, door: Door) -> None:
    """Send the case as the signed-in box office; no 500, and every refusal has a reason code."""
    response = case.call(session=door.client, app=app)
    case.validate_response(response, checks=[not_a_server_error])
    assert "Traceback" not in response.text
    if response.status_code >= 400:
        error = json.loads(response.text)["error"]
        assert error["code"] and error["message"]


@fuzzed.parametrize()
@settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_the_openapi_document_allows_or_forbids_makes_a_server_error(case, app, door):
    # Besides random data: boundary values of every field, and methods the document has not.
    call_and_check(case, app, door)


@fuzzed.parametrize()
@fuzzed.given(real=REAL)
@settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_about_real_cards_places_and_records_makes_a_server_error(case, real, app,
                                                                             door):
    if case.meta.generation.mode is GenerationMode.POSITIVE:
        make_real(case, real, door)
    call_and_check(case, app, door)


# Codes: tampered, truncated, oversized, binary


@pytest.mark.parametrize("name", ["tampered", "truncated", "nul"])
def test_a_damaged_qr_code_is_refused_with_a_reason_and_records_nothing(door, name):
    check = door.post("/api/scan/check", {"code": door.codes[name],
                                          "venue_id": door.world.theatre.id}).get_json()
    redeem = door.post("/api/scan/redeem", door.redeem_body(door.codes[name])).get_json()
    for answer in (check, redeem):
        assert answer["verdict"] == "refused"
        assert answer["reason"] in {"bad_signature", "unknown_card"}
        assert answer["card"] is None
    assert redeem["visit_id"] is None and recorded_visits() == 0


def test_a_qr_code_signed_by_an_unknown_key_is_refused_as_a_bad_signature(door):
    data = bytearray(b45decode(door.codes["qr"]))
    data[1] = 200  # a key id nobody has
    answer = door.post("/api/scan/check", {"code": b45encode(bytes(data)),
                                           "venue_id": door.world.theatre.id}).get_json()
    assert (answer["verdict"], answer["reason"]) == ("refused", "bad_signature")


BINARY = [
    "\x00" * 64,
    "\x00\x01\x02\xff\xfe",
    bytes(random.Random(7).randrange(256) for _ in range(300)).decode("latin-1"),
    "\ud800\udfff\ud800",  # lone surrogates: JSON can carry them, UTF-8 cannot
    "\u202e" + "A" * 9,
    "🎟" * 100,
    "ABCD-EFG-HJ" + "\x00",
    "",
    " " * 4096,
]


def test_a_binary_code_is_refused_as_an_unknown_card(door):
    for code in BINARY:
        for path, body in (("/api/scan/check", {"code": code, "venue_id": door.world.theatre.id}),
                           ("/api/scan/redeem", door.redeem_body(code))):
            answer = door.post(path, body)
            assert answer.status_code == 200, (code, answer.get_data(as_text=True))
            data = answer.get_json()
            assert (data["verdict"], data["reason"]) == ("refused", "unknown_card"), code
    assert recorded_visits() == 0


@pytest.mark.parametrize("size", [4097, 100_000])
def test_an_oversized_code_is_refused_unread_with_a_reason_code(door, size):
    for path, body in (("/api/scan/check", {"code": "A" * size, "venue_id": door.world.theatre.id}),
                       ("/api/scan/redeem", door.redeem_body("A" * size))):
        answer = door.post(path, body)
        assert_reasoned(answer)
        assert answer.get_json()["error"]["code"] == "invalid_request"


def test_hostile_codes_in_a_sync_are_each_refused_and_the_rest_is_kept(door):
    hostile = [door.codes["tampered"], "\x00" * 10, "A" * 100_000, "\ud800"]
    answer = door.post("/api/scan/sync", {"visits": [
        *(door.redeem_body(code) for code in hostile), door.redeem_body(door.codes["qr"])]})
    assert answer.status_code == 200
    results = answer.get_json()["results"]
    assert [r["verdict"] for r in results] == ["refused", "refused", "error", "refused", "ok"]
    assert results[2]["error"]["code"] == "invalid_request"
    assert recorded_visits() == 1


# Bodies: not JSON, not UTF-8, random bytes, too deep, too big


def _nested(depth: int) -> bytes:
    return b'{"code": ' + b"[" * depth + b"]" * depth + b"}"


BODIES = {
    "empty": b"",
    "not utf-8": b"\xff\xfe\xfd{\"code\": 1}",
    "random bytes": bytes(random.Random(11).randrange(256) for _ in range(2048)),
    "nul bytes": b'{"code": "\x00\x00", "venue_id": 1}' + b"\x00" * 100,
    "truncated json": b'{"code": "ABCD-EFG-HJK", "venue_id": ',
    "array": b"[1, 2, 3]",
    "string": b'"code"',
    "nested 100 000 deep": _nested(100_000),
    "a number of 5000 digits": b'{"code": "A", "venue_id": ' + b"9" * 5000 + b"}",
    "infinity": b'{"code": "A", "venue_id": 1e400, "visit_id": 1e400}',
    "nan": b'{"code": "A", "venue_id": NaN, "visit_id": NaN}',
    "100 KB of keys": json.dumps({f"k{i}": i for i in range(9000)}).encode(),
    "100 KB string": json.dumps({"code": "x" * 100_000, "venue_id": 1, "visit_id": 1,
                                 "reason": "x" * 100_000, "visits": "x" * 100_000}).encode(),
}


@pytest.mark.parametrize("path", POSTS)
def test_a_body_that_is_no_request_is_answered_with_a_reason_code(door, path):
    for name, data in BODIES.items():
        answer = door.post(path, data=data)
        assert 400 <= answer.status_code < 500, name
        assert_reasoned(answer)


@pytest.mark.parametrize("path", POSTS)
def test_a_body_that_is_not_declared_json_is_refused_as_invalid_json(door, path):
    answer = door.post(path, data=b'{"code": "A", "venue_id": 1}', content_type="text/plain")
    assert_reasoned(answer)
    assert answer.get_json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize("path", POSTS)
def test_a_body_over_the_size_limit_is_refused_with_413_and_a_reason_code(door, path):
    answer = door.post(path, data=b'{"code": "' + b"A" * MAX_BODY + b'"}')
    assert answer.status_code == 413
    assert_reasoned(answer)


# Query strings

QUERIES = ["99999999999999999999", "-99999999999999999999", "9" * 5000, "0", "-1", "2147483648",
           "1e3", "１２", "\x00", "%00", "1;DROP TABLE visit", ""]


def test_a_venue_or_event_id_that_is_no_id_is_answered_with_a_reason_code(door):
    for value in QUERIES:
        for path in ("/api/scan/today", "/api/scan/offline-bundle"):
            answer = door.client.get(path, query_string={"venue_id": value})
            assert 400 <= answer.status_code < 500, (path, value)
            assert_reasoned(answer)
        answer = door.client.get("/api/scan/today", query_string={
            "venue_id": door.world.theatre.id, "event_id": value})
        assert answer.status_code == 400, value
        expected = "invalid_character" if "\x00" in value else "invalid_request"
        assert answer.get_json()["error"]["code"] == expected


def test_real_ids_in_the_query_string_still_answer(door):
    answer = door.client.get("/api/scan/today", query_string={
        "venue_id": door.world.theatre.id, "event_id": door.world.show.id})
    assert answer.status_code == 200 and answer.get_json() == {"visits": []}
