"""The issuer's screens: register, hand over, find, renew, replace, deactivate, print (issue 3)."""
from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app import rules
from app.cardcodes import format_number
from app.cards import service
from app.cards.service import hash_link_token
from app.extensions import db
from app.models import AuditEvent, Card, Municipality, Visit
from app.printing.qr import qr_svg
from app.rules import valid_until_for
from tests.conftest import csrf_token
from tests.support import factories
from tests.test_printing import slot_of, word_boxes_mm


@pytest.fixture
def issuer(world, auth):
    """Region A's issuer, signed in."""
    auth.login("issuer-a")
    return world.users["issuer"]


@pytest.fixture
def new_links(monkeypatch) -> list[str]:
    """Every holder-link token the card service makes, oldest first (no cookie shows them)."""
    made, original = [], service.new_link_token

    def recording(card) -> str:
        made.append(original(card))
        return made[-1]

    monkeypatch.setattr(service, "new_link_token", recording)
    return made


def session_cookie(client) -> str:
    """The raw value of the client's session cookie."""
    return client.get_cookie("session").value


def municipality_of(region) -> Municipality:
    """The first municipality of a region."""
    return db.session.scalar(sa.select(Municipality).where(Municipality.region_id == region.id))


def registration(world, **changes) -> dict:
    """A complete registration form for region A."""
    data = {"municipality": str(municipality_of(world.a).id), "postcode": "33100",
            "birth_year": "1980", "children": "2", "kind": "personal", "gender": "not_given",
            "life_situation": "not_given", "preprinted_number": ""}
    data.update(changes)
    return data


