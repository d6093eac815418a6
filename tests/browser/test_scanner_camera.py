"""The box office with a camera: printed cards held up to a phone's (fake) camera, on and offline.

Chromium's fake camera plays a Y4M video (tests/support/camera.py) of the real card PDFs. The
video is a launch flag, so each video gets one Chromium for the module, shared by its tests.
"""
from __future__ import annotations

import base64
import dataclasses
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, assert_no_axe_violations
from tests.browser.test_issuing import NUMBER, log_in, register_card
from tests.browser.test_scanner import (
    BUNDLE_KEPT,
    RECORD,
    REFUSED,
    VALID,
    back_to_scanning,
    choose_place,
    demo_card,
    expect_verdict,
    expired_card,
    valid_card,
    verdict,
    wedge_scan,
)
from tests.support import camera

VENUE, EVENT = "Kaupunginteatteri", "Lastennäytelmä"  # an event without a quota
ALREADY_USED = "Kortti on jo käytetty tänään klo"
WAITING = "5 kirjausta odottaa lähetystä."
# A card comes round again only after it has been out of view longer than the camera's
# quiet time for a card it has just read (SAME_CODE_QUIET_MS = 2.5 s in static/scan/camera.js).
AWAY_FRAMES = 100
CARD_TIMEOUT_MS = 20_000
# A card held close enough for its Code 39 bars (0.254 mm narrow) to be read in the frame.
CLOSE = dataclasses.replace(camera.HANDHELD, width=0.85)
# The picture in the scanner's video element as a PNG, drawn as the scanner draws it to read it.
VIDEO_FRAME = """() => {
  const video = document.querySelector("[data-video]");
  if (video.readyState < HTMLMediaElement.HAVE_CURRENT_DATA || !video.videoWidth) {
    return null;
  }
  const canvas = document.createElement("canvas");
  [canvas.width, canvas.height] = [video.videoWidth, video.videoHeight];
  canvas.getContext("2d").drawImage(video, 0, 0);
  return canvas.toDataURL("image/png");
}"""
QUEUE = """() => new Promise((resolve, reject) => {
  const request = indexedDB.open("kaiku-scan");
  request.onsuccess = () => {
    const all = request.result.transaction("queue").objectStore("queue").getAll();
    all.onsuccess = () => resolve(all.result.map((item) => item.body));
    all.onerror = () => reject(all.error);
  };
  request.onerror = () => reject(request.error);
})"""


def printed(live_server, card: dict) -> Image.Image:
    """The demo card as the printing code prints it, rendered to an image."""
    region = next(r for r in live_server.demo["regions"] if r["code"] == card["region"])
    return camera.card_image(card, region["name"])


@contextmanager
def video_camera(browser: Browser, video: Path) -> Iterator[Browser]:
    """Another Chromium of the session's Playwright whose camera plays `video`, looping."""
    with_camera = browser.browser_type.launch(executable_path=str(CHROMIUM), args=[
        *CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])
    try:
        yield with_camera
    finally:
        with_camera.close()
        video.unlink()  # tens of megabytes that pytest's kept temporary folders need not hold


@pytest.fixture(scope="module")
def valid_camera(browser, live_server, tmp_path_factory) -> Iterator[Browser]:
    """A camera that sees a valid card held up, taken away for a while, and held up again."""
    card = demo_card(live_server, kind="personal", children=2)
    video = camera.card_video(tmp_path_factory.mktemp("video") / "valid.y4m",
                              [printed(live_server, card)], blank_before=20, shown=45,
                              blank_after=AWAY_FRAMES, pose=camera.HANDHELD)
    with video_camera(browser, video) as with_camera:
        yield with_camera


@pytest.fixture(scope="module")
def refused_camera(browser, live_server, tmp_path_factory) -> Iterator[Browser]:
    """A camera that sees an expired card, then a deactivated one, then again and again."""
    cards = [expired_card(live_server), demo_card(live_server, "deactivated")]
    video = camera.card_video(tmp_path_factory.mktemp("video") / "refused.y4m",
                              [printed(live_server, card) for card in cards], blank_before=15,
                              shown=45, pose=camera.HANDHELD)
    with video_camera(browser, video) as with_camera:
        yield with_camera


@pytest.fixture(scope="module")
def covered_camera(browser, live_server, tmp_path_factory) -> Iterator[Browser]:
    """A camera that sees a valid card with a sticker over its QR code (CLOSE), all the time."""
    card = valid_card(live_server, children=0)
    video = camera.card_video(tmp_path_factory.mktemp("video") / "covered.y4m",
                              [camera.without_qr(printed(live_server, card))], blank_before=0,
                              shown=30, pose=CLOSE)
    with video_camera(browser, video) as with_camera:
        yield with_camera


