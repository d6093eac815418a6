"""The scanner when the server answers 503 (its database is away): nothing queued is lost, the
phone tries again by itself, and every record reaches the server exactly once (issue 7)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_issuing import log_in
from tests.browser.test_scanner import (
    QUEUED,
    RECORD,
    VALID,
    back_to_scanning,
    choose_place,
    demo_card,
    expect_verdict,
    go_offline_when_ready,
    record_offline,
    server_visits,
    type_number,
    verdict,
    wedge_scan,
)

# The region of Kymenlaakso and its box office: no other browser test records there.
ACCOUNT = "boxoffice-kym"
UNAVAILABLE = {"error": {"code": "database_unavailable",
                         "message": "The database cannot be reached right now."}}
BACKGROUND_EVERY_MS = 20_000  # app.js: how often the scanner sends its queue by itself
SYNC, REDEEM = re.compile(r"/api/scan/sync$"), re.compile(r"/api/scan/redeem$")


def open_scanner(page: Page, live_server, venue: str) -> None:
    """Log in as Kymenlaakso's box office and scan at one of its venues, with no event."""
    page.clock.install()  # the background retry is 20 s away: the test moves the clock there
    log_in(page, live_server, ACCOUNT)
    page.goto(f"{live_server.url}/scan")
    choose_place(page, venue)


def answer_503(calls: list[str]):
    """A route handler that answers as the server does while its database is away."""
    def handle(route: Route) -> None:
        calls.append(route.request.url)
        route.fulfill(status=503, json=UNAVAILABLE, headers={"Retry-After": "5"})
    return handle


def queued(page: Page) -> int:
    """How many records wait in the phone's IndexedDB queue."""
    return page.evaluate(QUEUED)


def retry_in_background(page: Page) -> None:
    """Let the scanner's background timer come round once."""
    page.clock.run_for(BACKGROUND_EVERY_MS)


def test_a_sync_answered_503_keeps_the_queue_and_the_next_try_sends_each_record_once(
        page, live_server):
    cards = [demo_card(live_server, region="KYM", children=n) for n in (0, 3)]
    open_scanner(page, live_server, "Kansalaisopisto")
    go_offline_when_ready(page)
    for card in cards:
        record_offline(page, card)
    banner = page.locator("[data-banner]")
    expect(banner).to_contain_text("2 kirjausta odottaa lähetystä.")

    refused: list[str] = []
    page.route(SYNC, answer_503(refused))
    with page.expect_response(SYNC) as answer:
        page.context.set_offline(False)  # the network is back, the database is not
    assert answer.value.status == 503
    expect(banner).to_contain_text("2 kirjausta odottaa lähetystä.")
    assert queued(page) == 2

    with page.expect_response(SYNC) as answer:
        retry_in_background(page)
    assert answer.value.status == 503 and len(refused) == 2
    expect(banner).to_contain_text("2 kirjausta odottaa lähetystä.")
    assert queued(page) == 2

    page.unroute(SYNC)
    with page.expect_response(SYNC) as answer:
        retry_in_background(page)
    assert answer.value.status == 200
    expect(banner).to_be_empty(timeout=15_000)
    assert queued(page) == 0
    for card in cards:
        assert [v["status"] for v in server_visits(page, live_server, "Kansalaisopisto", card)] \
            == ["ok"]


def test_a_record_the_server_stored_but_answered_503_is_sent_again_without_a_second_visit(
        page, live_server):
    card = demo_card(live_server, region="KYM", children=0)
    open_scanner(page, live_server, "Konserttitalo")
    type_number(page, card["number"])
    expect_verdict(page, VALID, "Kortti kelpaa.")

    # The server records the visit, and the answer is lost on the way back as a 503.
    lost: list[str] = []

    def store_then_fail(route: Route) -> None:
        lost.append(route.fetch().text())
        route.fulfill(status=503, json=UNAVAILABLE)
    page.route(REDEEM, store_then_fail)
    syncs: list[str] = []
    page.route(SYNC, answer_503(syncs))
    verdict(page).get_by_role("button", name=RECORD, exact=True).click()
    expect(verdict(page)).to_contain_text("Tallennettu laitteelle")  # queued, same nonce
    assert len(lost) == 1 and '"verdict":"ok"' in lost[0].replace(" ", "")
    expect(page.locator("[data-banner]")).to_contain_text("1 kirjaus odottaa lähetystä.")
    assert queued(page) == 1

    page.unroute(REDEEM)
    page.unroute(SYNC)
    with page.expect_response(SYNC) as answer:
        retry_in_background(page)
    assert answer.value.status == 200
    expect(page.locator("[data-banner]")).to_be_empty(timeout=15_000)
    assert queued(page) == 0
    assert [v["status"] for v in server_visits(page, live_server, "Konserttitalo", card)] == ["ok"]


CATALOGUE = json.loads((Path(__file__).parents[2] / "static/scan/i18n.json").read_text())
REFUSED_LIST = {"fi": ("Hylätyt offline-kirjaukset", "Lippujen määrä ei ole mahdollinen."),
                "sv": ("Avvisade offlineregistreringar", "Antalet biljetter är inte möjligt.")}


def more_children_than_any_card_holds(route: Route) -> None:
    """Send the queued records on with 101 children each, a record no card could make."""
    body = route.request.post_data_json
    for item in body["visits"]:
        item["children"] = 101
    route.continue_(post_data=json.dumps(body))


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_a_record_refused_for_good_leaves_the_queue_the_seller_is_told_why_and_it_is_listed(
        browser, live_server, language):
    texts = CATALOGUE[language]
    card = demo_card(live_server, region="KYM", children=3)
    context = browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True,
                                  has_touch=True, locale=f"{language}-FI")
    try:
        page = context.new_page()
        log_in(page, live_server, ACCOUNT)
        page.goto(f"{live_server.url}/scan")
        choose_place(page, "Konserttitalo")
        go_offline_when_ready(page)
        wedge_scan(page, card["qr_payload"])
        expect_verdict(page, texts["verdict.ok"])
        verdict(page).get_by_role("button", name=texts["action.record"], exact=True).click()
        expect(verdict(page)).to_contain_text(texts["confirm.queued"])
        back_to_scanning(page)
        assert queued(page) == 1

        page.route(SYNC, more_children_than_any_card_holds)
        with page.expect_response(SYNC) as answer:
            page.context.set_offline(False)
        [result] = answer.value.json()["results"]
        assert (result["error"]["code"], result["final"]) == ("invalid_tickets", True)
        told = texts["banner.refused.one"].format(count=1, reason=texts["error.invalid_tickets"])
        expect(page.locator("[data-banner]")).to_have_text(told)
        assert queued(page) == 0
        page.screenshot(path=f"/tmp/scan-refused-for-good-{language}.png")
        assert server_visits(page, live_server, "Konserttitalo", card) == []

        page.context.clear_cookies()
        log_in(page, live_server, "coordinator-kym")
        page.goto(f"{live_server.url}/manage/refused")
        title, reason = REFUSED_LIST[language]
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        row = page.locator("tr", has_text=card["number"]).first
        expect(row).to_contain_text(reason)
        expect(row).to_contain_text("Konserttitalo")
        page.screenshot(path=f"/tmp/manage-refused-{language}.png", full_page=True)
        assert_no_axe_violations(page)

        page.context.clear_cookies()
        log_in(page, live_server, "coordinator")  # Pirkanmaa's
        page.goto(f"{live_server.url}/manage/refused")
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        expect(page.locator("main")).not_to_contain_text(card["number"])
    finally:
        context.close()
