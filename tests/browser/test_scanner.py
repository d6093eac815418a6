"""A ticket seller with a queue, on a 360 × 640 phone: choose the place, check, record, undo;
barcode scanners, offline work, installing the app, and axe on every screen in fi and sv."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, assert_no_axe_violations
from tests.browser.test_issuing import log_in

# Finnish texts of static/scan/i18n.json that the tests look for.
VALID, REFUSED = "Kelpaa", "Ei kelpaa"
RECORD, RECORDED, UNDO = "Kirjaa", "Kirjattu", "Peru kirjaus"
SETUP_TITLES = {"fi": "Missä skannaat?", "sv": "Var skannar du?"}
BUNDLE_KEPT = """() => new Promise((resolve) => {
  const request = indexedDB.open("kaiku-scan");
  request.onsuccess = () => {
    const count = request.result.transaction("bundles").objectStore("bundles").count();
    count.onsuccess = () => resolve(count.result > 0);
  };
  request.onerror = () => resolve(false);
})"""


def demo_card(live_server, status: str = "active", region: str = "PIR", **fields) -> dict:
    """The first demo card with this status, region and fields."""
    return next(c for c in live_server.demo["cards"] if c["status"] == status
                and c["region"] == region and all(c[k] == v for k, v in fields.items()))


def valid_card(live_server, children: int) -> dict:
    """An active personal card of Pirkanmaa, valid for a while yet."""
    return demo_card(live_server, kind="personal", children=children)


def expired_card(live_server) -> dict:
    """The demo card whose validity ended a few days ago (its status is still active)."""
    return next(c for c in live_server.demo["cards"] if c["status"] == "active"
                and c["valid_until"] and c["valid_until"] < _today(live_server))


def _today(live_server) -> str:
    return min(e["starts_at"] for e in live_server.demo["events"])[:10]


def open_scanner(page: Page, live_server, venue: str, event: str | None = None,
                 language: str | None = None) -> None:
    """Log in as the box office, open the scanner and choose where to scan."""
    log_in(page, live_server, "boxoffice")
    if language:
        page.goto(f"{live_server.url}/lang/{language}?next=/scan")
    else:
        page.goto(f"{live_server.url}/scan")
    choose_place(page, venue, event)


def choose_place(page: Page, venue: str, event: str | None = None) -> None:
    """Pick the venue and (by its title) one of today's events, then start."""
    page.locator("#venue-choice").get_by_label(venue).check()
    if event:
        page.locator("#event-choice").get_by_label(re.compile(event)).check()
    page.locator("#setup-form button[type=submit]").click()
    expect(page.locator("#scan")).to_be_visible()
    expect(page.locator("[data-place-venue]")).to_have_text(venue)


def type_number(page: Page, number: str) -> None:
    """Type a card number into the number field and check it."""
    page.locator("#manual-number").fill(number)
    page.locator("[data-manual] button[type=submit]").click()


def wedge_scan(page: Page, text: str) -> None:
    """A USB barcode scanner: fast keystrokes and Enter, with no text field focused."""
    page.evaluate("document.activeElement?.blur()")
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def verdict(page: Page):
    """The full-screen verdict dialog."""
    return page.locator("dialog#verdict")


def expect_verdict(page: Page, title: str, reason: str | None = None) -> None:
    """The verdict is on screen with this title (and reason text)."""
    expect(verdict(page)).to_be_visible()
    expect(page.locator("#verdict-title")).to_have_text(title)
    if reason:
        expect(page.locator("#verdict-reason")).to_contain_text(reason)


def back_to_scanning(page: Page) -> None:
    """Leave the verdict and wait for the scan screen."""
    if verdict(page).is_visible():
        verdict(page).locator('[data-action="dismiss"]').click()
    expect(verdict(page)).to_be_hidden()


# The loop at the door


def test_a_valid_card_is_recorded_and_then_refused_as_already_used_for_the_event(page, live_server):
    card = valid_card(live_server, children=0)
    open_scanner(page, live_server, "Kaupunginteatteri", "Lastennäytelmä")
    type_number(page, card["number"].replace("-", " ").lower())
    expect_verdict(page, VALID, "Kortti kelpaa.")
    expect(verdict(page)).to_contain_text(card["number"])
    expect(page.get_by_role("group", name="Kortin haltija")).to_contain_text("1")
    verdict(page).get_by_role("button", name=RECORD, exact=True).click()
    expect_verdict(page, RECORDED)
    expect(verdict(page)).to_be_hidden(timeout=5000)  # back to scanning by itself
    expect(page.locator("[data-last-record]")).to_contain_text(card["number"][-5:])

    type_number(page, card["number"])
    expect_verdict(page, REFUSED)
    expect(page.locator("#verdict-reason")).to_have_text(
        re.compile(r"^Kortti on jo käytetty tänään klo \d\d\.\d\d tässä tapahtumassa\.$"))
    expect(verdict(page)).to_contain_text(re.compile(r"Käytetty\s*tässä kuussa \d+ (kerran|kertaa)"))


