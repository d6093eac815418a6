"""The login page in a real browser on a 360 × 640 phone."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_no_axe_violations

# Labels a person reads: the English msgid, or the Finnish and Swedish words once translated.
USERNAME = re.compile(r"^(Username|Käyttäjätunnus|Användarnamn)$")
PASSWORD = re.compile(r"^(Password|Salasana|Lösenord)$")
LOG_IN = re.compile(r"^(Log in|Kirjaudu sisään|Logga in)$")
LOG_OUT = re.compile(r"^(Log out|Kirjaudu ulos|Logga ut)$")
SCREENSHOT = "/tmp/login-360.png"


def log_in(page: Page, username: str, password: str) -> None:
    """Fill the login form by its labels and send it."""
    page.get_by_label(USERNAME).fill(username)
    page.get_by_label(PASSWORD).fill(password)
    page.get_by_role("button", name=LOG_IN).click()


def test_login_page_fits_a_360_px_phone_without_horizontal_scroll(page, live_server):
    page.goto(f"{live_server.url}/login")
    page.screenshot(path=SCREENSHOT)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    for control in (page.get_by_label(USERNAME), page.get_by_label(PASSWORD),
                    page.get_by_role("button", name=LOG_IN)):
        expect(control).to_be_visible()
        assert control.bounding_box()["height"] >= 44


def test_wrong_password_shows_an_alert_and_stays_on_the_login_page(page, live_server):
    page.goto(f"{live_server.url}/login")
    log_in(page, "coordinator-kym", "not-the-password")
    expect(page.get_by_role("alert")).not_to_be_empty()
    expect(page).to_have_url(f"{live_server.url}/login")
    expect(page.get_by_label(PASSWORD)).to_be_visible()


def test_issuer_logs_in_to_the_start_page_and_logs_out_to_the_login_page(page, live_server):
    issuer = live_server.account("issuer")
    page.goto(f"{live_server.url}/login")
    log_in(page, issuer["username"], issuer["password"])
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/(scan)?$"))  # box office: its scanner
    expect(page.locator("main p").filter(has_text=re.compile(r"\bissuer\b"))).to_be_visible()
    page.get_by_role("button", name=LOG_OUT).click()
    expect(page).to_have_url(f"{live_server.url}/login")
    expect(page.get_by_label(USERNAME)).to_be_visible()


def test_language_switch_to_swedish_sets_html_lang_and_stays_on_the_login_page(page, live_server):
    page.goto(f"{live_server.url}/login")
    expect(page.locator("html")).to_have_attribute("lang", "fi")
    page.get_by_role("navigation").get_by_role("link", name="På svenska").click()
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page).to_have_url(f"{live_server.url}/login")


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_login_page_has_no_axe_violations(page, live_server, language):
    page.goto(f"{live_server.url}/lang/{language}?next=/login")
    expect(page.locator("html")).to_have_attribute("lang", language)
    assert_no_axe_violations(page)


def test_start_page_has_no_axe_violations(page, live_server):
    issuer = live_server.account("issuer")
    page.goto(f"{live_server.url}/login")
    log_in(page, issuer["username"], issuer["password"])
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/(scan)?$"))  # box office: its scanner
    assert_no_axe_violations(page)