@pytest.fixture(scope="module")
def empty_camera(browser, tmp_path_factory) -> Iterator[Browser]:
    """A camera that sees the desk and no card."""
    video = camera.write_y4m(tmp_path_factory.mktemp("video") / "empty.y4m",
                             [camera.Scene(camera.blank_frame(), 30)])
    with video_camera(browser, video) as with_camera:
        yield with_camera


def phone(with_camera: Browser) -> BrowserContext:
    """A 360 × 640 touch phone in Finnish."""
    return with_camera.new_context(viewport={"width": 360, "height": 640}, is_mobile=True,
                                   has_touch=True, locale="fi-FI")


def open_camera_scanner(page: Page, live_server) -> None:
    """Log in as the box office and start scanning for the children's play at the theatre."""
    log_in(page, live_server, "boxoffice")
    page.goto(f"{live_server.url}/scan")
    choose_place(page, VENUE, EVENT)
    expect(page.locator("[data-camera-note]")).to_have_text(re.compile("Näytä kortin QR-koodi"))


def verdict_for(page: Page, number: str) -> None:
    """Wait for the camera's verdict on this card, sending others' verdicts away."""
    deadline = time.monotonic() + CARD_TIMEOUT_MS / 1000
    while True:
        left_ms = max(1, (deadline - time.monotonic()) * 1000)
        expect(verdict(page)).to_be_visible(timeout=left_ms)
        if number in verdict(page).inner_text():
            return
        back_to_scanning(page)


def video_frame(page: Page) -> Image.Image:
    """The camera's current picture in the scanner, at the size the scanner reads it."""
    url = page.wait_for_function(VIDEO_FRAME).json_value()
    return Image.open(BytesIO(base64.b64decode(url.removeprefix("data:image/png;base64,"))))


def place_ids(live_server) -> tuple[int, int]:
    """The ids of the venue and event these tests scan for."""
    venue = next(v for v in live_server.demo["venues"] if v["name"] == VENUE)
    event = next(e for e in live_server.demo["events"]
                 if e["venue_id"] == venue["id"] and e["title"] == EVENT)
    return venue["id"], event["id"]


def server_visits(page: Page, live_server, numbers: set[str]) -> list[dict]:
    """Today's ok visits of these cards at the place, as the server lists them."""
    venue_id, event_id = place_ids(live_server)
    answer = page.request.get(f"{live_server.url}/api/scan/today",
                              params={"venue_id": venue_id, "event_id": event_id})
    assert answer.ok, answer.text()
    return [visit for visit in answer.json()["visits"]
            if visit["card_number"] in numbers and visit["status"] == "ok"]


def new_cards(with_camera: Browser, live_server, count: int) -> list[dict]:
    """Cards an issuer registers now: their numbers, and the QR payloads read off the prints."""
    context = phone(with_camera)
    try:
        page = context.new_page()
        log_in(page, live_server, "issuer")
        cards = []
        for _ in range(count):
            register_card(page, live_server)
            number = NUMBER.search(page.locator("main .lead").inner_text()).group(0)
            href = page.get_by_role("link", name="Tulosta kortti").get_attribute("href")
            pdf = page.request.get(live_server.url + href)
            payload = camera.read_qr(camera.render_pdf(pdf.body(), dpi=300))
            assert payload, f"no QR code read on the printed card {number}"
            cards.append({"number": number, "qr_payload": payload})
        return cards
    finally:
        context.close()


# Online


def test_a_card_held_to_the_camera_is_recorded_and_refused_when_shown_again(
        valid_camera, live_server):
    card = demo_card(live_server, kind="personal", children=2)
    context = phone(valid_camera)
    try:
        page = context.new_page()
        open_camera_scanner(page, live_server)
        verdict_for(page, card["number"])
        expect_verdict(page, VALID, "Kortti kelpaa.")
        verdict(page).get_by_role("button", name=RECORD, exact=True).click()
        expect_verdict(page, "Kirjattu")
        expect(verdict(page)).to_be_hidden(timeout=5000)  # back to scanning by itself
        [visit] = server_visits(page, live_server, {card["number"]})
        assert (visit["adults"], visit["children"], visit["assistants"]) == (1, 0, 0)

        # The card is taken away, and shown again for the same event.
        expect(verdict(page)).to_be_visible(timeout=CARD_TIMEOUT_MS)
        expect_verdict(page, REFUSED, ALREADY_USED)
        expect(verdict(page)).to_contain_text(card["number"])
        expect(verdict(page)).to_have_class(re.compile(r"\bis-refused\b"))
        assert len(server_visits(page, live_server, {card["number"]})) == 1
    finally:
        context.close()


