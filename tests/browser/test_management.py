"""A regional coordinator at a 360 × 640 phone: a venue, a weekly course there and a box-office
account that then scans at it; axe on every management screen in fi and sv.

The management texts are being translated: labels are matched in Finnish or in the English
source, and fields whose Finnish label is not settled yet are found by their ids.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from app.rules import TZ
from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_issuing import log_in

NAME = re.compile("nimi|name", re.IGNORECASE)
VENUE = re.compile("Kohde|Venue")
COURSE = re.compile("Kurssi|Course")
USERNAME = re.compile("Käyttäjätunnus|Användarnamn|Username")
PASSWORD = re.compile("Salasana|Lösenord|Password")
ROLE = re.compile("Rooli|Role")
LOG_IN = re.compile("Kirjaudu sisään|Logga in|Log in")
COUNT = 12


def submit(page: Page) -> None:
    """Press the page's form button (the logout button in the menu is not in <main>)."""
    page.locator("main form[method=post] button[type=submit]").first.click()


def add_venue(page: Page, live_server, name: str) -> None:
    """Fill in the new-venue form by its labels and send it."""
    page.goto(f"{live_server.url}/manage/venues/new")
    page.get_by_label(NAME).fill(name)
    page.locator("#category").select_option("education")
    page.locator("#art_form").select_option("course")
    submit(page)
    expect(page).to_have_url(f"{live_server.url}/manage/venues")


def sign_in(page: Page, live_server, username: str, password: str) -> None:
    """Log in through the form with an account made in the test."""
    page.goto(f"{live_server.url}/login")
    page.get_by_label(USERNAME).fill(username)
    page.get_by_label(PASSWORD).fill(password)
    page.get_by_role("button", name=LOG_IN).click()


def test_a_coordinator_adds_a_venue_and_finds_it_in_the_venue_list(page, live_server):
    log_in(page, live_server, "coordinator")
    add_venue(page, live_server, "Kulttuurikeskus Kaiku")
    expect(page.locator("main table").get_by_role("link", name="Kulttuurikeskus Kaiku",
                                                  exact=True)).to_be_visible()


def test_a_coordinator_creates_a_weekly_course_of_twelve_events(page, live_server):
    log_in(page, live_server, "coordinator")
    add_venue(page, live_server, "Työväentalo")
    first = datetime.now(TZ).date() + timedelta(weeks=1)
    page.goto(f"{live_server.url}/manage/events/series/new")
    page.get_by_label(VENUE).select_option(label="Työväentalo")
    page.locator("#title").fill("Keramiikkakurssi")
    page.locator("#first_date").fill(first.isoformat())
    page.locator("#start_time").fill("17:00")
    page.locator("#every_weeks").select_option("1")
    page.locator("#count").fill(str(COUNT))
    page.get_by_role("radio", name=COURSE).check()
    submit(page)

    expect(page.locator("main [role=status]")).to_contain_text(str(COUNT))
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(COUNT)
    expect(rows.filter(has_text="Keramiikkakurssi").filter(has_text="Työväentalo")
           .filter(has_text=re.compile(r"17[.:]00"))).to_have_count(COUNT)
    days = [first + timedelta(weeks=n) for n in range(COUNT)]
    stamps = rows.locator("time").evaluate_all("times => times.map(t => t.dateTime)")
    assert [datetime.fromisoformat(s).astimezone(TZ).date() for s in stamps] == days


def test_a_new_box_office_account_logs_in_and_scans_at_its_venue(page, browser: Browser,
                                                                 live_server):
    log_in(page, live_server, "coordinator")
    add_venue(page, live_server, "Nuorisotalo Kipinä")
    page.goto(f"{live_server.url}/manage/staff/new")
    page.get_by_label(USERNAME).fill("kipina.kassa")
    page.get_by_label(ROLE).select_option("boxoffice")
    page.get_by_label("Nuorisotalo Kipinä", exact=True).check()
    page.get_by_label(PASSWORD).fill("Kipinän-ovi-2026")
    submit(page)
    expect(page.locator("main h1")).to_contain_text("kipina.kassa")

    desk = browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True,
                               has_touch=True, locale="fi-FI")
    try:
        box_office = desk.new_page()
        sign_in(box_office, live_server, "kipina.kassa", "Kipinän-ovi-2026")
        expect(box_office).to_have_url(f"{live_server.url}/scan")
        # Its only venue has no events today, so the scanner needs no choice.
        expect(box_office.locator("[data-place-venue]")).to_have_text("Nuorisotalo Kipinä")
    finally:
        desk.close()


MANAGEMENT_PAGES = ["/manage/", "/manage/venues", "/manage/venues/new", "/manage/events",
                    "/manage/events/series/new", "/manage/staff", "/manage/staff/new",
                    "/manage/audit", "/manage/conflicts", "/manage/regions"]


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_the_management_screens_have_no_axe_violations(page, live_server, language):
    log_in(page, live_server, "coordinator")
    page.goto(f"{live_server.url}/lang/{language}?next=/manage/")
    for path in MANAGEMENT_PAGES:
        if path != "/manage/":
            page.goto(live_server.url + path)
        expect(page.locator("html")).to_have_attribute("lang", language)
        assert_no_axe_violations(page)

    page.goto(f"{live_server.url}/manage/venues/new")
    submit(page)  # no name: the form comes back with the error on the field
    expect(page.locator("#name-error")).to_be_visible()
    expect(page.locator("#name")).to_have_attribute("aria-invalid", "true")
    assert_no_axe_violations(page)

    page.goto(f"{live_server.url}/manage/staff")
    page.locator("main table").get_by_role("link", name="boxoffice", exact=True).click()
    expect(page.locator("#password-heading")).to_be_visible()
    assert_no_axe_violations(page)
