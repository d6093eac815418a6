"""The flask commands of DESIGN §10: create-user, seed-demo, keys rotate."""
from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from app import create_app
from app.cardcodes import format_number, normalise_number, verify_payload
from app.extensions import db
from app.models import Card, Event, User, Venue
from app.rules import TZ


def user_named(username: str) -> User | None:
    """The account with this username."""
    return db.session.scalar(sa.select(User).where(User.username == username))


def test_create_user_makes_an_account_that_can_log_in(runner, world, auth):
    result = runner.invoke(args=["create-user", "--username", "box-new", "--password",
                                 "long enough pw", "--role", "boxoffice",
                                 "--venue", str(world.theatre.id), "--venue", str(world.college.id)])
    assert result.exit_code == 0, result.output
    user = user_named("box-new")
    assert {v.id for v in user.venues} == {world.theatre.id, world.college.id}
    assert user.region_id == world.a.id
    assert user.password_hash != "long enough pw"
    assert auth.login("box-new", "long enough pw").status_code == 302


@pytest.mark.parametrize("args, region_code", [
    (["--role", "coordinator", "--region", "BBB"], "BBB"),
    (["--role", "issuer", "--site", "SITE_A"], "AAA"),
    (["--role", "admin"], None),
])
def test_create_user_scopes_each_role(runner, world, args, region_code):
    args = [str(world.site_a.id) if a == "SITE_A" else a for a in args]
    result = runner.invoke(args=["create-user", "--username", "u1", "--password", "pw-123456",
                                 *args])
    assert result.exit_code == 0, result.output
    user = user_named("u1")
    assert (user.region.code if user.region else None) == region_code


@pytest.mark.parametrize("args, message", [
    (["--role", "coordinator"], "needs --region"),
    (["--role", "issuer"], "needs --site"),
    (["--role", "boxoffice"], "needs --venue"),
    (["--role", "boxoffice", "--venue", "999999"], "no venue"),
    (["--role", "coordinator", "--region", "ZZZ"], "no region"),
    (["--role", "admin", "--region", "AAA"], "give no scope"),
    (["--role", "issuer", "--site", "SITE_A", "--region", "BBB"], "not in the region"),
    (["--role", "janitor"], "Invalid value"),
])
def test_create_user_refuses_an_account_without_a_fitting_scope(runner, world, args, message):
    args = [str(world.site_a.id) if a == "SITE_A" else a for a in args]
    result = runner.invoke(args=["create-user", "--username", "u2", "--password", "pw-123456",
                                 *args])
    assert result.exit_code != 0
    assert message in result.output
    assert user_named("u2") is None


def test_create_user_refuses_a_taken_username_and_a_short_password(runner, world):
    taken = runner.invoke(args=["create-user", "--username", "admin1", "--password",
                                "pw-123456", "--role", "admin"])
    short = runner.invoke(args=["create-user", "--username", "x", "--password", "short",
                                "--role", "admin"])
    assert "taken" in taken.output and taken.exit_code != 0
    assert "8 characters" in short.output and short.exit_code != 0


