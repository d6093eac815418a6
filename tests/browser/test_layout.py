"""Every page at 320, 360, 390 and 414 px in fi, sv and en: no text clipped, nothing wider than
the screen. Swedish and English run longer than Finnish, which is where clipping shows.

One browser context per language; each page loads once and is measured at every width. The
only things allowed past the screen's edge are inside the table frames that scroll sideways on
purpose (the statistics' `.table-scroll`, and the lists' `table.table` on a narrow screen).
"""
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.test_issuing import log_in
from tests.browser.test_scanner import back_to_scanning, choose_place, type_number, verdict
from tests.browser.test_scanner import demo_card as scanner_card

WIDTHS = (320, 360, 390, 414)
HEIGHT = 740
# Frames that scroll sideways by design: what is inside may extend past the screen, not the frame.
SCROLLERS = [".table-scroll", "table.table"]

# Run in the page through DevTools (page.evaluate): the pages' CSP allows no inline script.
LAYOUT_FAULTS = """([scrollers, width]) => {
    const faults = [];
    const classes = (e) => typeof e.className === "string" && e.className.trim()
        ? "." + e.className.trim().split(/\\s+/).join(".") : "";
    const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + classes(e);
    const text = (e) => (e.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 40);
    const scrollsSideways = (e) => ["auto", "scroll"].includes(getComputedStyle(e).overflowX);
    // Inside a frame that scrolls on purpose (the frame itself must still fit the screen).
    const scrolled = (e) => scrollers.some((s) => {
        const frame = e.parentElement && e.parentElement.closest(s);
        return frame !== null && scrollsSideways(frame);
    });
    // Text meant for screen readers only, and the skip link until it gets focus.
    const unseen = (e) => e.closest(".visually-hidden")
        || (e.matches(".skip-link") && document.activeElement !== e);
    const clips = (style) => ["hidden", "clip"].includes(style.overflowX)
        || style.textOverflow === "ellipsis";
    const clipsHeight = (style) => ["hidden", "clip"].includes(style.overflowY);
    for (const e of document.body.querySelectorAll("*")) {
        const rect = e.getBoundingClientRect();
        if ((rect.width === 0 && rect.height === 0) || unseen(e) || scrolled(e)) continue;
        const style = getComputedStyle(e);
        if (style.visibility === "hidden") continue;
        if (rect.right > width + 0.5 || rect.left < -0.5) {
            const span = `${Math.round(rect.left)}..${Math.round(rect.right)}`;
            faults.push(`${name(e)} "${text(e)}" spans ${span} of ${width} px`);
        }
        if (!text(e)) continue;
        if (clips(style) && e.scrollWidth > e.clientWidth) {
            faults.push(`${name(e)} "${text(e)}" is cut: ${e.scrollWidth} px of text in ${e.clientWidth} px`);
        }
        if (clipsHeight(style) && e.scrollHeight > e.clientHeight + 1) {
            faults.push(`${name(e)} "${text(e)}" is cut: ${e.scrollHeight} px high in ${e.clientHeight} px`);
        }
    }
    const page = document.scrollingElement.scrollWidth;
    if (page > width) faults.push(`the page scrolls sideways: ${page} px on a ${width} px screen`);
    return faults;
}"""

LANGUAGES = ["fi", "sv", "en"]


@pytest.fixture
def phone(browser: Browser, language: str) -> Iterator[Page]:
    """A phone page whose browser asks for the language (one context for all the pages)."""
    context = browser.new_context(viewport={"width": WIDTHS[0], "height": HEIGHT},
                                  is_mobile=True, has_touch=True, locale=f"{language}-FI")
    try:
        yield context.new_page()
    finally:
        context.close()


class Survey:
    """Open pages and record what does not fit at each width."""

    def __init__(self, page: Page, base_url: str, language: str) -> None:
        self.page, self.base_url, self.language = page, base_url, language
        self.faults: list[str] = []
        self.seen: list[str] = []

    def visit(self, path: str, status: int = 200) -> None:
        """Open a page, check its answer, and measure it at every width."""
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.status == status, (path, response and response.status)
        expect(self.page.locator("html")).to_have_attribute("lang", self.language)
        self.measure(path)

    def measure(self, label: str) -> None:
        """The faults of the page as it stands now, at every width (back to the first after)."""
        self.seen.append(label)
        for width in WIDTHS:
            self.page.set_viewport_size({"width": width, "height": HEIGHT})
            self.faults += [f"{label} at {width} px: {fault}"
                            for fault in self.page.evaluate(LAYOUT_FAULTS, [SCROLLERS, width])]
        self.page.set_viewport_size({"width": WIDTHS[0], "height": HEIGHT})

    def links(self, path: str, pattern: str) -> list[str]:
        """Paths of the links on a page that match the pattern, in page order, once each."""
        self.page.goto(self.base_url + path)
        hrefs = self.page.locator("main a[href]").evaluate_all(
            "links => links.map(a => a.pathname)")
        return list(dict.fromkeys(h for h in hrefs if re.fullmatch(pattern, h)))

    def first_link(self, path: str, pattern: str) -> str:
        """The first link on a page matching the pattern (the lists link their items' forms)."""
        found = self.links(path, pattern)
        assert found, f"no link matching {pattern} on {path}"
        return found[0]

    def log_in(self, live_server, username: str) -> None:
        """Log in afresh as a demo account and keep the survey's language."""
        self.page.context.clear_cookies()
        log_in(self.page, live_server, username)
        self.page.goto(f"{self.base_url}/lang/{self.language}?next=/")


