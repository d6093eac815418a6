"""The offline bundle (app/scan/bundle.py): what the register knows that an older printed QR may not."""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from app.cards import service
from app.extensions import db
from app.models import Card, Municipality
from app.rules import MAX_TICKET_CHILDREN
from app.scan.bundle import encode_changed
from tests.support import factories


@pytest.fixture
def bundle(world, auth, client):
    """Region A's box office, signed in: GET the theatre's offline bundle."""
    auth.login("box-a")
    return lambda: client.get("/api/scan/offline-bundle",
                              query_string={"venue_id": world.theatre.id}).get_json()


def changed_facts(data: dict) -> dict[str, tuple[str, int]]:
    """Read the bundle's changed cards back: number -> (valid_until, children)."""
    changed = data["changed"]
    base, width = date.fromisoformat(changed["base"]), changed["width"]
    return {joined[start:start + width]: ((base + timedelta(days=days)).isoformat(), children)
            for days, children, joined in changed["cards"]
            for start in range(0, len(joined), width)}


def registered(world, children: int = 0) -> Card:
    """A card registered by region A's issuer, as the desk does it."""
    municipality = db.session.scalar(db.select(Municipality).where(Municipality.region == world.a))
    form = service.Registration(municipality_id=municipality.id, postcode="33100",
                                birth_year=1980, children=children)
    card, _token = service.register(world.users["issuer"], form)
    return card


def test_a_renewed_card_is_in_the_bundle_with_its_new_validity_and_an_unchanged_one_is_not(
        world, bundle, today):
    renewed, unchanged = registered(world, children=2), registered(world, children=1)
    printed = renewed.valid_until
    service.renew(world.users["issuer"], renewed, today + timedelta(days=40))
    facts = changed_facts(bundle())
    assert renewed.valid_until > printed
    assert facts[renewed.number] == (renewed.valid_until.isoformat(), 2)
    assert unchanged.number not in facts


def test_only_cards_of_the_regions_the_venue_accepts_are_in_the_bundle(world, bundle, today):
    national = factories.region("CCC", national=True)
    cards = {name: factories.card(region, children=1, valid_until=today + timedelta(days=9))
             for name, region in (("own", world.a), ("national", national), ("local", world.b))}
    db.session.commit()
    for card in cards.values():
        service.renew(world.users["issuer"], card, today)
    facts = changed_facts(bundle())
    assert cards["own"].number in facts and cards["national"].number in facts
    assert cards["local"].number not in facts  # B is not in the national network


def test_a_card_no_longer_in_force_is_revoked_not_changed(world, bundle, today):
    deactivated, expired = registered(world), factories.card(world.a, valid_until=today - timedelta(days=1))
    db.session.commit()
    service.renew(world.users["issuer"], deactivated, today + timedelta(days=40))
    service.deactivate(world.users["issuer"], deactivated, "holder_request")
    expired.postcode = "33200"  # changed, but its validity has passed
    db.session.commit()
    data = bundle()
    facts = changed_facts(data)
    assert deactivated.number not in facts and expired.number not in facts
    assert deactivated.number in data["revoked"]


def test_a_lost_or_replaced_card_is_revoked_with_its_status_and_new_number(world, bundle):
    lost, replaced, deactivated = registered(world), registered(world), registered(world)
    issuer = world.users["issuer"]
    new_for_lost, _token = service.replace(issuer, lost, "lost")
    new_for_damaged, _token = service.replace(issuer, replaced, "damaged")
    service.deactivate(issuer, deactivated, "misuse")
    data = bundle()
    assert {lost.number, replaced.number, deactivated.number} <= set(data["revoked"])
    assert data["revoked_as"] == {lost.number: ["lost", new_for_lost.number],
                                  replaced.number: ["replaced", new_for_damaged.number]}
    assert new_for_damaged.number not in changed_facts(data)  # a new card: a new printout


def test_the_bundle_s_changed_cards_hold_numbers_days_and_counts_only(world, bundle, today):
    card = registered(world, children=3)
    service.renew(world.users["issuer"], card, today + timedelta(days=40))
    changed = bundle()["changed"]
    assert set(changed) == {"base", "width", "cards"}
    [[days, children, joined]] = changed["cards"]
    assert (days, children, joined) == ((card.valid_until - today).days, 3, card.number)
    text = json.dumps(changed)
    assert "33100" not in text and "1980" not in text


def test_changed_cards_are_grouped_by_validity_and_children_with_sorted_numbers() -> None:
    today = date(2026, 3, 15)
    cards = [("M4T6PV2587", date(2027, 3, 14), 1), ("0000000000", today, 0),
             ("R13375J1HK", date(2027, 3, 14), 1), ("A000000000", date(2027, 3, 14), 1)]
    assert encode_changed(cards, today) == {
        "base": "2026-03-15", "width": 10,
        "cards": [[0, 0, "0000000000"], [364, 1, "A000000000M4T6PV2587R13375J1HK"]]}


def test_the_bundle_carries_the_most_children_a_card_holds_as_the_vectors_do(bundle):
    vectors = json.loads((Path(__file__).parent / "vectors" / "rules.json").read_text())
    assert bundle()["limits"] == vectors["limits"] == {"max_ticket_children": MAX_TICKET_CHILDREN}