def test_an_account_with_one_venue_and_no_events_today_goes_straight_to_scanning(page, live_server):
    venue = next(v for v in live_server.demo["venues"] if v["name"] == "Taidemuseo")
    only = {**venue, "region_id": None, "active": True, "events": []}
    page.route("**/api/scan/venues", lambda route: route.fulfill(json={"venues": [only]}))
    log_in(page, live_server, "boxoffice")
    page.goto(f"{live_server.url}/scan")
    expect(page.locator("[data-place-venue]")).to_have_text("Taidemuseo")
    expect(page.locator("#setup")).to_be_hidden()


def test_a_barcode_scanner_typing_anywhere_on_the_screen_gives_a_verdict(page, live_server):
    card = valid_card(live_server, children=2)
    open_scanner(page, live_server, "Taidemuseo")
    wedge_scan(page, card["qr_payload"])
    expect_verdict(page, VALID)
    expect(verdict(page)).to_contain_text(card["number"])
    back_to_scanning(page)
    page.reload()  # the place is remembered on the device
    expect(page.locator("[data-place-venue]")).to_have_text("Taidemuseo")
    wedge_scan(page, card["number"].replace("-", ""))  # the Code 39 barcode of a printed card
    expect_verdict(page, VALID)


def test_a_person_typing_on_the_scan_screen_is_not_taken_for_a_barcode_scanner(page, live_server):
    card = valid_card(live_server, children=2)
    open_scanner(page, live_server, "Taidemuseo")
    page.evaluate("document.activeElement?.blur()")
    page.keyboard.type(card["number"].replace("-", ""), delay=180)  # a person's pace
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    expect(verdict(page)).to_be_hidden()


@pytest.mark.parametrize("which, reason", [("expired", "Kortin voimassaolo on päättynyt."),
                                           ("deactivated", "Kortti on poistettu käytöstä.")])
def test_a_card_that_is_not_valid_is_refused_in_red_with_the_reason(page, live_server, which,
                                                                      reason):
    card = expired_card(live_server) if which == "expired" else demo_card(live_server, which)
    open_scanner(page, live_server, "Taidemuseo")
    type_number(page, card["number"])
    expect_verdict(page, REFUSED, reason)
    expect(verdict(page)).to_have_class(re.compile(r"\bis-refused\b"))
    expect(verdict(page).get_by_role("button", name=RECORD, exact=True)).to_be_hidden()
    verdict(page).locator(".verdict-reason").click()  # a tap anywhere goes back to scanning
    expect(verdict(page)).to_be_hidden()


def test_the_seller_undoes_a_record_and_the_card_is_valid_again(page, live_server):
    card = valid_card(live_server, children=2)
    open_scanner(page, live_server, "Tiedekeskus")
    type_number(page, card["number"])
    expect_verdict(page, VALID)
    verdict(page).get_by_role("button", name="Enemmän: Lapset").click()
    verdict(page).get_by_role("button", name=RECORD, exact=True).click()
    expect_verdict(page, RECORDED)
    expect(verdict(page)).to_contain_text("lapset 1")
    verdict(page).get_by_role("button", name=UNDO).click()
    expect(page.locator("[data-last-record]")).to_contain_text("Kirjaus peruttu.")

    page.get_by_role("button", name="Tämän päivän kirjaukset").click()
    item = page.locator("[data-visits] li", has_text=card["number"][-5:])
    expect(item).to_contain_text("Peruttu")
    page.get_by_role("button", name="Takaisin", exact=True).click()
    type_number(page, card["number"])
    expect_verdict(page, VALID)


def test_todays_list_shows_the_record_shortened_and_undoes_it(page, live_server):
    card = demo_card(live_server, kind="community")
    open_scanner(page, live_server, "Uimahalli")
    type_number(page, card["number"])
    expect_verdict(page, VALID)
    verdict(page).get_by_role("button", name=RECORD, exact=True).click()
    expect(verdict(page)).to_be_hidden(timeout=5000)
    page.get_by_role("button", name="Tämän päivän kirjaukset").click()
    short = "…" + card["number"][-5:]
    item = page.locator("[data-visits] li", has_text=short)
    expect(item).to_contain_text(re.compile(r"\d\d\.\d\d"))
    expect(item).to_contain_text("haltija 1 · lapset 0 · avustaja 0")
    item.get_by_role("button", name=re.compile(f"^{UNDO} {re.escape(short)}")).click()
    expect(item).to_contain_text("Peruttu")
    expect(page.locator("[data-today-status]")).to_contain_text("Kirjaus peruttu.")


