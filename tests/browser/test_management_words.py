"""A coordinator reads the audit log in words with card numbers, finds a card by a typed number,
makes a box-office account without a preset role, and is asked before a venue is deactivated.
"""
from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, expect

from app.rules import TZ
from tests.browser.test_issuing import NUMBER, log_in
from tests.browser.test_management import add_venue, submit

WORDS = {
    "fi": {"registered": "Kortti rekisteröity", "card": "Kortti", "preprinted": "Esipainettu kortti: ei"},
    "sv": {"registered": "Kort registrerat", "card": "Kort", "preprinted": "Förtryckt kort: nej"},
}
# Codes and internal ids the log used to show: "card.register", "preprinted: False", "Kortti 15".
RAW = re.compile(r"card\.register|preprinted|False|\b(Kortti|Kort) \d+(?![0-9A-Z-])")


def registered_card(browser: Browser, live_server, issuer: str) -> str:
    """An issuer registers a card in its own browser; its grouped number."""
    context = browser.new_context(locale="fi-FI")
    try:
        desk = context.new_page()
        log_in(desk, live_server, issuer)
        desk.goto(f"{live_server.url}/cards/new")
        desk.get_by_label("Kotikunta").select_option(index=1)
        desk.get_by_label("Postinumero").fill("33100")
        desk.get_by_label("Syntymävuosi").fill("1987")
        desk.get_by_label("Omat alaikäiset lapset").fill("0")
        desk.get_by_label("Henkilökohtainen kortti").check()
        desk.get_by_label("Sukupuoli (vapaaehtoinen)").select_option(label="Ei halua kertoa")
        desk.get_by_label("Elämäntilanne (vapaaehtoinen)").select_option(label="Ei halua kertoa")
        desk.get_by_role("button", name="Rekisteröi kortti").click()
        expect(desk.locator("main .lead")).to_contain_text(NUMBER)
        return NUMBER.search(desk.locator("main .lead").inner_text()).group(0)
    finally:
        context.close()


def shoot(page: Page, name: str) -> None:
    """A full-page screenshot to look at, at the page's own size."""
    page.screenshot(path=f"/tmp/manage-{name}.png", full_page=True)


@pytest.fixture(scope="module")
def cards(browser: Browser, live_server) -> dict[str, str]:
    """One card of the coordinator's region and one of the other region."""
    return {"own": registered_card(browser, live_server, "issuer"),
            "other": registered_card(browser, live_server, "issuer-kym")}


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_the_coordinator_reads_the_audit_log_in_words_with_card_numbers(page, live_server, cards,
                                                                        language):
    log_in(page, live_server, "coordinator")
    page.goto(f"{live_server.url}/lang/{language}?next=/manage/audit")
    words = WORDS[language]
    table = page.locator("main table")
    row = table.locator("tbody tr").filter(has_text=cards["own"])
    expect(row.first).to_contain_text(words["registered"])
    expect(row.first).to_contain_text(f"{words['card']} {cards['own']}")
    expect(row.first).to_contain_text(words["preprinted"])
    text = table.inner_text()
    assert RAW.search(text) is None, RAW.search(text)
    assert cards["other"] not in page.content()  # another region's card stays unseen
    shoot(page, f"audit-{language}-360")
    page.set_viewport_size({"width": 1280, "height": 800})
    shoot(page, f"audit-{language}-desktop")


