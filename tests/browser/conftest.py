"""Real-browser fixtures: the app under waitress in a subprocess, Debian's Chromium, axe-core."""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support.pgcluster import free_port
from tests.support.servers import OPERATOR_SETTINGS, own_database

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
AXE = HERE / "vendor" / "axe-core" / "axe.min.js"
WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BROWSER_DATABASE = "kaikukortti_browser"
START_TIMEOUT = 30


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/browser as a browser test."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)


@dataclass(frozen=True)
class LiveServer:
    """A running server and the demo data (DESIGN §10 `seed-demo --json`) seeded into it."""

    url: str
    demo: dict

    def account(self, username: str) -> dict:
        """The demo account with this username (its password included)."""
        return next(a for a in self.demo["accounts"] if a["username"] == username)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, postgres_url) -> Iterator[LiveServer]:
    """The real app, migrated and seeded, served by waitress for the whole session."""
    instance = tmp_path_factory.mktemp("browser-instance")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with own_database(postgres_url, instance, BROWSER_DATABASE) as database_url:
        env = _server_env(instance, database_url)
        _flask(env, "db", "upgrade")
        demo = json.loads(_flask(env, "seed-demo", "--json", "--base-url", url))
        with _waitress(env, port, instance / "waitress.log"):
            yield LiveServer(url, demo)


def _server_env(instance: Path, database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in OPERATOR_SETTINGS and not k.startswith("FLASK_")}
    env.update(KAIKU_ENV="testing", KAIKU_INSTANCE=str(instance),
               SECRET_KEY="browser-tests-only-secret-key", SIGNING_KEY_DIR=str(instance / "keys"),
               DATABASE_URL=database_url, PYTHONUNBUFFERED="1")
    return env


def _flask(env: dict[str, str], *args: str) -> str:
    """Run one flask command of the app; its standard output, or a failure that shows why."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        pytest.fail(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stderr}",
                    pytrace=False)
    return done.stdout


@contextmanager
def _waitress(env: dict[str, str], port: int, log_path: Path) -> Iterator[None]:
    """Serve the app with waitress until the block ends, however it ends."""
    command = [sys.executable, "-m", "app.serve", "--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "wb") as log, \
            subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT) as proc:
        try:
            _wait_until_healthy(proc, port, log_path)
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_until_healthy(proc: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not _healthy(port):
        if proc.poll() is not None:
            pytest.fail(f"waitress exited with {proc.returncode}:\n{log_path.read_text()}",
                        pytrace=False)
        if time.monotonic() > deadline:
            pytest.fail(f"waitress did not answer /healthz within {START_TIMEOUT} s:\n"
                        f"{log_path.read_text()}", pytrace=False)
        time.sleep(0.1)


def _healthy(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/healthz")
        with connection.getresponse() as response:
            return response.status == 200
    except OSError:
        return False
    finally:
        connection.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium; missing Chromium fails the tests (`make system-packages` installs it)."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium package "
                    "(run `make system-packages` or `apt-get install chromium`)", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh phone-sized page (360 × 640, touch, Finnish) with its own cookies."""
    context = browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True,
                                  has_touch=True, locale="fi-FI")
    try:
        yield context.new_page()
    finally:
        context.close()


def assert_no_axe_violations(page: Page) -> None:
    """Run axe-core's WCAG 2.1 A and AA rules on the page; fail listing every violation."""
    inject_axe(page)
    results = page.evaluate("tags => axe.run(document, {runOnly: tags})", WCAG_AA_TAGS)
    violations = results["violations"]
    if violations:
        lines = [f"{v['id']} ({v['impact']}): {v['help']} -> "
                 + ", ".join(" ".join(map(str, node["target"])) for node in v["nodes"])
                 for v in violations]
        pytest.fail(f"axe-core found {len(violations)} violation(s) on {page.url}:\n"
                    + "\n".join(lines), pytrace=False)


def inject_axe(page: Page) -> None:
    """Load axe-core into the page through the DevTools protocol, not as a <script> element.

    An inline <script> is what the pages' policy refuses; this works in a context that keeps
    to the policy as well as in one that bypasses it.
    """
    page.evaluate(AXE.read_text() + "\n;undefined")
