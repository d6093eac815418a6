"""Offline, the register wins over an older printout (issue 11, point 2): after a renewal the
holder's old printed QR, which says the card has expired, is valid at the door without a network."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.test_issuing import log_in
from tests.browser.test_scanner import (
    VALID,
    choose_place,
    expect_verdict,
    go_offline_when_ready,
    log_out,
    verdict,
    wedge_scan,
)

FI_DATE = re.compile(r"\d{1,2}\.\d{1,2}\.\d{4}")


def expired_kym_card(live_server) -> dict:
    """Kymenlaakso's demo card whose validity ended a few days ago: no other test uses it."""
    today = live_server.demo["events"][0]["starts_at"][:10]
    return next(c for c in live_server.demo["cards"] if c["region"] == "KYM"
                and c["status"] == "active" and c["valid_until"] < today)


def renew(page: Page, live_server, card: dict) -> str:
    """Renew the card at the desk, as Kymenlaakso's issuer; the new last valid day as shown."""
    log_in(page, live_server, "issuer-kym")
    page.goto(f"{live_server.url}/cards/{card['number'].replace('-', '')}")
    page.get_by_role("button", name="Jatka voimassaoloa").click()
    notice = page.get_by_text(re.compile("Kortti on nyt voimassa"))
    expect(notice).to_be_visible()
    return FI_DATE.search(notice.inner_text())[0]


def test_the_old_printout_of_a_renewed_card_is_valid_offline_with_the_renewed_validity(
        page, live_server):
    card = expired_kym_card(live_server)
    old_day = "{2}.{1}.{0}".format(*(int(part) for part in card["valid_until"].split("-")))
    renewed_day = renew(page, live_server, card)
    assert renewed_day != old_day
    log_out(page)
    log_in(page, live_server, "boxoffice-kym")
    page.goto(f"{live_server.url}/scan")
    choose_place(page, "Konserttitalo")
    go_offline_when_ready(page)

    wedge_scan(page, card["qr_payload"])  # signed before the renewal: it says expired
    expect_verdict(page, VALID)
    facts = verdict(page).locator("[data-verdict-card]")
    expect(facts.locator("dt").nth(1)).to_have_text("Voimassa")
    expect(facts.locator("dd").nth(1)).to_have_text(renewed_day)
    expect(facts).not_to_contain_text(old_day)