def test_the_coordinator_filters_the_log_by_a_typed_card_number(page, live_server, cards):
    log_in(page, live_server, "coordinator")
    page.goto(f"{live_server.url}/manage/audit")
    page.get_by_label("Kortin numero").fill(cards["own"].lower())
    page.get_by_role("button", name="Suodata").click()
    rows = page.locator("main table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(cards["own"])

    page.get_by_label("Kortin numero").fill(cards["other"])
    page.get_by_role("button", name="Suodata").click()
    expect(page.locator("main")).to_contain_text("Suodattimia vastaavia lokitapahtumia ei löytynyt.")
    expect(page.locator("main table")).to_have_count(0)  # nothing, as for an unknown number
    expect(page.locator("main [aria-invalid=true]")).to_have_count(0)

    typo = cards["own"][:-1] + ("0" if cards["own"][-1] != "0" else "1")
    page.get_by_label("Kortin numero").fill(typo)
    page.get_by_role("button", name="Suodata").click()
    expect(page.locator("#card_number-error")).to_be_visible()
    expect(page.get_by_label("Kortin numero")).to_have_value(typo)
    shoot(page, "audit-filter-error-360")


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_without_javascript_a_new_account_has_no_role_and_a_ticked_venue_suggests_the_box_office(
        page, browser: Browser, live_server, language):
    log_in(page, live_server, "coordinator")
    venue = f"Kulttuuritalo {language}"
    add_venue(page, live_server, venue)
    context = browser.new_context(viewport={"width": 360, "height": 640}, locale="fi-FI",
                                  java_script_enabled=False, storage_state=page.context.storage_state())
    try:
        form = context.new_page()
        form.goto(f"{live_server.url}/lang/{language}?next=/manage/staff/new")
        role = form.locator("#role")
        expect(role).to_have_value("")
        form.locator("#username").fill(f"kassa.{language}")
        form.get_by_label(venue, exact=True).check()
        form.locator("#password").fill("Kulttuuritalon-ovi-2026")
        submit(form)
        suggestion = {"fi": "Valitse rooli – lipunmyynti sopii valituille kohteille.",
                      "sv": "Välj roll – biljettförsäljning passar för de valda platserna."}[language]
        expect(form.locator("#role-error")).to_have_text(suggestion)
        expect(role).to_have_value("boxoffice")
        shoot(form, f"staff-suggest-{language}-360")
        form.locator("#password").fill("Kulttuuritalon-ovi-2026")
        submit(form)
        expect(form.locator("main h1")).to_contain_text(f"kassa.{language}")
    finally:
        context.close()


def test_with_javascript_ticking_a_venue_chooses_the_box_office_at_once(page, live_server):
    log_in(page, live_server, "coordinator")
    page.goto(f"{live_server.url}/manage/staff/new")
    role = page.locator("#role")
    expect(role).to_have_value("")
    page.locator("#issuing_site").select_option(index=1)
    expect(role).to_have_value("issuer")
    role.select_option("")
    page.locator("main input[name=venues]").first.check()
    expect(role).to_have_value("boxoffice")
    role.select_option("coordinator")  # a role chosen by hand stays
    page.locator("main input[name=venues]").nth(1).check()
    expect(role).to_have_value("coordinator")


def test_deactivating_a_venue_asks_first(page, live_server):
    log_in(page, live_server, "coordinator")
    add_venue(page, live_server, "Vanha elokuvateatteri")
    row = page.locator("main table tbody tr").filter(has_text="Vanha elokuvateatteri")
    row.get_by_role("button", name=re.compile("Poista käytöstä")).click()
    expect(page.locator("main h1")).to_have_text("Poistetaanko Vanha elokuvateatteri käytöstä?")
    shoot(page, "venue-confirm-fi-360")
    page.get_by_role("link", name="Palaa muuttamatta mitään").click()
    expect(row.locator(".status-inactive")).to_have_count(0)

    row.get_by_role("button", name=re.compile("Poista käytöstä")).click()
    page.locator("main").get_by_role("button", name="Poista käytöstä").click()
    expect(page).to_have_url(f"{live_server.url}/manage/venues")
    expect(row.locator(".status-inactive")).to_be_visible()


def offline_records_of(browser: Browser, live_server, number: str) -> None:
    """The box office's scanner syncs two offline records of one card at one venue today."""
    region = live_server.demo["regions"][0]["code"]
    venue = next(v for v in live_server.demo["venues"] if v["region"] == region)
    context = browser.new_context(locale="fi-FI")
    try:
        scanner = context.new_page()
        log_in(scanner, live_server, "boxoffice")
        token = scanner.locator('meta[name="csrf-token"]').get_attribute("content")
        visits = [{"code": number.replace("-", ""), "venue_id": venue["id"], "event_id": None,
                   "adults": 1, "children": 0, "assistants": 0, "nonce": str(uuid.uuid4()),
                   "occurred_at": datetime.now(UTC).isoformat(), "source": "offline"}
                  for _ in range(2)]
        synced = scanner.request.post(f"{live_server.url}/api/scan/sync", data={"visits": visits},
                                      headers={"X-CSRFToken": token})
        assert synced.ok, synced.text()
    finally:
        context.close()


@pytest.fixture(scope="module")
def flagged(browser: Browser, live_server, cards) -> str:
    """The number of a card with a flagged offline record waiting in the queue."""
    offline_records_of(browser, live_server, cards["own"])
    return cards["own"]


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_the_conflict_queue_names_the_card_by_number_and_the_reason_in_words(
        page, live_server, flagged, language):
    log_in(page, live_server, "coordinator")
    page.goto(f"{live_server.url}/lang/{language}?next=/manage/conflicts")
    section = page.locator("main section.action").filter(has_text=flagged)
    expect(section).to_have_count(1)
    reason = {"fi": "Korttia oli jo käytetty", "sv": "Kortet hade redan använts"}[language]
    expect(section).to_contain_text(reason)
    expect(section).not_to_contain_text("already_used")
    today = datetime.now(TZ).date()
    expect(section).to_contain_text(f"{today.day}.{today.month}.{today.year}")
    shoot(page, f"conflicts-{language}-360")
