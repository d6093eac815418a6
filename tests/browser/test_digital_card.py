"""The holder's digital card in a real browser on a 360 × 640 phone, online and offline."""
from __future__ import annotations

import io
import re
from datetime import date, datetime

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from app.rules import TZ
from tests.browser.conftest import assert_no_axe_violations

SCREENSHOT = "/tmp/digital-card-360.png"
NOT_VALID = re.compile(r"(This card is no longer valid|Tämä kortti ei ole enää voimassa"
                       r"|Det här kortet är inte längre giltigt)")


def today() -> date:
    """Today in Finland, as the server sees it."""
    return datetime.now(TZ).date()


def demo_card(live_server, valid: bool) -> dict:
    """An active personal demo card that is valid today, or one that has expired."""
    for card in live_server.demo["cards"]:
        if card["status"] != "active" or card["kind"] != "personal":
            continue
        still_valid = date.fromisoformat(card["valid_until"]) >= today()
        if still_valid == valid:
            return card
    raise AssertionError("the demo data has no such card")


def number(page: Page, card: dict):
    """The card number as the page shows it."""
    return page.locator(".holder-number-value").filter(has_text=card["number"])


def wait_for_control(page: Page) -> None:
    """Wait until the service worker controls the page (it claims pages when it activates)."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)


def test_a_valid_card_shows_a_big_qr_that_scans_on_a_360_px_phone(page, live_server):
    card = demo_card(live_server, valid=True)
    page.goto(card["digital_link"])
    qr = page.locator("svg.qr")
    expect(qr).to_be_visible()
    expect(number(page, card)).to_be_visible()
    page.screenshot(path=SCREENSHOT)
    assert qr.bounding_box()["width"] >= 250
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    read = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.screenshot())))
    assert [code.text for code in read] == [card["qr_payload"]]


def test_the_card_opens_offline_after_a_reload_under_the_service_worker(page, live_server):
    card = demo_card(live_server, valid=True)
    page.goto(card["digital_link"])
    wait_for_control(page)  # a reload while the worker installs could cut the install short
    page.context.set_offline(True)
    page.reload()
    expect(number(page, card)).to_be_visible()
    expect(page.locator("svg.qr")).to_be_visible()
    expect(page.locator("[data-offline-note]")).to_be_visible()


def test_one_visit_is_enough_to_open_the_card_offline(page, live_server):
    card = demo_card(live_server, valid=True)
    page.goto(card["digital_link"])
    wait_for_control(page)
    page.context.set_offline(True)
    page.reload()
    expect(number(page, card)).to_be_visible()
    expect(page.locator("link[rel=stylesheet][href$='holder.css']")).to_have_count(1)
    assert page.evaluate("getComputedStyle(document.querySelector('.digital-card')).borderTopStyle"
                         ) == "solid", "the card's CSS came from the cache too"


def test_an_expired_card_says_it_is_not_valid_and_shows_no_qr(page, live_server):
    card = demo_card(live_server, valid=False)
    page.goto(card["digital_link"])
    expect(page.get_by_role("heading", level=1)).to_have_text(NOT_VALID)
    expect(number(page, card)).to_be_visible()
    expect(page.locator("svg.qr")).to_have_count(0)


@pytest.mark.parametrize("valid", [True, False], ids=["valid", "expired"])
@pytest.mark.parametrize("language", ["fi", "sv"])
def test_the_card_page_has_no_axe_violations(page, live_server, valid, language):
    page.goto(demo_card(live_server, valid)["digital_link"])
    if language != "fi":
        page.get_by_role("navigation").get_by_role("link", name="På svenska").click()
    expect(page.locator("html")).to_have_attribute("lang", language)
    assert_no_axe_violations(page)