@pytest.fixture
def seeded(runner):
    """The JSON document printed by `flask seed-demo --json` on an empty database."""
    result = runner.invoke(args=["seed-demo", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_seed_demo_json_lists_one_account_per_role_with_working_passwords(seeded, auth):
    roles = {a["role"] for a in seeded["accounts"]}
    assert roles == {"admin", "coordinator", "issuer", "boxoffice"}
    issuer = next(a for a in seeded["accounts"] if a["role"] == "issuer")
    assert auth.login(issuer["username"], issuer["password"]).status_code == 302
    assert set(issuer["scope"]) == {"region", "site_id"}


def test_seed_demo_gives_two_regions_one_national_one_local(seeded):
    networks = sorted(r["national_network"] for r in seeded["regions"])
    assert networks == [False, True]


def test_seed_demo_venues_cover_every_category_and_todays_events_a_course_and_a_small_quota(seeded):
    assert {v["category"] for v in seeded["venues"]} == {"culture", "education", "science", "sports"}
    assert {"id", "name", "region", "category"} <= set(seeded["venues"][0])
    events = seeded["events"]
    assert any(e["kind"] == "course" for e in events)
    assert any(e["quota"] is not None and e["quota"] <= 5 for e in events)
    venue_ids = {v["id"] for v in seeded["venues"]}
    assert all(e["venue_id"] in venue_ids for e in events)
    starts = [db.session.get(Event, e["id"]).starts_at.date() for e in events]
    assert len(set(starts)) == 1  # all today


def test_seed_demo_cards_come_in_every_state_and_match_the_database(seeded, app):
    cards = seeded["cards"]
    assert {c["status"] for c in cards} == {"unissued", "active", "deactivated", "lost", "replaced"}
    assert any(c["status"] == "active" and date.fromisoformat(c["valid_until"]) < date.today()
               for c in cards), "an expired card"
    keys = app.extensions["keyring"].public_keys()
    for card in cards:
        row = db.session.scalar(sa.select(Card).where(Card.number == normalise_number(card["number"])))
        assert (row.status, row.children, row.region.code) == (card["status"], card["children"],
                                                               card["region"])
        assert card["print_url"].endswith(f"/cards/{row.number}/card.pdf")
        if card["status"] == "unissued":
            assert card["qr_payload"] is None and card["digital_link"] is None
            continue
        payload = verify_payload(card["qr_payload"], keys)
        assert format_number(payload.number) == card["number"]
        assert payload.valid_until.isoformat() == card["valid_until"]
        assert "/c/" in card["digital_link"]


def test_seed_demo_a_second_time_adds_nothing_and_prints_the_same_document(seeded, runner):
    venues = db.session.scalar(sa.select(sa.func.count(Venue.id)))
    again = runner.invoke(args=["seed-demo", "--json"])
    assert again.exit_code == 0
    assert json.loads(again.output) == seeded
    assert db.session.scalar(sa.select(sa.func.count(Venue.id))) == venues


def test_seed_demo_leaves_a_database_that_holds_other_data_alone(runner, world):
    venues = db.session.scalar(sa.select(sa.func.count(Venue.id)))
    plain = runner.invoke(args=["seed-demo"])
    as_json = runner.invoke(args=["seed-demo", "--json"])
    assert plain.exit_code == 0 and "not empty" in plain.output
    assert as_json.exit_code != 0 and "not empty" in as_json.output
    assert db.session.scalar(sa.select(sa.func.count(Venue.id))) == venues


def test_keys_rotate_signs_new_codes_with_the_new_key_and_old_codes_still_verify(app, runner, world):
    from app.cards.service import qr_payload
    from tests.support import factories

    card = factories.card(world.a)
    db.session.commit()
    old_payload = qr_payload(card)
    old_id = app.extensions["keyring"].current_id
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code == 0, result.output
    restarted = create_app({**{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI",
                                                          "SIGNING_KEY_DIR")}, "TESTING": True})
    ring = restarted.extensions["keyring"]
    assert ring.current_id > old_id
    assert verify_payload(old_payload, ring.public_keys()).number == card.number
    with restarted.app_context():
        new_payload = qr_payload(db.session.merge(card))
        db.session.remove()
        db.engine.dispose()  # the restarted app's own pool, closed rather than collected
    assert new_payload != old_payload
    assert verify_payload(new_payload, ring.public_keys()).number == card.number


def test_keys_rotate_refuses_when_keys_come_from_the_environment(runner, monkeypatch):
    monkeypatch.setenv("CARD_SIGNING_KEYS", "1:" + "A" * 43 + "=")
    result = runner.invoke(args=["keys", "rotate"])
    assert result.exit_code != 0
    assert "CARD_SIGNING_KEYS" in result.output


def _without_csrf(html: str) -> str:
    html = re.sub(r'(name="csrf-token" content=")[^"]*"', r'\1TOKEN"', html)
    return re.sub(r'(name="csrf_token" value=")[^"]*"', r'\1TOKEN"', html)


def test_seed_demo_the_old_link_of_a_replaced_or_lost_card_opens_nothing(seeded, client):
    # As after a real replacement (cards.service.replace): the same page as an unknown link.
    old = [c for c in seeded["cards"] if c["status"] in ("lost", "replaced")]
    assert {c["status"] for c in old} == {"lost", "replaced"}
    unknown = _without_csrf(client.get("/c/" + "B" * 32).get_data(as_text=True)).replace("B" * 32, "LINK")
    for card in old:
        path = card["digital_link"].removeprefix("http://127.0.0.1:8000")
        page = client.get(path)
        assert page.status_code == 404, card["status"]
        # The CSRF token carries a timestamp: two pages a second apart differ only there.
        assert _without_csrf(page.get_data(as_text=True)).replace(path.removeprefix("/c/"), "LINK") == unknown
        assert card["number"] not in page.get_data(as_text=True)


def test_seed_demo_digital_links_and_print_urls_work(seeded, client, auth):
    active = [c for c in seeded["cards"] if c["status"] == "active"]
    for card in active:
        path = card["digital_link"].removeprefix("http://127.0.0.1:8000")
        page = client.get(path)
        assert page.status_code == 200
        assert card["number"] in page.get_data(as_text=True)
    issuer = next(a for a in seeded["accounts"] if a["username"] == "issuer")
    auth.login(issuer["username"], issuer["password"])
    own = [c for c in active if c["region"] == "PIR"]
    today = datetime.now(TZ).date().isoformat()
    expired = [c for c in own if c["valid_until"] < today]
    assert expired
    for card in own:
        pdf = client.get(card["print_url"].removeprefix("http://127.0.0.1:8000"))
        if card in expired:  # a card not in force is not printed
            assert pdf.status_code == 409 and b"%PDF" not in pdf.data
        else:
            assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
