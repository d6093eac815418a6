"""The conflict queue across regions, at 360 × 640 and on a desktop, in Finnish and Swedish: the
card's region sees a record flagged at another region's venue without that venue or its staff,
and of the card's visits elsewhere only how many there are (issue 12, points 3 and 4).
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_issuing import log_in
from tests.browser.test_management import sign_in, submit
from tests.browser.test_management_words import registered_card, shoot

REGION = "Uusimaa"
MUSEUM = "Museo Uusimaa"
BOX_OFFICE, PASSWORD = "museo.kassa", "Museon-ovi-2026"


def add_national_region_with_a_box_office(browser: Browser, live_server) -> None:
    """The administrator adds a third region in the national network, a museum and its box office."""
    context = browser.new_context(locale="fi-FI")
    try:
        admin = context.new_page()
        log_in(admin, live_server, "admin")
        admin.goto(f"{live_server.url}/manage/regions/new")
        admin.locator("#code").fill("UUSI")
        admin.locator("#name_fi").fill(REGION)
        submit(admin)
        admin.goto(f"{live_server.url}/manage/venues/new")
        admin.locator("#region").select_option(label=REGION)
        admin.locator("#name").fill(MUSEUM)
        admin.locator("#category").select_option("culture")
        admin.locator("#art_form").select_option("museum")
        submit(admin)
        expect(admin).to_have_url(f"{live_server.url}/manage/venues")
        admin.goto(f"{live_server.url}/manage/staff/new")
        admin.locator("#username").fill(BOX_OFFICE)
        admin.locator("#role").select_option("boxoffice")
        admin.locator("#region").select_option(label=REGION)
        admin.get_by_label(f"{MUSEUM} (UUSI)", exact=True).check()
        admin.locator("#password").fill(PASSWORD)
        submit(admin)
        expect(admin.locator("main h1")).to_contain_text(BOX_OFFICE)
    finally:
        context.close()


def sync(browser: Browser, live_server, number: str, times: list[datetime],
         username: str, password: str | None = None) -> list[dict]:
    """A box office's scanner syncs offline records of one card at its first venue."""
    context = browser.new_context(locale="fi-FI")
    try:
        scanner = context.new_page()
        if password is None:
            log_in(scanner, live_server, username)
        else:
            sign_in(scanner, live_server, username, password)
            expect(scanner).to_have_url(f"{live_server.url}/scan")
        token = scanner.locator('meta[name="csrf-token"]').get_attribute("content")
        venues = scanner.request.get(f"{live_server.url}/api/scan/venues").json()["venues"]
        visits = [{"code": number.replace("-", ""), "venue_id": venues[0]["id"], "event_id": None,
                   "adults": 1, "children": 0, "assistants": 0, "nonce": str(uuid.uuid4()),
                   "occurred_at": at.isoformat(), "source": "offline"} for at in times]
        answer = scanner.request.post(f"{live_server.url}/api/scan/sync", data={"visits": visits},
                                      headers={"X-CSRFToken": token})
        assert answer.ok, answer.text()
        return answer.json()["results"]
    finally:
        context.close()


@pytest.fixture(scope="module")
def crossing(browser: Browser, live_server) -> str:
    """A Pirkanmaa card used at home, then recorded twice at Uusimaa's museum: the second flagged."""
    add_national_region_with_a_box_office(browser, live_server)
    number = registered_card(browser, live_server, "issuer")
    now = datetime.now(UTC)
    [home] = sync(browser, live_server, number, [now - timedelta(minutes=40)], "boxoffice")
    first, second = sync(browser, live_server, number,
                         [now - timedelta(minutes=20), now - timedelta(minutes=10)],
                         BOX_OFFICE, PASSWORD)
    assert (home["conflict"], first["conflict"], second["conflict"]) == (None, None, "already_used")
    return number


WORDS = {
    "fi": {"venue": f"Kohde toisella alueella: {REGION}",
           "count": "Kortilla on 1 muu kirjaus samaan tapahtumaan tai samalle päivälle muilla alueilla.",
           "resolver": "Tämän kirjauksen ratkaisee kohteen alueen koordinaattori."},
    "sv": {"venue": f"En plats i en annan region: {REGION}",
           "count": "Kortet har 1 annan registrering för samma evenemang eller dag i andra regioner.",
           "resolver": "Koordinatorn för platsens region avgör den här registreringen."},
}


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_the_cards_region_sees_a_conflict_elsewhere_without_the_venue_or_its_staff(
        page: Page, live_server, crossing, language):
    log_in(page, live_server, "coordinator")
    page.goto(f"{live_server.url}/lang/{language}?next=/manage/conflicts")
    section = page.locator("main section.action").filter(has_text=crossing)
    expect(section).to_have_count(1)
    words = WORDS[language]
    expect(section).to_contain_text(words["venue"])
    expect(section).to_contain_text(words["count"])
    expect(section).to_contain_text(words["resolver"])
    expect(section.locator("form")).to_have_count(0)  # Uusimaa's coordinator resolves it
    expect(section.locator("table")).to_contain_text("boxoffice")  # its own region's visit
    for hidden in (MUSEUM, BOX_OFFICE):
        expect(section).not_to_contain_text(hidden)
    shoot(page, f"conflicts-crossing-{language}-360")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_no_axe_violations(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    shoot(page, f"conflicts-crossing-{language}-desktop")


def test_the_administrator_sees_the_venue_and_the_staff_of_every_region(page: Page, live_server,
                                                                         crossing):
    log_in(page, live_server, "admin")
    page.goto(f"{live_server.url}/manage/conflicts")
    section = page.locator("main section.action").filter(has_text=crossing)
    expect(section).to_contain_text(MUSEUM)
    expect(section.locator("table")).to_contain_text(BOX_OFFICE)
    expect(section.locator("form")).to_have_count(1)
    shoot(page, "conflicts-crossing-admin-fi-360")
