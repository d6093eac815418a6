"""An issuer at a 360 × 640 phone: register, print, hand over; the holder opens the card offline."""
from __future__ import annotations

import io
import re
import subprocess
from datetime import date

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import assert_no_axe_violations

NUMBER = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{3}-[0-9A-Z]{3}")


def log_in(page: Page, live_server, username: str) -> None:
    """Log in through the form, the way a person does."""
    account = live_server.account(username)
    page.goto(f"{live_server.url}/login")
    page.get_by_label(re.compile("Käyttäjätunnus|Användarnamn|Username")).fill(username)
    page.get_by_label(re.compile("Salasana|Lösenord|Password")).fill(account["password"])
    page.get_by_role("button", name=re.compile("Kirjaudu sisään|Logga in|Log in")).click()
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/(scan)?$"))  # box office: its scanner


def register_card(page: Page, live_server, birth_year: str = "1987") -> None:
    """Fill in and send the registration form in Finnish, every choice made by hand."""
    page.goto(f"{live_server.url}/cards/new")
    page.get_by_label("Kotikunta").select_option(label="Tampere")
    page.get_by_label("Postinumero").fill("33100")
    page.get_by_label("Syntymävuosi").fill(birth_year)
    page.get_by_label("Omat alaikäiset lapset").fill("2")
    page.get_by_label("Henkilökohtainen kortti").check()
    page.get_by_label("Sukupuoli (vapaaehtoinen)").select_option(label="Ei halua kertoa")
    page.get_by_label("Elämäntilanne (vapaaehtoinen)").select_option(label="Ei halua kertoa")
    page.get_by_role("button", name="Rekisteröi kortti").click()


def decode(png: bytes) -> list:
    """Every barcode zxing-cpp reads in an image."""
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))


def test_an_issuer_registers_prints_and_hands_over_a_card_that_opens_offline(
        page: Page, browser: Browser, live_server, tmp_path):
    log_in(page, live_server, "issuer")
    register_card(page, live_server)
    expect(page.get_by_role("heading", name="Luovuta kortti")).to_be_visible()
    number = NUMBER.search(page.locator("main .lead").inner_text()).group(0)

    pdf_link = page.get_by_role("link", name="Tulosta kortti")
    pdf = page.request.get(live_server.url + pdf_link.get_attribute("href"))
    assert pdf.headers["content-type"] == "application/pdf"
    (tmp_path / "card.pdf").write_bytes(pdf.body())
    subprocess.run(["pdftoppm", "-r", "300", "-png", "-singlefile", str(tmp_path / "card.pdf"),
                    str(tmp_path / "card")], check=True)
    printed = zxingcpp.read_barcodes(Image.open(tmp_path / "card.png"))
    assert number.replace("-", "") in [code.text for code in printed]

    [link] = [code.text for code in decode(page.locator(".qr-box svg").screenshot())]
    assert link.startswith(f"{live_server.url}/c/")
    phone = browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True,
                                has_touch=True, locale="fi-FI")
    try:
        holder = phone.new_page()
        holder.goto(link)
        expect(holder.get_by_text(number)).to_be_visible()
        holder.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
        phone.set_offline(True)
        holder.reload()
        expect(holder.get_by_text(number)).to_be_visible()
        expect(holder.locator("svg.qr")).to_be_visible()
    finally:
        phone.close()


def test_a_holder_under_sixteen_is_refused_on_the_form_with_the_reason(page, live_server):
    log_in(page, live_server, "issuer")
    register_card(page, live_server, birth_year="2020")
    expect(page.locator("#birth_year-error")).to_contain_text("vähintään 16-vuotiaille")
    expect(page.get_by_label("Syntymävuosi")).to_have_attribute("aria-invalid", "true")


def test_an_issuer_finds_a_card_by_a_loosely_typed_number(page, live_server):
    log_in(page, live_server, "issuer")
    card = next(c for c in live_server.demo["cards"]
                if c["status"] == "active" and c["region"] == "PIR")
    page.goto(f"{live_server.url}/cards/")
    page.get_by_label("Kortin numero").fill(card["number"].replace("-", " ").lower())
    page.get_by_role("button", name="Hae").click()
    expect(page.get_by_role("heading", name=f"Kortti {card['number']}")).to_be_visible()


def issuing_pages(live_server) -> list[tuple[str, str]]:
    """(account, path) of every page of the issuing screens."""
    card = next(c for c in live_server.demo["cards"]
                if c["status"] == "active" and c["region"] == "PIR")
    number = card["number"].replace("-", "")
    expired = next(c for c in live_server.demo["cards"] if c["status"] == "active"
                   and c["region"] == "PIR" and c["valid_until"] < date.today().isoformat())
    return [("issuer", "/"), ("issuer", "/cards/new"), ("issuer", "/cards/"),
            ("issuer", f"/cards/{number}"), ("issuer", f"/cards/{number}/handover"),
            ("issuer", f"/cards/{number}/deactivate"),
            ("issuer", f"/cards/{expired['number'].replace('-', '')}"),
            ("coordinator", "/cards/blank")]


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_the_issuing_pages_have_no_axe_violations(page, live_server, language):
    checked = set()
    for account, path in issuing_pages(live_server):
        if account not in checked:
            page.context.clear_cookies()
            log_in(page, live_server, account)
            page.goto(f"{live_server.url}/lang/{language}?next=/")
            checked.add(account)
        page.goto(live_server.url + path)
        expect(page.locator("html")).to_have_attribute("lang", language)
        assert_no_axe_violations(page)


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_the_registration_form_with_errors_has_no_axe_violations(page, live_server, language):
    log_in(page, live_server, "issuer")
    page.goto(f"{live_server.url}/lang/{language}?next=/cards/new")
    page.locator("#postcode").fill("12")
    page.locator("button.primary").click()
    expect(page.locator("#postcode-error")).to_be_visible()
    assert_no_axe_violations(page)


@pytest.mark.parametrize("language, heading", [("fi", "Luovuta kortti"), ("sv", "Överlämna kortet")])
def test_the_hand_over_page_on_a_phone_shows_the_link_qr_and_is_kept_in_no_cache(
        page, live_server, language, heading, tmp_path):
    log_in(page, live_server, "issuer")
    page.goto(f"{live_server.url}/lang/{language}?next=/cards/new")
    page.locator("#municipality").select_option(label="Tampere")
    page.locator("#postcode").fill("33100")
    page.locator("#birth_year").fill("1987")
    page.locator("#children").fill("1")
    page.locator("input[name=kind][value=personal]").check()
    page.locator("#gender").select_option("not_given")
    page.locator("#life_situation").select_option("not_given")
    with page.expect_response(lambda answer: answer.url.endswith("/handover")) as handover:
        page.locator("button.primary").click()
    assert "no-store" in handover.value.headers["cache-control"]
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    [link] = [code.text for code in decode(page.locator(".qr-box svg").screenshot())]
    assert link.startswith(f"{live_server.url}/c/")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    page.screenshot(path=str(tmp_path / f"handover-{language}.png"), full_page=True)
    assert_no_axe_violations(page)
