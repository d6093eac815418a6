"""The holder's digital card: the private link, its manifest and its service worker."""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from babel.dates import format_date

from app.cardcodes import format_number
from app.cards.service import new_link_token, qr_payload
from app.extensions import db
from app.holder import service
from app.models import Card, Visit
from app.printing.qr import qr_svg
from app.rules import TZ
from tests.support import factories

QR_SVG = '<svg class="qr"'
NOT_VALID_HEADINGS = {
    "expired": "This card is no longer valid",
    "deactivated": "This card has been deactivated",
    "lost": "This card has been reported lost",
    "replaced": "This card has been replaced by a new card",
}


def linked(card: Card) -> str:
    """Give the card a holder link, commit, and return the link's path."""
    token = new_link_token(card)
    db.session.commit()
    return f"/c/{token}"


def visit(world, card: Card, occurred_at: datetime, status: str = "ok") -> Visit:
    """A recorded use of the card at region A's theatre."""
    obj = Visit(card=card, venue=world.theatre, user_id=world.users["boxoffice"].id,
                category=world.theatre.category, occurred_at=occurred_at,
                nonce=str(uuid.uuid4()), source="camera", status=status)
    db.session.add(obj)
    return obj


def text_of(response) -> str:
    """The page's text with tags and runs of white space collapsed, for phrase checks."""
    html = response.get_data(as_text=True)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def served(client, path: str) -> bool:
    """Whether a static file answers 200 (the response is closed: it holds the file open)."""
    with client.get(path) as response:
        return response.status_code == 200


def english_date(day) -> str:
    """A date as the English page writes it: as in Finland."""
    return format_date(day, "short", locale="en_FI")


