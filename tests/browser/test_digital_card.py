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


# What a range of text covers on screen, against the box that clips it (the card) and the window.
TEXT_BOX = """e => {
    const range = document.createRange();
    range.selectNodeContents(e);
    const text = range.getBoundingClientRect();
    const card = e.closest(".digital-card").getBoundingClientRect();
    return {left: text.left, right: text.right, cardLeft: card.left, cardRight: card.right,
            window: document.documentElement.clientWidth,
            overflowing: e.scrollWidth > e.clientWidth};
}"""
CLOCK = re.compile(r"^([01]\d|2[0-3])\.[0-5]\d\.[0-5]\d$")


def phone(browser, width: int, language: str, **options) -> Page:
    """A page on a phone of this width whose browser asks for this language."""
    context = browser.new_context(viewport={"width": width, "height": 740}, is_mobile=True,
                                  has_touch=True, locale=f"{language}-FI",
                                  timezone_id="Europe/Helsinki", **options)
    return context.new_page()


def fact(page: Page, label: re.Pattern):
    """The value (dd) that follows the label (dt) in the card's facts."""
    return page.locator(".holder-facts dt").filter(has_text=label).locator("xpath=following-sibling::dd[1]")


@pytest.mark.parametrize("language", ["fi", "sv", "en"])
def test_the_valid_until_date_and_the_region_are_fully_visible_on_a_phone(browser, live_server,
                                                                         language):
    card = demo_card(live_server, valid=True)
    page = phone(browser, 360, language)
    try:
        page.goto(card["digital_link"])
        expect(page.locator("html")).to_have_attribute("lang", language)
        until = fact(page, re.compile("Voimassa|Giltigt till|Valid until"))
        region = fact(page, re.compile("Alue|Region"))
        expect(until).to_contain_text(card["valid_until"][:4])  # the year, the part once cut
        expect(region).to_have_text(re.compile("Pirkanmaa|Birkaland"))
        for width in (320, 360, 390):
            page.set_viewport_size({"width": width, "height": 740})
            for value in (until, region):
                box = value.evaluate(TEXT_BOX)
                assert not box["overflowing"], (width, value.text_content())
                assert box["cardLeft"] <= box["left"] and box["right"] <= box["cardRight"], box
                assert box["right"] <= box["window"], (width, box)
            page.screenshot(path=f"/tmp/digital-card-{language}-{width}.png", full_page=True)
    finally:
        page.context.close()


def read_clock(page: Page) -> str:
    """The live sign's clock once it shows a time."""
    clock = page.locator("[data-live-clock]")
    expect(clock).to_have_text(CLOCK)
    return clock.text_content()


def assert_the_clock_ticks(page: Page) -> None:
    """The clock shows the time in Finland and moves on by itself."""
    first = read_clock(page)
    expect(page.locator("[data-live-clock]")).not_to_have_text(first, timeout=2500)
    then = datetime.strptime(read_clock(page), "%H.%M.%S").time()
    now = datetime.now(TZ)
    seconds = abs((now.hour * 3600 + now.minute * 60 + now.second)
                  - (then.hour * 3600 + then.minute * 60 + then.second))
    assert min(seconds, 86400 - seconds) <= 3, (then, now)


def test_the_live_sign_moves_and_its_clock_ticks(browser, live_server):
    page = phone(browser, 360, "fi")
    try:
        page.goto(demo_card(live_server, valid=True)["digital_link"])
        expect(page.locator(".live-sign")).to_contain_text("Aito kortti, ei kuvakaappaus")
        assert_the_clock_ticks(page)
        running = page.evaluate("document.getAnimations().filter(a => a.playState === 'running')"
                                ".map(a => a.animationName)")
        assert set(running) == {"live-beat", "live-sweep"}
    finally:
        page.context.close()


def test_with_reduced_motion_nothing_animates_but_the_clock_still_ticks(browser, live_server):
    page = phone(browser, 360, "sv", reduced_motion="reduce")
    try:
        page.goto(demo_card(live_server, valid=True)["digital_link"])
        expect(page.locator(".live-sign")).to_contain_text("Äkta kort, ingen skärmdump")
        assert page.evaluate("document.getAnimations().length") == 0
        assert_the_clock_ticks(page)
    finally:
        page.context.close()


def test_the_live_script_is_kept_for_offline_use_and_ticks_offline(page, live_server):
    page.goto(demo_card(live_server, valid=True)["digital_link"])
    wait_for_control(page)
    page.context.set_offline(True)
    page.reload()
    expect(page.locator("[data-offline-note]")).to_be_visible()
    assert_the_clock_ticks(page)


def test_an_expired_card_has_no_live_sign(page, live_server):
    page.goto(demo_card(live_server, valid=False)["digital_link"])
    expect(page.get_by_role("heading", level=1)).to_have_text(NOT_VALID)
    expect(page.locator(".live-sign")).to_have_count(0)


@pytest.mark.parametrize("language, heading", [
    ("fi", "Tämä korttilinkki ei ole käytössä"), ("sv", "Den här kortlänken används inte"),
    ("en", "This card link is not in use")])
def test_an_unknown_card_link_shows_the_holders_page_without_staff_links(browser, live_server,
                                                                        language, heading):
    page = phone(browser, 360, language)
    try:
        response = page.goto(f"{live_server.url}/c/{'Z' * 43}")
        assert response.status == 404
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        links = page.locator("a").evaluate_all("as => as.map(a => a.getAttribute('href'))")
        assert all(href == "#main" or href.startswith("/lang/") for href in links), links
        assert_no_axe_violations(page)
    finally:
        page.context.close()