# Offline


def test_offline_the_device_decides_queues_and_sends_when_the_network_returns(page, live_server):
    card = valid_card(live_server, children=4)
    typed = valid_card(live_server, children=0)
    open_scanner(page, live_server, "Työväenopisto")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
    page.wait_for_function(BUNDLE_KEPT, timeout=30_000)
    page.context.set_offline(True)

    wedge_scan(page, card["qr_payload"])
    expect_verdict(page, VALID, "Kortti kelpaa.")
    expect(verdict(page)).to_contain_text("Tarkistettu tällä laitteella")
    verdict(page).get_by_role("button", name=RECORD, exact=True).click()
    expect(verdict(page)).to_contain_text("Tallennettu laitteelle")
    back_to_scanning(page)
    wedge_scan(page, card["qr_payload"])  # the device remembers its own records
    expect_verdict(page, REFUSED, "Kortti on jo käytetty tänään klo")
    back_to_scanning(page)

    type_number(page, typed["number"])
    expect_verdict(page, "Ei voi tarkistaa ilman verkkoa", "Kirjataanko käynti tarkistamattomana?")
    verdict(page).get_by_role("button", name="Kirjaa tarkistamattomana").click()
    back_to_scanning(page)
    banner = page.locator("[data-banner]")
    expect(banner).to_contain_text("Ei verkkoyhteyttä")
    expect(banner).to_contain_text("2 kirjausta odottaa lähetystä.")

    page.reload()  # the queue lives in IndexedDB and the page in the service worker's cache
    expect(page.locator("#scan")).to_be_visible()
    expect(banner).to_contain_text("2 kirjausta odottaa lähetystä.")

    page.context.set_offline(False)
    expect(banner).to_be_empty(timeout=15_000)
    page.get_by_role("button", name="Tämän päivän kirjaukset").click()
    visits = page.locator("[data-visits] li")
    expect(visits.filter(has_text=card["number"][-5:])).to_have_count(1)
    expect(visits.filter(has_text=typed["number"][-5:])).to_have_count(1)
    expect(page.locator("[data-visits]")).not_to_contain_text("Odottaa lähetystä")


QUEUED = """() => new Promise((resolve) => {
  const request = indexedDB.open("kaiku-scan");
  request.onsuccess = () => {
    const count = request.result.transaction("queue").objectStore("queue").count();
    count.onsuccess = () => resolve(count.result);
  };
  request.onerror = () => resolve(-1);
})"""


def go_offline_when_ready(page: Page) -> None:
    """Wait until the page works offline (worker and bundle), then cut the network."""
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
    page.wait_for_function(BUNDLE_KEPT, timeout=30_000)
    page.context.set_offline(True)


def record_offline(page: Page, card: dict) -> None:
    """Scan the card's QR code offline and record it on the device."""
    wedge_scan(page, card["qr_payload"])
    expect_verdict(page, VALID)
    verdict(page).get_by_role("button", name=RECORD, exact=True).click()
    expect(verdict(page)).to_contain_text("Tallennettu laitteelle")
    back_to_scanning(page)


def server_visits(page: Page, live_server, venue: str, card: dict) -> list[dict]:
    """The server's records of today for this card at the venue, as the signed-in account."""
    venue_id = next(v["id"] for v in live_server.demo["venues"] if v["name"] == venue)
    response = page.request.get(f"{live_server.url}/api/scan/today?venue_id={venue_id}")
    assert response.ok, response.text()
    return [v for v in response.json()["visits"] if v["card_number"] == card["number"]]


def log_out(page: Page) -> None:
    page.get_by_role("button", name=re.compile("Kirjaudu ulos|Logga ut|Log out")).click()
    expect(page).to_have_url(re.compile(r"/login"))


def test_undoing_an_offline_record_after_it_was_sent_annuls_it_on_the_server(page, live_server):
    card = valid_card(live_server, children=2)
    open_scanner(page, live_server, "Uimahalli")
    go_offline_when_ready(page)
    record_offline(page, card)
    banner = page.locator("[data-banner]")
    expect(banner).to_contain_text("1 kirjaus odottaa lähetystä.")

    page.context.set_offline(False)
    expect(banner).to_be_empty(timeout=15_000)  # sent: the server has the visit
    assert [v["status"] for v in server_visits(page, live_server, "Uimahalli", card)] == ["ok"]

    bar = page.locator("[data-last-record]")
    bar.get_by_role("button", name=UNDO).click()
    expect(bar).to_contain_text("Kirjaus peruttu.")
    assert [v["status"] for v in server_visits(page, live_server, "Uimahalli", card)] == ["annulled"]
    type_number(page, card["number"])
    expect_verdict(page, VALID)  # not refused as already used