@pytest.mark.parametrize("which, reason", [("expired", "Kortin voimassaolo on päättynyt."),
                                           ("deactivated", "Kortti on poistettu käytöstä.")])
def test_a_card_held_to_the_camera_that_is_not_valid_is_refused_in_red_with_the_reason(
        refused_camera, live_server, which, reason):
    card = expired_card(live_server) if which == "expired" else demo_card(live_server, which)
    context = phone(refused_camera)
    try:
        page = context.new_page()
        open_camera_scanner(page, live_server)
        verdict_for(page, card["number"])
        expect_verdict(page, REFUSED, reason)
        expect(verdict(page)).to_have_class(re.compile(r"\bis-refused\b"))
        expect(verdict(page).get_by_role("button", name=RECORD, exact=True)).to_be_hidden()
    finally:
        context.close()


def test_a_printed_card_whose_qr_cannot_be_read_is_read_by_its_barcode(covered_camera,
                                                                      live_server):
    card = valid_card(live_server, children=0)
    context = phone(covered_camera)
    try:
        page = context.new_page()
        open_camera_scanner(page, live_server)
        frame = video_frame(page)
        # The premise: no QR code is left to read, at either size; the Code 39 has the number.
        assert camera.read_qr(frame) is None
        assert camera.read_qr(camera.enlarged(frame)) is None
        assert camera.read_code39(frame) == card["number"].replace("-", "")
        verdict_for(page, card["number"])
    finally:
        context.close()


# Offline


def test_offline_five_cards_are_recorded_kept_over_a_reload_and_sent_exactly_once(
        empty_camera, live_server):
    cards = new_cards(empty_camera, live_server, 5)
    numbers = {card["number"] for card in cards}
    context = phone(empty_camera)
    try:
        page = context.new_page()
        open_camera_scanner(page, live_server)
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
        page.wait_for_function(BUNDLE_KEPT, timeout=30_000)
        context.set_offline(True)

        for card in cards:
            wedge_scan(page, card["qr_payload"])
            expect_verdict(page, VALID, "Kortti kelpaa.")
            expect(verdict(page)).to_contain_text("Tarkistettu tällä laitteella")
            verdict(page).get_by_role("button", name=RECORD, exact=True).click()
            expect(verdict(page)).to_contain_text("Tallennettu laitteelle")
            back_to_scanning(page)
        banner = page.locator("[data-banner]")
        expect(banner).to_contain_text("Ei verkkoyhteyttä")
        expect(banner).to_contain_text(WAITING)
        queued = page.evaluate(QUEUE)
        assert len(queued) == 5

        page.reload()
        expect(page.locator("#scan")).to_be_visible()
        expect(banner).to_contain_text(WAITING)
        wedge_scan(page, cards[0]["qr_payload"])  # still decides, from its own records too
        expect_verdict(page, REFUSED, ALREADY_USED)
        back_to_scanning(page)
        assert server_visits(page, live_server, numbers) == []

        context.set_offline(False)
        expect(banner).to_be_empty(timeout=15_000)
        visits = server_visits(page, live_server, numbers)
        assert sorted(v["card_number"] for v in visits) == sorted(numbers)

        page.reload()  # a second sync, by the page and by hand, sends nothing twice
        expect(page.locator("#scan")).to_be_visible()
        token = page.locator('meta[name="csrf-token"]').get_attribute("content")
        again = page.request.post(f"{live_server.url}/api/scan/sync", data={"visits": queued},
                                  headers={"X-CSRFToken": token})
        assert again.ok, again.text()
        assert [result["verdict"] for result in again.json()["results"]] == ["ok"] * 5
        expect(banner).to_be_empty()
        assert len(server_visits(page, live_server, numbers)) == 5
    finally:
        context.close()


# Accessibility


def test_the_camera_scan_screen_has_no_axe_violations_while_the_video_runs(empty_camera,
                                                                           live_server):
    context = phone(empty_camera)
    try:
        page = context.new_page()
        open_camera_scanner(page, live_server)
        page.wait_for_function("""() => {
          const video = document.querySelector("[data-video]");
          return video.srcObject !== null && !video.paused && video.readyState >= 2;
        }""")
        assert_no_axe_violations(page)
    finally:
        context.close()
