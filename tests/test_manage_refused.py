"""The list of refused offline records: what the server refused at sync, by region."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from app.cardcodes import format_number
from app.extensions import db
from app.models import ScanAttempt
from tests.conftest import csrf_token
from tests.support import factories


@pytest.fixture
def english(client):
    """Pages in English, so that labels compare to their source text."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def sync(client, auth, username: str, venue, items: list[dict]) -> list[dict]:
    """Sign in as `username` and sync these records made offline at `venue`."""
    auth.login(username)
    token = csrf_token(client, "/")
    bodies = [{"venue_id": venue.id, "event_id": None, "adults": 1, "children": 0,
               "assistants": 0, "nonce": str(uuid.uuid4()), "source": "offline",
               "occurred_at": datetime.now(UTC).isoformat(), **item} for item in items]
    answer = client.post("/api/scan/sync", json={"visits": bodies},
                         headers={"X-CSRFToken": token})
    assert answer.status_code == 200
    auth.logout()
    return answer.get_json()["results"]


def page_of(client, auth, username: str) -> str:
    """The refused list as this account sees it."""
    auth.login(username)
    page = client.get("/manage/refused")
    assert page.status_code == 200
    auth.logout()
    return page.get_data(as_text=True)


def test_a_coordinator_sees_its_regions_refused_offline_records_and_not_another_regions(
        world, auth, english):
    too_many, kept = factories.card(world.a), factories.card(world.a)
    in_b = factories.card(world.b)
    db.session.commit()
    results = sync(english, auth, "box-a", world.theatre, [
        {"code": too_many.number, "children": 101}, {"code": "ZZZZ-ZZZ-ZZZ"},
        {"code": kept.number}])
    assert [(r["verdict"], r["final"]) for r in results] == [
        ("error", True), ("refused", True), ("ok", True)]
    sync(english, auth, "box-b", world.hall_b, [{"code": in_b.number, "children": 101}])

    page_a = page_of(english, auth, "coord-a")
    assert "Records: 2" in page_a
    assert format_number(too_many.number) in page_a
    assert "The number of tickets is not possible." in page_a
    assert "Not a card of the register" in page_a  # the code that was no card's
    assert "The code was not a card number of the register." in page_a
    assert "box-a" in page_a and world.theatre.name in page_a
    assert format_number(kept.number) not in page_a  # recorded, not refused
    assert format_number(in_b.number) not in page_a and world.hall_b.name not in page_a

    page_b = page_of(english, auth, "coord-b")
    assert "Records: 1" in page_b and format_number(in_b.number) in page_b
    assert format_number(too_many.number) not in page_b
    assert "Records: 3" in page_of(english, auth, "admin1")


def test_an_offline_record_refused_by_the_rules_without_a_visit_is_listed(world, auth, english):
    # As the door stores a record for a card the venue could never accept: no visit, its reason.
    card = factories.card(world.b)
    db.session.add(ScanAttempt(action="redeem", card_number=card.number, venue_id=world.theatre.id,
                               user_id=world.users["boxoffice"].id, reason="wrong_region",
                               nonce=str(uuid.uuid4()), offline=True))
    db.session.add(ScanAttempt(action="redeem", card_number=card.number, venue_id=world.theatre.id,
                               user_id=world.users["boxoffice"].id, reason="wrong_region",
                               nonce=str(uuid.uuid4())))  # refused at the door online: not here
    db.session.commit()
    page = page_of(english, auth, "coord-a")
    assert "Records: 1" in page and "The card is not valid in this region." in page


def test_the_management_menu_and_the_conflict_queue_link_to_the_refused_list(world, auth, english):
    auth.login("coord-a")
    for path in ("/manage/", "/manage/conflicts"):
        assert 'href="/manage/refused"' in english.get(path).get_data(as_text=True), path


def test_a_box_office_account_may_not_see_the_refused_list(world, auth, client):
    auth.login("box-a")
    assert client.get("/manage/refused").status_code == 403