def test_offline_records_are_sent_only_by_the_account_that_made_them(page, live_server):
    card = demo_card(live_server, kind="community")
    venue = "Tiedekeskus"
    open_scanner(page, live_server, venue)
    go_offline_when_ready(page)
    record_offline(page, card)
    expect(page.locator("[data-banner]")).to_contain_text("1 kirjaus odottaa lähetystä.")
    token = page.locator('meta[name="csrf-token"]').get_attribute("content")
    page.goto("about:blank")  # leave the scanner before the network returns: nothing is sent
    page.context.set_offline(False)
    assert page.request.post(f"{live_server.url}/logout", form={"csrf_token": token}).ok
    syncs = []
    page.on("request", lambda request: syncs.append(request.url) if "/api/scan/sync" in request.url
            else None)
    log_in(page, live_server, "coordinator")  # may scan every venue of Pirkanmaa
    page.goto(f"{live_server.url}/scan")
    if page.locator("#setup").is_visible():
        choose_place(page, venue)
    expect(page.locator("[data-place-venue]")).to_have_text(venue)
    page.wait_for_function(BUNDLE_KEPT, timeout=30_000)
    page.wait_for_timeout(1500)
    expect(page.locator("[data-banner]")).to_be_empty()  # boxoffice's record is not counted
    assert syncs == []
    assert page.evaluate(QUEUED) == 1  # it waits for its own account
    assert server_visits(page, live_server, venue, card) == []

    log_out(page)
    log_in(page, live_server, "boxoffice")
    with page.expect_response(re.compile(r"/api/scan/sync$"), timeout=15_000) as sent:
        page.goto(f"{live_server.url}/scan")
    assert sent.value.ok
    expect(page.locator("[data-place-venue]")).to_have_text(venue)
    expect(page.locator("[data-banner]")).to_be_empty(timeout=15_000)
    page.wait_for_function(f"({QUEUED})().then((count) => count === 0)", timeout=15_000)
    assert [v["status"] for v in server_visits(page, live_server, venue, card)] == ["ok"]


# Installing the app


def test_the_scanner_is_installable_and_opens_offline(browser: Browser, live_server, tmp_path):
    # Installability needs a persistent profile; the session's Playwright launches it.
    context = browser.browser_type.launch_persistent_context(
        user_data_dir=str(tmp_path / "profile"), executable_path=str(CHROMIUM),
        args=CHROMIUM_ARGS, viewport={"width": 360, "height": 640}, locale="fi-FI")
    try:
        page = context.new_page()
        open_scanner(page, live_server, "Taidemuseo")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
        cdp = context.new_cdp_session(page)
        assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
        with page.expect_response(re.compile(r"/static/scan/app\.js$")) as script:
            page.reload()
        assert script.value.from_service_worker  # later loads come from the cache
        assert page.evaluate("caches.match('/static/vendor/zxing-wasm/reader/zxing_reader.wasm')"
                             ".then(Boolean)")
        context.set_offline(True)
        page.reload()
        expect(page.locator("#scan")).to_be_visible()
        expect(page.locator("[data-banner]")).to_contain_text("Ei verkkoyhteyttä")
    finally:
        context.close()


# Accessibility


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_the_scanner_screens_have_no_axe_violations(page, live_server, language):
    log_in(page, live_server, "boxoffice")
    page.goto(f"{live_server.url}/lang/{language}?next=/scan")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("#setup-title")).to_have_text(SETUP_TITLES[language])
    assert_no_axe_violations(page)  # the choice of venue and event

    choose_place(page, "Kaupunginteatteri", "Kevätnäytös")
    assert_no_axe_violations(page)  # the scan screen

    type_number(page, valid_card(live_server, children=2)["number"])
    expect(verdict(page)).to_have_class(re.compile(r"\bis-ok\b"))
    assert_no_axe_violations(page)  # green
    back_to_scanning(page)

    type_number(page, demo_card(live_server, "lost")["number"])
    expect(verdict(page)).to_have_class(re.compile(r"\bis-refused\b"))
    assert_no_axe_violations(page)  # red
    back_to_scanning(page)

    page.locator('[data-action="show-today"]').click()
    expect(page.locator("#today")).to_be_visible()
    assert_no_axe_violations(page)  # today's list
