"""Signed-in devices in a real browser: a staff member ends the session of another device from
their own list (phone and desktop, Finnish and Swedish); a coordinator ends a box office's phone."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_desk import no_sideways_scroll
from tests.browser.test_issuing import log_in

PHONE = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/131.0.0.0 Mobile Safari/537.36")
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
WORDS = {
    "fi": {"menu": "Omat laitteet", "title": "Kirjautuneet laitteet", "this": "Tämä laite",
           "end": "Lopeta tämän laitteen istunto", "done": "Laite kirjattiin ulos."},
    "sv": {"menu": "Mina enheter", "title": "Inloggade enheter", "this": "Den här enheten",
           "end": "Avsluta enhetens session", "done": "Enheten loggades ut."},
}


@contextmanager
def device(browser: Browser, user_agent: str, width: int = 360, height: int = 640,
           language: str = "fi") -> Iterator[Page]:
    """A browser of its own (own cookies) that says it is this kind of device."""
    context = browser.new_context(viewport={"width": width, "height": height},
                                  user_agent=user_agent, locale=f"{language}-FI")
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.mark.parametrize("language", ["fi", "sv"])
@pytest.mark.parametrize(("width", "height"), [(360, 640), (1280, 800)])
def test_a_staff_member_ends_the_session_of_their_other_device(browser, live_server, language,
                                                               width, height):
    words = WORDS[language]
    with device(browser, DESKTOP, width, height, language) as desk, \
            device(browser, PHONE, language=language) as phone:
        log_in(phone, live_server, "issuer-kym")
        log_in(desk, live_server, "issuer-kym")
        desk.goto(f"{live_server.url}/lang/{language}?next=/")
        desk.get_by_role("navigation", name=re.compile("Päävalikko|Huvudmeny")) \
            .get_by_role("link", name=words["menu"]).click()
        expect(desk).to_have_url(f"{live_server.url}/account/devices")
        expect(desk.locator("h1")).to_have_text(words["title"])
        this = desk.locator("li.current-device")
        expect(this).to_have_count(1)
        expect(this).to_contain_text(words["this"])
        expect(this).to_contain_text("Firefox / Windows")
        other = desk.locator("main li.action").filter(has_text="Chrome / Android")
        expect(other).to_have_count(1)
        no_sideways_scroll(desk)
        assert_no_axe_violations(desk)
        desk.screenshot(path=f"/tmp/devices-{language}-{width}.png", full_page=True)

        other.get_by_role("button", name=words["end"]).click()
        expect(desk.get_by_role("status")).to_have_text(words["done"])
        expect(desk.locator("main li.action").filter(has_text="Chrome / Android")).to_have_count(0)
        expect(desk.locator("li.current-device")).to_have_count(1)
        desk.screenshot(path=f"/tmp/devices-ended-{language}-{width}.png", full_page=True)
        phone.goto(f"{live_server.url}/cards/new")
        expect(phone).to_have_url(re.compile(re.escape(f"{live_server.url}/login")))
        desk.get_by_role("button", name=re.compile("^(Kirjaudu ulos|Logga ut)$")).click()


def test_a_coordinator_ends_the_lost_phone_of_a_box_office(browser, live_server):
    with device(browser, PHONE) as phone, device(browser, DESKTOP, 1280, 800) as office:
        log_in(phone, live_server, "boxoffice-kym")
        log_in(office, live_server, "coordinator-kym")
        office.goto(f"{live_server.url}/manage/staff?role=boxoffice")
        office.locator("main table").get_by_role("link", name="boxoffice-kym", exact=True).click()
        devices = office.locator("section[aria-labelledby=devices-heading]")
        lost = devices.locator("li.action").filter(has_text="Chrome / Android")
        expect(lost).to_have_count(1)
        assert_no_axe_violations(office)
        devices.screenshot(path="/tmp/devices-manager-fi-1280.png")
        lost.get_by_role("button", name=WORDS["fi"]["end"]).click()
        expect(office.get_by_role("status")).to_have_text(WORDS["fi"]["done"])
        expect(devices.locator("li.action").filter(has_text="Chrome / Android")).to_have_count(0)
        answer = phone.request.get(f"{live_server.url}/api/scan/venues")
        assert answer.status == 401 and answer.json()["error"]["code"] == "login_required"
