"""What an issuer sees at the desk (issue 11): deactivation asked and undoable, dead and expired
cards, choices that must be made, every error at once, the sheet place, the start page."""
from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_issuing import NUMBER, log_in, register_card
from tests.test_printing import slot_of, word_boxes_mm


def no_sideways_scroll(page: Page) -> None:
    """Nothing on the page is wider than the window."""
    assert page.evaluate("document.documentElement.scrollWidth") <= page.evaluate("innerWidth")


def new_card(page: Page, live_server) -> str:
    """Register a card of its own for a test that changes it; its page is then open."""
    register_card(page, live_server)
    number = NUMBER.search(page.locator("main .lead").inner_text()).group(0)
    page.get_by_role("link", name="Valmis").click()
    expect(page.get_by_role("heading", name=f"Kortti {number}")).to_be_visible()
    return number


def test_deactivation_asks_for_the_reason_offers_undo_and_stops_printing(page: Page, live_server):
    log_in(page, live_server, "issuer")
    number = new_card(page, live_server)
    card_url = page.url
    page.get_by_role("link", name="Poista kortti käytöstä…").click()
    expect(page.get_by_role("heading", name=f"Poistetaanko kortti {number} käytöstä?")).to_be_visible()
    expect(page.get_by_text("Voit perua tämän 15 minuutin kuluessa.")).to_be_visible()
    page.get_by_role("button", name="Poista kortti käytöstä").click()
    expect(page.locator("#reason-error")).to_have_text("Valitse, miksi kortti poistetaan käytöstä.")
    page.get_by_label("Väärinkäyttö").check()
    page.get_by_role("button", name="Poista kortti käytöstä").click()

    expect(page).to_have_url(card_url)
    expect(page.locator(".standing")).to_have_text("Poistettu käytöstä (väärinkäyttö)")
    expect(page.get_by_role("link", name="Tulosta kortti")).to_have_count(0)
    expect(page.get_by_role("button", name="Tulosta A4-arkille")).to_have_count(0)
    pdf = page.request.get(f"{card_url}/card.pdf")
    assert pdf.status == 409 and "Korttia ei tulosteta" in pdf.text()
    page.screenshot(path="/tmp/desk-deactivated-fi.png", full_page=True)

    page.get_by_role("button", name="Peru käytöstä poisto").click()
    expect(page.get_by_text("Käytöstä poisto peruttiin. Kortti on taas käytössä.")).to_be_visible()
    expect(page.locator(".standing")).to_have_text("Voimassa")
    expect(page.get_by_role("link", name="Tulosta kortti")).to_be_visible()
    expect(page.get_by_role("button", name="Peru käytöstä poisto")).to_have_count(0)


def test_an_expired_card_says_so_and_offers_renewal_first(page: Page, live_server):
    expired = next(c for c in live_server.demo["cards"] if c["status"] == "active"
                   and c["region"] == "PIR" and c["valid_until"] < date.today().isoformat())
    log_in(page, live_server, "issuer")
    page.goto(f"{live_server.url}/cards/{expired['number'].replace('-', '')}")
    expect(page.locator(".standing")).to_have_text("Vanhentunut")
    first_button = page.locator("main button, main a.button").first
    expect(first_button).to_have_text("Jatka voimassaoloa")
    expect(first_button).to_have_class(re.compile(r"\bprimary\b"))
    expect(first_button).to_be_in_viewport()
    expect(page.get_by_role("link", name="Tulosta kortti")).to_have_count(0)
    page.screenshot(path="/tmp/desk-expired-fi.png", full_page=True)
    page.goto(f"{live_server.url}/cards/")
    row = page.get_by_role("row").filter(has_text=expired["number"])
    expect(row).to_contain_text("Vanhentunut")
    expect(page.get_by_role("row").filter(has_text="Aktiivinen")).to_have_count(0)