def holder_pages(survey: Survey, live_server) -> None:
    """The digital card of one demo card of each kind and standing, and a link not in use."""
    cards, seen = live_server.demo["cards"], set()
    for card in cards:
        if card["digital_link"] and (card["status"], card["kind"]) not in seen:
            seen.add((card["status"], card["kind"]))
            # A lost or replaced card's old link opens the not-in-use page, as after a replacement.
            gone = card["status"] in ("lost", "replaced")
            survey.visit(card["digital_link"].removeprefix(live_server.url), 404 if gone else 200)
    survey.visit("/c/" + "Z" * 43, status=404)


def anonymous_pages(survey: Survey, live_server) -> None:
    """What anyone can open: the login page, the error pages, the holder's pages."""
    survey.page.goto(f"{live_server.url}/lang/{survey.language}?next=/login")
    survey.visit("/login")
    survey.visit("/no-such-page", status=404)
    holder_pages(survey, live_server)


def boxoffice_pages(survey: Survey, live_server) -> None:
    """The scanner's screens (place, scanning, a valid and a refused verdict), a forbidden page."""
    survey.log_in(live_server, "boxoffice")
    survey.visit("/scan")
    venue = next(v["name"] for v in live_server.demo["venues"] if v["region"] == "PIR")
    choose_place(survey.page, venue)
    survey.measure("/scan: scanning")
    for label, card in (("valid", scanner_card(live_server, "active")),
                        ("refused", scanner_card(live_server, "deactivated"))):
        type_number(survey.page, card["number"])
        expect(verdict(survey.page)).to_be_visible()
        survey.measure(f"/scan: {label} verdict")
        back_to_scanning(survey.page)
    survey.visit("/manage/", status=403)


def issuer_pages(survey: Survey, live_server) -> None:
    """The issuer's start page, registering, finding, one card and its handover."""
    survey.log_in(live_server, "issuer")
    for path in ("/", "/cards/new", "/cards/", "/account/devices"):
        survey.visit(path)
    card = next(c for c in live_server.demo["cards"] if c["status"] == "active"
                and c["region"] == "PIR" and c["digital_link"])
    number = card["number"].replace("-", "")
    survey.visit(f"/cards/?q={number}")
    survey.visit(f"/cards/{number}")
    survey.visit(f"/cards/{number}/handover")


MANAGE_LISTS = ("events", "municipalities", "sites", "venues", "staff")


def coordinator_pages(survey: Survey, live_server) -> None:
    """Management lists with their new and edit forms, the logs, statistics, blank cards."""
    survey.log_in(live_server, "coordinator")
    for path in ("/", "/manage/", "/manage/audit", "/manage/conflicts", "/manage/refused", "/stats",
                 "/cards/blank",
                 "/manage/events/series/new"):
        survey.visit(path)
    for name in MANAGE_LISTS:
        survey.visit(f"/manage/{name}")
        survey.visit(f"/manage/{name}/new")
        survey.visit(survey.first_link(f"/manage/{name}", rf"/manage/{name}/\d+/edit"))


def admin_pages(survey: Survey, live_server) -> None:
    """The national administrator's own pages: regions, and finding any card."""
    survey.log_in(live_server, "admin")
    for path in ("/", "/manage/", "/manage/regions", "/manage/regions/new", "/cards/"):
        survey.visit(path)
    survey.visit(survey.first_link("/manage/regions", r"/manage/regions/\d+/edit"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_page_clips_text_or_overflows_a_phone_screen(phone, live_server, language):
    survey = Survey(phone, live_server.url, language)
    for pages in (anonymous_pages, boxoffice_pages, issuer_pages, coordinator_pages,
                  admin_pages):
        pages(survey, live_server)
    assert len(survey.seen) >= 35, survey.seen
    assert not survey.faults, f"{len(survey.faults)} layout fault(s) in {language}:\n" + \
        "\n".join(survey.faults)