@pytest.fixture
def client(client):
    """A browser that asks for English, the source language of the messages checked here."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def active_card(world) -> Card:
    """An active personal card of region A with two children."""
    card = factories.card(world.a, children=2, site=world.site_a)
    db.session.commit()
    return card


# The card page


def test_a_valid_card_shows_its_qr_number_validity_children_region_and_uses(client, world,
                                                                            active_card):
    path = linked(active_card)
    response = client.get(path)
    assert response.status_code == 200
    html, text = response.get_data(as_text=True), text_of(response)
    assert html.count(QR_SVG) == 1
    expected_qr = qr_svg(qr_payload(active_card), "label")
    assert re.search(r' d="([^"]+)"', expected_qr).group(1) in html
    assert format_number(active_card.number) in text
    assert f"Valid until {english_date(active_card.valid_until)}" in text
    assert "Children 2" in text
    assert "Region Region AAA" in text  # the English name of region AAA
    assert "Uses this year 0" in text
    assert "Turn your screen brightness up" in text


def test_uses_this_year_counts_only_this_years_ok_visits(client, world, active_card, now):
    this_year = datetime(now.astimezone(TZ).year, 1, 1, 12, tzinfo=TZ)
    visit(world, active_card, this_year)
    visit(world, active_card, now - timedelta(minutes=5))
    visit(world, active_card, this_year - timedelta(days=2))
    visit(world, active_card, this_year + timedelta(hours=1), status="annulled")
    visit(world, factories.card(world.a), now)
    path = linked(active_card)
    assert "Uses this year 2" in text_of(client.get(path))


def test_the_year_of_uses_is_the_finnish_calendar_year(world, active_card):
    new_year = datetime(2026, 1, 1, tzinfo=TZ)
    visit(world, active_card, new_year + timedelta(minutes=30))  # 2025-12-31 22:30 UTC
    visit(world, active_card, new_year - timedelta(minutes=30))  # still 2025 in Helsinki
    db.session.commit()
    assert service.uses_this_year(active_card, datetime(2026, 6, 1, tzinfo=UTC)) == 1
    assert service.uses_this_year(active_card, datetime(2025, 6, 1, tzinfo=UTC)) == 1
    assert service.uses_this_year(active_card, datetime(2027, 6, 1, tzinfo=UTC)) == 0


def test_a_community_card_says_so_and_gives_its_group_size(client, world):
    card = factories.card(world.a, kind="community")
    path = linked(card)
    text = text_of(client.get(path))
    assert "Community card" in text
    assert f"up to {world.a.community_group_size} clients and one worker" in text


def test_the_region_name_follows_the_page_language(client, world, active_card):
    path = linked(active_card)
    response = client.get(path, headers={"Accept-Language": "sv-FI,sv;q=0.9"})
    assert "Område AAA" in text_of(response)


def test_a_card_valid_until_today_is_still_valid(client, world, today):
    card = factories.card(world.a, valid_until=today)
    path = linked(card)
    assert QR_SVG in client.get(path).get_data(as_text=True)


@pytest.mark.parametrize("state", ["expired", "deactivated", "lost", "replaced"])
def test_a_card_that_is_not_valid_says_so_plainly_and_shows_no_qr(client, world, today, state):
    if state == "expired":
        card = factories.card(world.a, valid_until=today - timedelta(days=1))
    else:
        card = factories.card(world.a, status=state)
    path = linked(card)
    response = client.get(path)
    assert response.status_code == 200
    html, text = response.get_data(as_text=True), text_of(response)
    assert QR_SVG not in html
    assert NOT_VALID_HEADINGS[state] in text
    assert 'class="holder-status-icon"' in html
    assert format_number(card.number) in text


def test_an_expired_card_says_when_it_expired(client, world, today):
    until = today - timedelta(days=3)
    card = factories.card(world.a, valid_until=until)
    text = text_of(client.get(linked(card)))
    assert f"It expired on {english_date(until)}." in text


def test_finnish_pages_write_dates_the_finnish_way(client, world):
    card = factories.card(world.a, valid_until=datetime(2031, 2, 3).date())
    response = client.get(linked(card), headers={"Accept-Language": "fi"})
    assert "3.2.2031" in text_of(response)


def test_status_wins_over_expiry_as_at_the_door(client, world, today):
    card = factories.card(world.a, status="lost", valid_until=today - timedelta(days=1))
    assert NOT_VALID_HEADINGS["lost"] in text_of(client.get(linked(card)))


# Links that open nothing


NOT_IN_USE = {
    "fi": "Tämä korttilinkki ei ole käytössä Pyydä uusi palvelusta, josta sait kortin.",
    "sv": "Den här kortlänken används inte Be om en ny från tjänsten där du fick kortet.",
    "en": "This card link is not in use Ask for a new one from the service that gave you the card.",
}
MALFORMED = ["/c/" + "A" * 32, "/c/unknown-token", "/c/", "/c/%20", "/c/" + "x" * 500,
             "/c/abc/def", "/c/..%2F..%2Flogin", "/c/Ä€😀"]


def not_in_use_page(client, path: str, **kwargs):
    """The answer to a card link that opens nothing: 404, and not kept by any cache."""
    response = client.get(path, **kwargs)
    assert response.status_code == 404
    assert response.headers["Cache-Control"] == "no-store"
    return response


@pytest.mark.parametrize("accept, lang", [("fi-FI,fi;q=0.9", "fi"), ("sv-FI,sv;q=0.9", "sv"),
                                          ("en-GB,en;q=0.8", "en"), ("de", "fi")])
def test_an_unknown_card_link_tells_the_holder_in_the_browsers_language(client, world,
                                                                        accept, lang):
    response = not_in_use_page(client, "/c/" + "A" * 32, headers={"Accept-Language": accept})
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html
    assert NOT_IN_USE[lang] in text_of(response)
    assert "The page was not found." not in html


@pytest.mark.parametrize("path", MALFORMED)
def test_every_link_under_c_that_opens_no_card_gets_the_holders_page(client, world, path):
    assert NOT_IN_USE["en"] in text_of(not_in_use_page(client, path))


def test_the_page_for_a_link_not_in_use_has_no_staff_links_even_for_staff(client, auth, world):
    staff_paths = ("/login", "/logout", "/manage", "/cards", "/stats", "/scan")
    visitor = not_in_use_page(client, "/c/unknown").get_data(as_text=True)
    auth.login("coord-a")
    signed_in = not_in_use_page(client, "/c/unknown").get_data(as_text=True)
    for html in (visitor, signed_in):
        hrefs = re.findall(r'(?:href|action)="([^"]*)"', html)
        assert not [h for h in hrefs if h == "/" or h.startswith(staff_paths)], hrefs
        assert 'class="mainnav"' not in html
        assert 'class="button"' not in html


def test_the_card_page_shows_no_staff_menu_to_a_signed_in_issuer(client, auth, world,
                                                                active_card):
    path = linked(active_card)
    auth.login("issuer-a")
    html = client.get(path).get_data(as_text=True)
    assert QR_SVG in html
    assert 'class="mainnav"' not in html
    assert 'href="/"' not in html and 'action="/logout"' not in html


def test_a_replaced_link_and_an_unknown_one_get_the_same_page(client, world, active_card):
    replaced = linked(active_card)
    linked(active_card)
    unknown = "/c/" + "B" * len(replaced.removeprefix("/c/"))
    pages = [not_in_use_page(client, path).get_data(as_text=True).replace(path, "/c/LINK")
             for path in (replaced, unknown)]
    assert pages[0] == pages[1]
    for revealing in (format_number(active_card.number), active_card.number, QR_SVG,
                      "manifest", "Region AAA", "Alue AAA", "Valid until", "replaced",
                      "data-service-worker"):
        assert revealing not in pages[0]


def test_a_replaced_link_stops_working_and_the_new_one_opens_the_card(client, world,
                                                                      active_card):
    old = linked(active_card)
    new = linked(active_card)
    assert client.get(old).status_code == 404
    assert client.get(f"{old}/manifest.webmanifest").status_code == 404
    assert client.get(new).status_code == 200


def test_a_blank_unissued_card_has_no_page(client, world):
    blank = factories.card(world.a, status="unissued")
    path = linked(blank)
    assert client.get(path).status_code == 404
    assert client.get(f"{path}/manifest.webmanifest").status_code == 404


# Language, privacy headers and access


@pytest.mark.parametrize("accept, lang", [("sv-FI,sv;q=0.9", "sv"), ("en-GB,en;q=0.8", "en"),
                                          ("fi", "fi"), ("de", "fi")])
def test_the_page_speaks_the_browsers_language(client, world, active_card, accept, lang):
    response = client.get(linked(active_card), headers={"Accept-Language": accept})
    assert f'<html lang="{lang}">' in response.get_data(as_text=True)


def test_the_language_switch_returns_to_the_card(client, world, active_card):
    path = linked(active_card)
    html = client.get(path).get_data(as_text=True)
    assert f'href="/lang/sv?next={path}"' in html
    response = client.get(f"/lang/sv?next={path}")
    assert response.headers["Location"] == path
    assert '<html lang="sv">' in client.get(path).get_data(as_text=True)


@pytest.mark.parametrize("suffix", ["", "/manifest.webmanifest"])
def test_card_responses_keep_the_link_private(client, world, active_card, suffix):
    response = client.get(linked(active_card) + suffix)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert response.headers["X-Robots-Tag"] == "noindex"


@pytest.mark.parametrize("path", ["/c/unknown-token", "/c/abc/def"])
def test_a_link_not_in_use_also_sends_no_referrer(client, world, path):
    response = not_in_use_page(client, path)
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Robots-Tag"] == "noindex"


def test_the_page_links_its_manifest_and_loads_its_script_as_a_module(client, world,
                                                                      active_card):
    path = linked(active_card)
    html = client.get(path).get_data(as_text=True)
    assert f'<link rel="manifest" href="{path}/manifest.webmanifest">' in html
    assert '<script type="module" src="/static/holder/register.js"></script>' in html
    assert '<script type="module" src="/static/holder/live.js"></script>' in html
    assert 'data-service-worker="/c/sw.js"' in html
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None, "no inline script"


def test_a_holder_needs_no_account_while_staff_pages_still_require_login(client, world,
                                                                         active_card):
    path = linked(active_card)
    for public_path in (path, f"{path}/manifest.webmanifest", "/c/sw.js"):
        assert client.get(public_path).status_code == 200
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


# Manifest and service worker


def test_the_manifest_installs_this_card_from_its_own_link(client, world, active_card):
    path = linked(active_card)
    response = client.get(f"{path}/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json(force=True)
    assert manifest["name"] == "Kaikukortti"
    assert manifest["start_url"] == manifest["scope"] == path
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == "#5b2a86"
    sizes = {(icon["sizes"], icon["type"]) for icon in manifest["icons"]}
    assert sizes == {("192x192", "image/png"), ("512x512", "image/png")}
    for icon in manifest["icons"]:
        assert served(client, icon["src"])


@pytest.mark.parametrize("size", [192, 512])
def test_the_home_screen_icons_are_square_pngs_on_the_brand_purple(app, size):
    from PIL import Image

    with Image.open(f"{app.static_folder}/holder/icon-{size}.png") as icon:
        assert icon.format == "PNG"
        assert icon.size == (size, size)
        assert icon.convert("RGB").getpixel((2, 2)) == (0x5B, 0x2A, 0x86)


def test_the_service_worker_is_javascript_that_caches_the_cards_assets(client):
    response = client.get("/c/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    script = response.get_data(as_text=True)
    for asset in ("/static/css/app.css", "/static/css/holder.css", "/static/holder/register.js",
                  "/static/holder/live.js", "/static/holder/icon-192.png",
                  "/static/holder/icon-512.png"):
        assert f'"{asset}"' in script
        assert served(client, asset)
    assert re.search(r'const CACHE = "kaiku-holder-[0-9a-f]{12}";', script)
