"""The statistics dashboard in a real browser on a 360 × 640 phone: axe in fi and sv, nothing
wider than the screen but the tables, which scroll inside their frames, and the filter form.
"""
from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import expect

from app.rules import TZ
from tests.browser.conftest import assert_no_axe_violations
from tests.browser.test_issuing import log_in

# Elements sticking out past the right edge of the viewport, other than inside a table frame.
OVERFLOWING = """() => [...document.querySelectorAll("body *")]
    .filter(e => !e.closest(".table-scroll") && e.getBoundingClientRect().right > innerWidth + 0.5)
    .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + "." + e.className)"""


@pytest.mark.parametrize("language", ["fi", "sv"])
def test_the_dashboard_fits_a_phone_and_has_no_axe_violations(page, live_server, language):
    log_in(page, live_server, "coordinator")
    page.goto(f"{live_server.url}/lang/{language}?next=/stats")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("#months-table")).to_be_visible()
    expect(page.locator("svg.chart[role=img]").first).to_be_visible()
    assert_no_axe_violations(page)

    assert page.evaluate(OVERFLOWING) == []
    assert page.evaluate("document.scrollingElement.scrollWidth") <= 360
    frame = page.locator("#table-months .table-scroll")
    assert frame.evaluate("e => e.scrollWidth > e.clientWidth")  # the months table scrolls


def test_a_bad_range_is_explained_and_a_good_one_is_shown(page, live_server):
    log_in(page, live_server, "coordinator")
    page.goto(f"{live_server.url}/lang/fi?next=/stats")
    page.locator("#period-1").check()
    page.locator("#start").fill("2025-06-01")
    page.locator("#end").fill("2025-03-31")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#end-error")).to_be_visible()
    expect(page.locator("#end")).to_have_attribute("aria-invalid", "true")
    assert_no_axe_violations(page)

    page.locator("#end").fill("2025-08-31")
    page.locator("main form button[type=submit]").click()
    rows = page.locator("#months-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first.locator("th")).to_have_text("kesäkuu 2025")


@pytest.mark.parametrize(("language", "text", "name", "region"), [
    ("fi", "Lataa kaikki taulukot (Excel)", "kaikukortti-tilastot-pirkanmaa", "Alue: Pirkanmaa"),
    ("sv", "Ladda ner alla tabeller (Excel)", "kaikukortet-statistik-birkaland",
     "Region: Birkaland"),
])
def test_one_link_on_a_phone_downloads_every_table_as_one_workbook(
        page, live_server, language, text, name, region):
    log_in(page, live_server, "coordinator")
    page.goto(f"{live_server.url}/lang/{language}?next=/stats")
    link = page.get_by_role("link", name=text, exact=True)
    link.scroll_into_view_if_needed()
    expect(link).to_be_in_viewport()
    box = link.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == f"{name}-{datetime.now(TZ).year}.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()))
    assert len(book.worksheets) == page.locator(".stats-contents li").count() == 10
    assert all(sheet["A2"].value == region for sheet in book.worksheets)
