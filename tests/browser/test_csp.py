"""The pages work under their real Content-Security-Policy (no bypass): the scanner reads a card
with the camera and its WebAssembly decoder, the digital card installs its service worker, the
login form signs in, and the browser reports no policy violation and no error on the way."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect

from tests.browser.test_digital_card import demo_card as holder_card
from tests.browser.test_issuing import log_in
from tests.browser.test_scanner import demo_card
from tests.browser.test_scanner_camera import open_camera_scanner, printed, verdict_for, video_camera
from tests.support import camera

# Every securitypolicyviolation event of every page in the context, handed to the test through
# a binding (bindings and init scripts come from the browser's side, not from the page).
# A predicate given as a function is compiled once; an expression would be eval'd on each poll,
# which this very policy forbids.
CONTROLLED = "() => navigator.serviceWorker.controller !== null"
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportViolation(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`
                         + ` at ${event.sourceFile}:${event.lineNumber}`);
});
"""


class Watch:
    """What went wrong in a browser context: policy violations, console errors, page errors."""

    def __init__(self, context: BrowserContext) -> None:
        self.violations: list[str] = []
        self.errors: list[str] = []
        context.expose_function("reportViolation", self.report)
        context.add_init_script(REPORT_VIOLATIONS)
        context.on("page", self.watch)

    def report(self, violation: str) -> None:
        """Keep a violation the page reported."""
        self.violations.append(violation)

    def watch(self, page: Page) -> None:
        """Collect the page's console errors and uncaught exceptions."""
        page.on("console", self.console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def console(self, message: ConsoleMessage) -> None:
        """Keep an error the page logged (the browser's own guess at /favicon.ico aside)."""
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            self.errors.append(f"console: {message.text} at {message.location['url']}")

    def assert_clean(self) -> None:
        """Nothing was blocked and nothing failed."""
        assert self.violations == []
        assert self.errors == []


def policy_of(page: Page, url: str) -> str:
    """The Content-Security-Policy the server sends with the page at `url`."""
    return page.request.get(url).headers["content-security-policy"]


def strict_phone(browser: Browser) -> BrowserContext:
    """A 360 × 640 touch phone in Finnish that keeps to the pages' policy."""
    return browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True,
                               has_touch=True, locale="fi-FI", bypass_csp=False)


@pytest.fixture
def watched(browser: Browser) -> Iterator[tuple[Page, Watch]]:
    """A phone page under the real policy, watched for violations and errors."""
    context = strict_phone(browser)
    watch = Watch(context)
    try:
        yield context.new_page(), watch
    finally:
        context.close()


@pytest.fixture(scope="module")
def card_camera(browser, live_server, tmp_path_factory) -> Iterator[Browser]:
    """A Chromium whose camera sees a valid demo card held up by hand."""
    card = demo_card(live_server, kind="personal", children=2)
    video = camera.card_video(tmp_path_factory.mktemp("video") / "csp.y4m",
                              [printed(live_server, card)], blank_before=15, shown=45,
                              pose=camera.HANDHELD)
    with video_camera(browser, video) as with_camera:
        yield with_camera


def test_the_scanner_reads_a_card_with_the_camera_under_the_real_policy(card_camera, live_server):
    card = demo_card(live_server, kind="personal", children=2)
    context = strict_phone(card_camera)
    watch = Watch(context)
    try:
        page = context.new_page()
        assert "script-src 'self' 'wasm-unsafe-eval'" in policy_of(page, f"{live_server.url}/login")
        open_camera_scanner(page, live_server)
        verdict_for(page, card["number"])  # the .wasm decoder read the QR from the video
        page.wait_for_function(CONTROLLED, timeout=30_000)
        watch.assert_clean()
    finally:
        context.close()


def test_the_digital_card_and_its_service_worker_run_under_the_real_policy(watched, live_server):
    page, watch = watched
    card = holder_card(live_server, valid=True)
    page.goto(card["digital_link"])
    expect(page.locator("svg.qr")).to_be_visible()
    page.wait_for_function(CONTROLLED, timeout=30_000)
    page.reload()  # now answered through the service worker
    expect(page.locator("svg.qr")).to_be_visible()
    assert "frame-ancestors 'none'" in policy_of(page, card["digital_link"])
    watch.assert_clean()


def test_the_login_page_signs_in_under_the_real_policy(watched, live_server):
    page, watch = watched
    log_in(page, live_server, "issuer")
    expect(page.locator("main")).to_be_visible()
    watch.assert_clean()


def test_the_policy_is_enforced_and_a_violation_would_be_seen(watched, live_server):
    page, watch = watched
    page.goto(f"{live_server.url}/login")
    page.evaluate("""() => {
      const script = document.createElement("script");
      script.textContent = "window.injected = true";
      document.head.append(script);
    }""")
    assert page.evaluate("window.injected === undefined")
    for _ in range(50):  # the violation event is reported just after the script is refused
        if watch.violations:
            break
        page.wait_for_timeout(50)
    assert any(v.startswith("script-src-elem blocked inline") for v in watch.violations), \
        watch.violations


def test_a_card_pdf_opens_in_the_browsers_viewer_under_its_policy(watched, live_server):
    page, watch = watched
    log_in(page, live_server, "issuer")
    card = live_server.demo["cards"][0]
    assert "object-src 'self'" in policy_of(page, card["print_url"])
    page.goto(card["print_url"])
    page.wait_for_timeout(1000)  # the viewer is a plugin: nothing in the page to wait for
    watch.assert_clean()
