"""A NUL character in any text a request brings is refused before a view reads it (issue 12,
point 8): PostgreSQL cannot hold one, and before this a name or a filter with it was a 500."""
from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Event, IssuingSite, Municipality, Region, Venue, Visit
from tests.conftest import csrf_token
from tests.support import factories

NUL_NAME = "Kulttuuri\x00talo"
ENGLISH = "The text sent contains a character that is not allowed (NUL)."

# (account, form path, the form with a NUL in the field the issue names, the table it would fill)
FORMS = {
    "venue name": ("coord-a", "/manage/venues/new", {
        "name": NUL_NAME, "category": "culture", "art_form": "museum", "default_quota": "5"}, Venue),
    "site name": ("coord-a", "/manage/sites/new", {"name": NUL_NAME, "kind": "ngo"}, IssuingSite),
    "municipality name": ("coord-a", "/manage/municipalities/new", {"name": NUL_NAME},
                          Municipality),
    "region name": ("admin1", "/manage/regions/new", {
        "code": "CCC", "name_fi": NUL_NAME, "name_sv": "", "name_en": "", "min_age": "16",
        "child_max_age": "17", "national_network": "True", "validity": "months",
        "validity_months": "12", "period_limit": "", "period": "month",
        "community_group_size": "10"}, Region),
    "event title": ("coord-a", "/manage/events/new", {
        "title": NUL_NAME, "date": "2027-05-14", "start_time": "19:00", "kind": "event",
        "quota": "8"}, Event),
}


@pytest.fixture(autouse=True)
def english(client):
    """Pages in English, the source language of the messages."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"


def rows(model: type) -> int:
    """How many rows a table holds now."""
    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("field", FORMS)
def test_a_nul_in_a_named_field_is_refused_with_a_message_and_nothing_is_saved(
        world, auth, client, field):
    username, path, form, model = FORMS[field]
    if model is Event:
        form = {**form, "venue": str(world.theatre.id)}
    auth.login(username)
    before = rows(model)
    response = client.post(path, data={**form, "csrf_token": csrf_token(client, "/")})
    assert response.status_code == 400
    assert ENGLISH in response.get_data(as_text=True)
    assert rows(model) == before


def test_the_same_form_without_the_nul_is_saved(world, auth, client):
    # The refusal is the NUL's doing, not the rest of the form's.
    username, path, form, model = FORMS["venue name"]
    auth.login(username)
    before = rows(model)
    response = client.post(path, data={**form, "name": "Kulttuuritalo",
                                       "csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    assert rows(model) == before + 1


@pytest.mark.parametrize("path", ["/manage/audit", "/manage/audit.csv"])
def test_a_nul_in_the_audit_logs_actor_filter_is_refused_not_a_server_error(world, auth, client,
                                                                           path):
    auth.login("admin1")
    response = client.get(path, query_string={"actor": "admin\x001"})
    assert response.status_code == 400
    assert ENGLISH in response.get_data(as_text=True)
    assert client.get(path, query_string={"actor": "admin1"}).status_code == 200


def test_a_nul_in_the_login_form_is_refused(world, client):
    response = client.post("/login", data={"username": "admin\x001", "password": "x",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 400 and ENGLISH in response.get_data(as_text=True)


def test_the_message_speaks_the_pages_language(world, auth, client):
    auth.login("admin1")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "sv"
    answer = client.get("/manage/audit", query_string={"actor": "\x00"}).get_data(as_text=True)
    assert "NUL" in answer and ENGLISH not in answer


def test_a_nul_in_a_path_is_refused(world, auth, client):
    auth.login("issuer-a")
    assert client.get("/cards/ABCD\x00EFG").status_code == 400


# The JSON API: a reason code, field by field, and one bad record of a sync does not stop the rest


@pytest.fixture
def door(app, world, auth, client):
    """Region A's box office, signed in, with the page's CSRF token on every request."""
    auth.login("box-a")
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client, "/")
    return client


def redeem_body(world, code: str, **changes) -> dict:
    """A complete redeem at the theatre."""
    return {"code": code, "venue_id": world.theatre.id, "adults": 1, "children": 0,
            "assistants": 0, "nonce": str(uuid.uuid4()),
            "occurred_at": datetime.now(UTC).isoformat(), "source": "camera", **changes}


def post_json(client, path: str, body: dict):
    """POST a JSON body."""
    return client.post(path, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("field", ["nonce", "source", "occurred_at"])
def test_a_nul_in_a_json_field_is_a_400_with_a_reason_code(world, door, field):
    card = factories.card(world.a)
    db.session.commit()
    body = redeem_body(world, card.number)
    body[field] = body[field][:3] + "\x00" + body[field][3:]
    answer = post_json(door, "/api/scan/redeem", body)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "invalid_character"
    assert ENGLISH in answer.get_json()["error"]["message"]
    assert rows(Visit) == 0


def test_a_nul_in_the_reason_of_an_undo_is_a_400_with_a_reason_code(world, door):
    answer = post_json(door, "/api/scan/annul", {"visit_id": 1, "reason": "mis\x00take"})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "invalid_character"


def test_a_nul_in_one_synced_record_refuses_that_record_only(world, door):
    card = factories.card(world.a)
    db.session.commit()
    bad = redeem_body(world, card.number, nonce="0000\x00")
    answer = post_json(door, "/api/scan/sync", {"visits": [bad, redeem_body(world, card.number)]})
    assert answer.status_code == 200
    first, second = answer.get_json()["results"]
    assert first["error"]["code"] == "invalid_character"
    assert second["verdict"] == "ok"
    assert rows(Visit) == 1


def test_a_nul_in_the_api_query_string_is_a_400_with_a_reason_code(world, door):
    answer = door.get("/api/scan/today", query_string={"venue_id": "1\x00"})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["code"] == "invalid_character"