def post(client, path: str, data: dict | None = None, **kwargs):
    """Post a form with the page's CSRF token, as a browser does."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, "/")},
                       **kwargs)


def cards() -> list[Card]:
    """Every card."""
    db.session.rollback()
    return list(db.session.scalars(sa.select(Card).order_by(Card.id)))


def audit_actions() -> list[str]:
    """The actions in the audit trail, oldest first."""
    return list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def text(response) -> str:
    """The response body as text."""
    return response.get_data(as_text=True)


# Registering

def test_registering_saves_the_card_for_the_site_and_goes_to_the_hand_over(world, issuer, client,
                                                                            today):
    response = post(client, "/cards/new", registration(world, gender="female",
                                                       life_situation="student"))
    [card] = cards()
    assert response.status_code == 302
    assert response.headers["Location"] == f"/cards/{card.number}/handover"
    assert (card.status, card.kind, card.children, card.postcode, card.birth_year) == \
        ("active", "personal", 2, "33100", 1980)
    assert (card.gender, card.life_situation) == ("female", "student")
    assert card.issuing_site_id == world.site_a.id and card.issued_by_id == issuer.id
    assert card.valid_until == valid_until_for(today, world.a.rules())  # 12 months by default
    assert card.link_token_hash is not None
    assert audit_actions() == ["card.register"]


def test_a_holder_who_prefers_not_to_answer_the_voluntary_questions_is_saved_as_unknown(
        world, issuer, client):
    post(client, "/cards/new", registration(world))
    [card] = cards()
    assert card.gender is None and card.life_situation is None


def test_no_choice_that_feeds_the_statistics_is_made_for_the_issuer(world, issuer, client):
    page = text(client.get("/cards/new"))
    for name in ("municipality", "gender", "life_situation"):
        select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S).group(1)
        options = re.findall(r"<option([^>]*)>([^<]*)</option>", select)
        assert options[0][1] == "Valitse…" and 'value=""' in options[0][0]
        assert [attrs for attrs, _ in options if "selected" in attrs] in ([], [options[0][0]])
    assert "checked" not in re.search(r'<fieldset[^>]*>\s*<legend>Korttityyppi.*?</fieldset>',
                                      page, re.S).group(0)
    assert re.search(r'<input[^>]*name="children"[^>]*value=""', page)  # not a silent 0 either


def test_a_choice_left_empty_is_an_error_on_its_field_and_nothing_is_saved(world, issuer, client):
    form = registration(world, municipality="", gender="", life_situation="")
    del form["kind"]
    response = post(client, "/cards/new", form, headers={"Accept-Language": "en"})
    page = text(response)
    assert response.status_code == 400
    for field in ("municipality", "kind", "gender", "life_situation"):
        assert f'id="{field}-error"' in page
    assert "Choose the home municipality." in page and "Choose the card type." in page
    assert cards() == []


def test_every_error_of_the_form_shows_at_once_with_the_allowed_range(world, issuer, client,
                                                                       today):
    response = post(client, "/cards/new", registration(
        world, postcode="abc", children="999", birth_year=str(today.year - 6)),
        headers={"Accept-Language": "fi"})
    page = text(response)
    assert response.status_code == 400
    assert "Postinumerossa on viisi numeroa" in page
    assert "Anna luku väliltä 0–20." in page
    assert f"Syntymävuoden on oltava 1900–{today.year - 16}" in page
    assert page.count('aria-invalid="true"') == 3
    assert cards() == []


@pytest.mark.parametrize("year", ["1850", "1899", "3000"])
def test_a_birth_year_out_of_range_says_which_years_are_allowed(world, issuer, client, today, year):
    page = text(post(client, "/cards/new", registration(world, birth_year=year),
                     headers={"Accept-Language": "en"}))
    assert f"The year of birth must be 1900–{today.year - 16}" in page


def test_the_form_says_which_fields_are_voluntary(world, issuer, client):
    page = text(client.get("/cards/new"))
    assert page.count("(vapaaehtoinen)") == 2 or page.count("(voluntary)") == 2


def test_a_holder_under_sixteen_is_refused_with_the_reason_and_nothing_is_saved(world, issuer,
                                                                                 client, today):
    response = post(client, "/cards/new", registration(world, birth_year=str(today.year - 15)),
                    headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert f"must be 1900–{today.year - 16}: the card is for people aged 16 or over" in \
        text(response)
    assert cards() == [] and audit_actions() == []


def test_a_holder_who_turns_sixteen_this_year_may_register(world, issuer, client, today):
    response = post(client, "/cards/new", registration(world, birth_year=str(today.year - 16)))
    assert response.status_code == 302


@pytest.mark.parametrize("field, value, message", [
    ("postcode", "3310", "five digits"),
    ("postcode", "abcde", "five digits"),
    ("postcode", "٣٣١٠٠", "five digits"),  # Arabic-Indic digits: str.isdigit() says yes
    ("postcode", "３３１００", "five digits"),  # full-width digits
    ("birth_year", "١٩٨٠", "year of birth"),
    ("children", "٢", "Enter a number, 0 if none"),
    ("birth_year", "", "year of birth"),
    ("birth_year", "nineteen", "year of birth"),
    ("children", "-1", "from 0 to 20"),
    ("children", "21", "from 0 to 20"),
    ("municipality", "999999", "Choose a municipality of your region"),
    ("kind", "family", "Choose the card type"),
    ("gender", "unknown", "or “Prefers not to say”"),
    ("preprinted_number", "HELLO", "not a card number"),
])
def test_a_wrong_field_is_named_with_what_to_fix_and_nothing_is_saved(world, issuer, client,
                                                                       field, value, message):
    response = post(client, "/cards/new", registration(world, **{field: value}),
                    headers={"Accept-Language": "en"})
    assert response.status_code == 400
    page = text(response)
    assert message in page
    assert f'id="{field}-error"' in page
    assert 'aria-invalid="true"' in page or f'aria-describedby="{field}-error"' in page  # radios
    assert cards() == []


@pytest.mark.parametrize("postcode", ["٣٣١٠٠", "３３１００", "33¹00"])
def test_the_service_refuses_a_postcode_of_other_digits_than_0_to_9(world, postcode):
    # The last guard behind the form: str.isdigit() says yes to each of these.
    form = service.Registration(municipality_id=municipality_of(world.a).id, postcode=postcode,
                                birth_year=1980, children=0)
    with pytest.raises(service.CardError) as refused:
        service.register(world.users["issuer"], form)
    assert refused.value.code == "bad_postcode"
    assert cards() == []


def test_a_municipality_of_another_region_is_refused(world, issuer, client):
    other = municipality_of(world.b)
    response = post(client, "/cards/new", registration(world, municipality=str(other.id)))
    assert response.status_code == 400
    assert cards() == []


def test_a_pre_printed_card_is_registered_by_its_number_however_it_is_typed(world, issuer, client):
    blank = factories.card(world.a, status="unissued")
    db.session.commit()
    typed = format_number(blank.number).lower().replace("-", " ")
    response = post(client, "/cards/new", registration(world, preprinted_number=typed))
    assert response.headers["Location"] == f"/cards/{blank.number}/handover"
    [card] = cards()
    assert (card.number, card.status, card.issuing_site_id) == (blank.number, "active",
                                                                world.site_a.id)


@pytest.mark.parametrize("situation, message", [
    ("registered", "already been registered"),
    ("other_region", "another region"),
    ("unknown", "No pre-printed card has this number"),
])
def test_a_pre_printed_number_that_cannot_be_registered_says_why(world, issuer, client,
                                                                  situation, message):
    card = factories.card(world.b if situation == "other_region" else world.a,
                          status="active" if situation == "registered" else "unissued")
    db.session.commit()
    number = card.number
    if situation == "unknown":
        db.session.delete(card)
        db.session.commit()
    before = [(c.number, c.status) for c in cards()]
    response = post(client, "/cards/new", registration(world, preprinted_number=number),
                    headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert message in text(response)
    assert [(c.number, c.status) for c in cards()] == before


# Hand-over

def test_the_hand_over_page_offers_printing_and_a_qr_of_the_digital_link(world, issuer, client,
                                                                           new_links):
    post(client, "/cards/new", registration(world))
    [token] = new_links
    [card] = cards()
    page = text(client.get(f"/cards/{card.number}/handover", headers={"Accept-Language": "en"}))
    assert f'href="/cards/{card.number}/card.pdf"' in page
    assert str(qr_svg(f"http://localhost/c/{token}", "Link to the digital card")) in page


def test_the_hand_over_link_is_shown_once_and_then_leaves_the_session(world, issuer, client):
    post(client, "/cards/new", registration(world))
    [card] = cards()
    first = text(client.get(f"/cards/{card.number}/handover"))
    again = text(client.get(f"/cards/{card.number}/handover"))
    assert '<svg class="qr"' in first
    assert '<svg class="qr"' not in again
    assert f'action="/cards/{card.number}/link"' in again
    with client.session_transaction() as session:
        assert "handover" not in session


def test_the_digital_link_of_the_hand_over_opens_the_holders_card(world, issuer, client, app,
                                                                   new_links):
    post(client, "/cards/new", registration(world))
    [card] = cards()
    [token] = new_links
    assert hash_link_token(token) == card.link_token_hash
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    holder_page = client.get(f"/c/{token}")
    assert holder_page.status_code == 200
    assert format_number(card.number) in text(holder_page)


def test_the_hand_over_page_is_kept_in_no_cache(world, issuer, client):
    post(client, "/cards/new", registration(world))
    [card] = cards()
    response = client.get(f"/cards/{card.number}/handover")
    assert '<svg class="qr"' in text(response)
    assert "no-store" in response.headers["Cache-Control"]


def test_the_session_cookie_carries_the_new_holder_link_only_encrypted(world, issuer, client,
                                                                       app, new_links):
    post(client, "/cards/new", registration(world))
    [token] = new_links
    cookie = session_cookie(client)
    decoded = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert "handover" in decoded  # the link is on its way to the hand-over page…
    assert token not in repr(decoded) and token not in cookie  # …but nobody can read it there
    [card] = cards()
    page = text(client.get(f"/cards/{card.number}/handover", headers={"Accept-Language": "en"}))
    assert str(qr_svg(f"http://localhost/c/{token}", "Link to the digital card")) in page


def test_a_hand_over_link_kept_too_long_is_not_shown(world, issuer, client, monkeypatch):
    from app.cards import views
    post(client, "/cards/new", registration(world))
    [card] = cards()
    monkeypatch.setattr(views, "HANDOVER_SECONDS", -1)
    page = text(client.get(f"/cards/{card.number}/handover"))
    assert '<svg class="qr"' not in page and f'action="/cards/{card.number}/link"' in page


# Finding and showing

def test_a_card_is_found_by_its_number_typed_loosely(world, issuer, client):
    card = factories.card(world.a, site=world.site_a)
    db.session.commit()
    loose = format_number(card.number).lower().replace("-", "")
    response = client.get("/cards/", query_string={"number": f"  {loose} "})
    assert response.headers["Location"] == f"/cards/{card.number}"


def test_another_sites_card_is_neither_found_nor_shown(world, issuer, client):
    card = factories.card(world.a, site=world.site_b)
    db.session.commit()
    found = client.get("/cards/", query_string={"number": card.number},
                       headers={"Accept-Language": "en"})
    assert found.status_code == 200 and "No card of yours has this number" in text(found)
    assert client.get(f"/cards/{card.number}").status_code == 404
    assert client.get(f"/cards/{card.number}/card.pdf").status_code == 404


def test_the_card_page_shows_status_validity_and_uses_with_dates_and_venues(world, issuer, client):
    card = factories.card(world.a, site=world.site_a, children=1)
    db.session.add(Visit(card=card, venue=world.theatre, user_id=world.users["boxoffice"].id,
                         adults=1, category="culture", nonce=str(uuid.uuid4()), source="camera",
                         occurred_at=datetime(2026, 3, 4, 12, tzinfo=UTC)))
    db.session.commit()
    page = text(client.get(f"/cards/{card.number}"))
    assert format_number(card.number) in page
    assert "Teatteri" in page and "4.3.2026" in page
    assert "<dd class=\"standing standing-valid\">Voimassa</dd>" in page


def test_the_search_page_lists_the_sites_latest_cards_only(world, issuer, client):
    mine = factories.card(world.a, site=world.site_a)
    theirs = factories.card(world.a, site=world.site_b)
    db.session.commit()
    page = text(client.get("/cards/"))
    assert format_number(mine.number) in page
    assert format_number(theirs.number) not in page


# Actions

def test_renewing_extends_validity_by_the_regions_rules_and_is_audited(world, issuer, client,
                                                                       today):
    world.a.validity = "calendar_year"
    card = factories.card(world.a, site=world.site_a, valid_until=today + timedelta(days=3))
    db.session.commit()
    post(client, f"/cards/{card.number}/renew")
    [card] = cards()
    assert card.valid_until == date(today.year, 12, 31)
    assert audit_actions() == ["card.renew"]


def test_replacing_a_lost_card_gives_a_new_number_with_the_same_facts_and_links_history(
        world, issuer, client):
    old = factories.card(world.a, site=world.site_a, children=3)
    db.session.commit()
    response = post(client, f"/cards/{old.number}/replace", {"reason": "lost"})
    old_card, new_card = cards()
    assert response.headers["Location"] == f"/cards/{new_card.number}/handover"
    assert (old_card.status, old_card.replaced_by_id) == ("lost", new_card.id)
    assert old_card.link_token_hash is None
    assert (new_card.status, new_card.children, new_card.valid_until) == \
        ("active", 3, old_card.valid_until)
    assert new_card.number != old_card.number
    assert audit_actions() == ["card.replace"]
    page = text(client.get(f"/cards/{old_card.number}"))
    assert format_number(new_card.number) in page


def test_replacing_a_damaged_card_marks_it_replaced(world, issuer, client):
    old = factories.card(world.a, site=world.site_a)
    db.session.commit()
    post(client, f"/cards/{old.number}/replace", {"reason": "damaged"})
    assert cards()[0].status == "replaced"


def test_deactivating_needs_one_of_the_fixed_reasons(world, issuer, client):
    card = factories.card(world.a, site=world.site_a)
    db.session.commit()
    post(client, f"/cards/{card.number}/deactivate", {"reason": "I do not like them"})
    assert cards()[0].status == "active"
    post(client, f"/cards/{card.number}/deactivate", {"reason": "holder_request"})
    [card] = cards()
    assert (card.status, card.status_reason) == ("deactivated", "holder_request")
    assert audit_actions() == ["card.deactivate"]
    assert [e.details for e in db.session.scalars(sa.select(AuditEvent))] == [
        {"reason": "holder_request"}]


def test_deactivation_asks_first_with_the_reason_and_changes_nothing_until_confirmed(
        world, issuer, client):
    card = factories.card(world.a, site=world.site_a)
    db.session.commit()
    card_page = text(client.get(f"/cards/{card.number}"))
    assert f'href="/cards/{card.number}/deactivate"' in card_page
    assert f'action="/cards/{card.number}/deactivate"' not in card_page  # no one-tap form
    ask = client.get(f"/cards/{card.number}/deactivate")
    assert ask.status_code == 200
    assert f"Poistetaanko kortti {format_number(card.number)} käytöstä?" in text(ask)
    assert 'name="reason"' in text(ask) and "checked" not in text(ask)
    unanswered = post(client, f"/cards/{card.number}/deactivate", {})
    assert unanswered.status_code == 400
    assert "Valitse, miksi kortti poistetaan käytöstä." in text(unanswered)
    assert cards()[0].status == "active" and audit_actions() == []


def test_a_deactivated_card_offers_undo_and_no_printing_and_its_pdf_is_refused(world, issuer,
                                                                                client):
    card = factories.card(world.a, site=world.site_a)
    db.session.commit()
    done = post(client, f"/cards/{card.number}/deactivate", {"reason": "misuse"},
                follow_redirects=True)
    page = text(done)
    assert "Kortti on poistettu käytöstä. Voit perua tämän 15 minuutin kuluessa." in page
    assert "Poistettu käytöstä (väärinkäyttö)" in page
    assert "Peru käytöstä poisto" in page
    assert "Tulosta kortti" not in page and "card.pdf" not in page
    for query in ("", "?layout=sheet&slot=3"):
        refused = client.get(f"/cards/{card.number}/card.pdf{query}")
        assert refused.status_code == 409 and refused.mimetype == "text/html"
        assert "Korttia ei tulosteta" in text(refused)


def test_undo_within_the_window_restores_the_card_and_is_audited_once(world, issuer, client):
    card = factories.card(world.a, site=world.site_a)
    db.session.commit()
    post(client, f"/cards/{card.number}/deactivate", {"reason": "holder_request"})
    first = post(client, f"/cards/{card.number}/undo-deactivation", follow_redirects=True)
    assert "Käytöstä poisto peruttiin. Kortti on taas käytössä." in text(first)
    [card] = cards()
    assert (card.status, card.status_reason) == ("active", None)
    again = post(client, f"/cards/{card.number}/undo-deactivation", follow_redirects=True)
    assert "peruttavaa ei ole" in text(again)
    assert audit_actions() == ["card.deactivate", "card.undo_deactivate"]
    assert "Tulosta kortti" in text(again)


@pytest.mark.parametrize("status", ["lost", "replaced", "active"])
def test_only_a_deactivation_is_undone_never_a_replacement(world, issuer, client, status):
    card = factories.card(world.a, site=world.site_a, status=status)
    db.session.commit()
    answer = post(client, f"/cards/{card.number}/undo-deactivation", follow_redirects=True)
    assert "peruttavaa ei ole" in text(answer)
    assert cards()[0].status == status and audit_actions() == []


def test_a_second_deactivate_click_changes_nothing_and_says_so(world, issuer, client):
    card = factories.card(world.a, site=world.site_a)
    db.session.commit()
    post(client, f"/cards/{card.number}/deactivate", {"reason": "misuse"})
    again = post(client, f"/cards/{card.number}/deactivate", {"reason": "other"},
                 follow_redirects=True)
    assert "Kortti oli jo poistettu käytöstä." in text(again)
    assert cards()[0].status_reason == "misuse" and audit_actions() == ["card.deactivate"]


def test_undo_after_the_window_is_refused(world, issuer, client):
    card = factories.card(world.a, site=world.site_a)
    db.session.commit()
    post(client, f"/cards/{card.number}/deactivate", {"reason": "misuse"})
    db.session.rollback()
    entry = db.session.scalar(sa.select(AuditEvent))
    entry.at = datetime.now(UTC) - timedelta(minutes=rules.DEACTIVATION_UNDO_MINUTES, seconds=5)
    db.session.commit()
    page = text(client.get(f"/cards/{card.number}"))
    assert "Peru käytöstä poisto" not in page
    refused = post(client, f"/cards/{card.number}/undo-deactivation", follow_redirects=True)
    assert "15 minuutin kuluessa" in text(refused)
    assert cards()[0].status == "deactivated" and audit_actions() == ["card.deactivate"]


def test_only_the_issuer_who_deactivated_may_undo(world, issuer, client, auth):
    card = factories.card(world.a, site=world.site_a)
    colleague = factories.user("issuer-a2", "issuer", region=world.a, site=world.site_a)
    db.session.commit()
    post(client, f"/cards/{card.number}/deactivate", {"reason": "misuse"})
    auth.logout()
    auth.login(colleague.username)
    assert "Peru käytöstä poisto" not in text(client.get(f"/cards/{card.number}"))
    post(client, f"/cards/{card.number}/undo-deactivation")
    assert cards()[0].status == "deactivated"


@pytest.mark.parametrize("method, action", [("GET", "deactivate"), ("POST", "deactivate"),
                                            ("POST", "undo-deactivation")])
def test_another_sites_card_cannot_be_deactivated_or_restored(world, issuer, client, method,
                                                              action):
    card = factories.card(world.a, site=world.site_b, status="active")
    db.session.commit()
    path = f"/cards/{card.number}/{action}"
    response = client.get(path) if method == "GET" else post(client, path, {"reason": "misuse"})
    assert response.status_code == 404
    assert cards()[0].status == "active" and audit_actions() == []


def test_an_expired_card_shows_as_expired_with_renewal_as_the_main_action(world, issuer, client,
                                                                          today):
    card = factories.card(world.a, site=world.site_a, valid_until=today - timedelta(days=3))
    db.session.commit()
    page = text(client.get(f"/cards/{card.number}"))
    assert '<dd class="standing standing-expired">Vanhentunut</dd>' in page
    main = page[page.index("</h1>"):page.index('<dl')]  # first, before the card's facts
    assert "button primary wide big" in main and "Jatka voimassaoloa" in main
    assert "Tulosta kortti" not in page
    assert "Vanhentunut" in text(client.get("/cards/"))
    assert client.get(f"/cards/{card.number}/card.pdf").status_code == 409
    post(client, f"/cards/{card.number}/renew")
    assert cards()[0].valid_until > today
    assert client.get(f"/cards/{card.number}/card.pdf").status_code == 200


def test_a_new_digital_link_stops_the_old_one(world, issuer, client, new_links):
    card = factories.card(world.a, site=world.site_a)
    db.session.commit()
    post(client, f"/cards/{card.number}/link")
    post(client, f"/cards/{card.number}/link")
    first, second = new_links
    assert first != second
    assert cards()[0].link_token_hash == hash_link_token(second)
    assert audit_actions() == ["card.new_link", "card.new_link"]


def test_a_deactivated_card_cannot_be_renewed(world, issuer, client):
    card = factories.card(world.a, site=world.site_a, status="deactivated")
    valid_until = card.valid_until
    db.session.commit()
    response = post(client, f"/cards/{card.number}/renew", follow_redirects=True,
                    headers={"Accept-Language": "en"})
    assert "Only an active card can be changed" in text(response)
    assert cards()[0].valid_until == valid_until


def test_an_action_without_its_csrf_token_changes_nothing(world, issuer, client):
    card = factories.card(world.a, site=world.site_a)
    db.session.commit()
    response = client.post(f"/cards/{card.number}/deactivate", data={"reason": "misuse"})
    assert response.status_code == 400
    assert cards()[0].status == "active"


# Printing

def test_the_printable_card_is_a_pdf(world, issuer, client):
    card = factories.card(world.a, site=world.site_a)
    db.session.commit()
    for query in ("", "?layout=sheet"):
        response = client.get(f"/cards/{card.number}/card.pdf{query}")
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF")


def test_one_card_is_printed_in_the_place_of_the_sheet_the_issuer_chose(world, issuer, client,
                                                                         tmp_path):
    card = factories.card(world.a, site=world.site_a)
    db.session.commit()
    page = text(client.get(f"/cards/{card.number}"))
    assert 'id="slot" name="slot"' in page and "Paikka arkilla" in page
    assert '<option value="7">7 (rivi 4, vasen)</option>' in page
    pdf = client.get(f"/cards/{card.number}/card.pdf", query_string={"layout": "sheet", "slot": "7"})
    assert pdf.status_code == 200
    [(_, _, left, top)] = [b for b in word_boxes_mm(pdf.data, tmp_path)
                           if b[1] == format_number(card.number)]
    assert slot_of(left, top) == 6  # the seventh place, counted from 0


@pytest.mark.parametrize("slot", ["0", "11", "seven"])
def test_a_place_not_on_the_sheet_is_refused(world, issuer, client, slot):
    card = factories.card(world.a, site=world.site_a)
    db.session.commit()
    response = client.get(f"/cards/{card.number}/card.pdf",
                          query_string={"layout": "sheet", "slot": slot})
    assert response.status_code == 400


def test_a_coordinator_prints_a_batch_of_blank_numbered_cards_for_the_region(world, auth, client):
    auth.login("coord-a")
    response = post(client, "/cards/blank", {"count": "3"})
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    made = cards()
    assert [(c.status, c.region_id, c.issuing_site_id) for c in made] == \
        [("unissued", world.a.id, None)] * 3
    assert audit_actions() == ["card.blank_batch"]


@pytest.mark.parametrize("count", ["0", "501", "many"])
def test_a_batch_size_out_of_range_is_refused_with_a_message(world, auth, client, count):
    auth.login("coord-a")
    response = post(client, "/cards/blank", {"count": count}, headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert 'id="count-error"' in text(response)
    assert cards() == []


# Who may do what

ISSUING_PAGES = [("GET", "/cards/new"), ("POST", "/cards/new"), ("GET", "/cards/{n}/handover"),
                 ("POST", "/cards/{n}/renew"), ("POST", "/cards/{n}/replace"),
                 ("POST", "/cards/{n}/deactivate"), ("POST", "/cards/{n}/link")]


@pytest.mark.parametrize("username", ["box-a", "coord-a", "admin1"])
@pytest.mark.parametrize("method, path", ISSUING_PAGES)
def test_issuing_actions_are_forbidden_to_every_other_role(world, auth, client, username,
                                                          method, path):
    card = factories.card(world.a, site=world.site_a)
    db.session.commit()
    auth.login(username)
    path = path.format(n=card.number)
    response = client.get(path) if method == "GET" else post(client, path, {"reason": "misuse"})
    assert response.status_code == 403
    assert cards()[0].status == "active"


@pytest.mark.parametrize("username, status", [("issuer-a", 403), ("box-a", 403),
                                              ("admin1", 403), ("coord-a", 200)])
def test_only_coordinators_print_blank_batches(world, auth, client, username, status):
    auth.login(username)
    assert client.get("/cards/blank").status_code == status


def test_a_coordinator_may_reprint_a_blank_card_of_the_region_only(world, auth, client):
    mine, theirs = factories.card(world.a, status="unissued"), factories.card(world.b,
                                                                             status="unissued")
    db.session.commit()
    auth.login("coord-a")
    assert client.get(f"/cards/{mine.number}/card.pdf").status_code == 200
    assert client.get(f"/cards/{theirs.number}/card.pdf").status_code == 404


def test_an_admin_may_look_up_any_card_but_not_change_it(world, auth, client):
    card = factories.card(world.b, site=world.site_b)
    db.session.commit()
    auth.login("admin1")
    assert client.get(f"/cards/{card.number}").status_code == 200
    assert post(client, f"/cards/{card.number}/deactivate", {"reason": "misuse"}).status_code == 403


def test_two_replace_clicks_at_once_give_the_holder_one_new_card(app, world):
    import threading

    from app.cards import service
    from app.models import User

    card = factories.card(world.a, site=world.site_a)
    db.session.commit()
    card_id, issuer_id = card.id, world.users["issuer"].id
    barrier, outcomes = threading.Barrier(2), []

    def click() -> None:
        with app.app_context():
            barrier.wait()
            try:
                service.replace(db.session.get(User, issuer_id), db.session.get(Card, card_id),
                                "lost")
                outcomes.append("replaced")
            except service.CardError as exc:
                outcomes.append(exc.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["not_active", "replaced"]
    assert [c.status for c in cards()].count("active") == 1