def test_the_municipality_must_be_chosen_and_is_not_preset(page: Page, live_server):
    log_in(page, live_server, "issuer")
    page.goto(f"{live_server.url}/cards/new")
    municipality = page.get_by_label("Kotikunta")
    expect(municipality.locator("option:checked")).to_have_text("Valitse…")
    expect(page.get_by_label("Henkilökohtainen kortti")).not_to_be_checked()
    page.get_by_label("Postinumero").fill("33100")
    page.get_by_label("Syntymävuosi").fill("1980")
    page.get_by_role("button", name="Rekisteröi kortti").click()
    expect(page.locator("#municipality-error")).to_have_text("Valitse kotikunta.")
    expect(municipality).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#kind-error")).to_be_visible()
    expect(page.locator("#gender-error")).to_be_visible()
    expect(page.get_by_role("heading", name="Luovuta kortti")).to_have_count(0)


def test_every_error_shows_at_once_with_the_allowed_range(page: Page, live_server):
    log_in(page, live_server, "issuer")
    page.goto(f"{live_server.url}/cards/new")
    page.get_by_label("Postinumero").fill("abc")
    page.get_by_label("Syntymävuosi").fill("2020")
    page.get_by_label("Omat alaikäiset lapset").fill("999")
    page.get_by_role("button", name="Rekisteröi kortti").click()
    latest = date.today().year - 16
    expect(page.locator("#postcode-error")).to_have_text("Postinumerossa on viisi numeroa, esim. 33100.")
    expect(page.locator("#birth_year-error")).to_contain_text(f"Syntymävuoden on oltava 1900–{latest}")
    expect(page.locator("#children-error")).to_have_text("Anna luku väliltä 0–20.")
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Postinumero")
    expect(summary).to_contain_text("Syntymävuosi")
    page.screenshot(path="/tmp/desk-errors-fi.png", full_page=True)
    page.get_by_label("Syntymävuosi").fill("1850")
    page.get_by_role("button", name="Rekisteröi kortti").click()
    expect(page.locator("#birth_year-error")).to_contain_text(f"1900–{latest}")


def test_one_card_prints_in_the_place_of_the_sheet_the_issuer_chose(page: Page, live_server,
                                                                     tmp_path):
    log_in(page, live_server, "issuer")
    number = new_card(page, live_server)
    page.get_by_label("Paikka arkilla").select_option(label="7 (rivi 4, vasen)")
    with page.expect_popup() as popup:
        page.get_by_role("button", name="Tulosta A4-arkille").click()
    url = popup.value.url
    assert re.search(r"/card\.pdf\?layout=sheet&slot=7$", url)
    pdf = page.request.get(url)
    assert pdf.headers["content-type"] == "application/pdf"
    [(_, _, left, top)] = [b for b in word_boxes_mm(pdf.body(), tmp_path) if b[1] == number]
    assert slot_of(left, top) == 6


@pytest.mark.parametrize("language, register, find", [("fi", "Rekisteröi kortti", "Hae korttia"),
                                                      ("sv", "Registrera ett kort", "Sök ett kort")])
@pytest.mark.parametrize("width, height", [(360, 640), (1280, 800)])
def test_the_issuers_start_page_leads_with_register_and_find(browser: Browser, live_server,
                                                              language, register, find, width,
                                                              height):
    context = browser.new_context(viewport={"width": width, "height": height},
                                  locale=f"{language}-FI")
    try:
        page = context.new_page()
        log_in(page, live_server, "issuer")
        page.goto(f"{live_server.url}/lang/{language}?next=/")
        actions = page.locator("main .start-actions a")
        expect(actions).to_have_text([register, find])
        for action in (actions.nth(0), actions.nth(1)):
            expect(action).to_be_in_viewport(ratio=1)
            assert action.bounding_box()["height"] >= 60
        no_sideways_scroll(page)
        page.screenshot(path=f"/tmp/desk-start-{language}-{width}.png", full_page=True)
        actions.nth(0).click()
        expect(page).to_have_url(f"{live_server.url}/cards/new")
    finally:
        context.close()
