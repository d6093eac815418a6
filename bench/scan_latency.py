"""Scanner speed (DESIGN §11): QR into the camera → verdict on screen, and first-load bytes.

Run by hand from the project folder (not part of the test suite):

    .venv/bin/python -m bench.scan_latency [--scans 25] [--runs 3] [--pose handheld] [--record]

It serves the app with waitress on a fresh SQLite database with the demo data (the browser
tests' helpers), and drives headless Chromium whose fake camera plays a looping Y4M video
(tests/support/camera.py): the desk for BLANK_FRAMES frames, then a printed card for
SHOWN_FRAMES frames, for each of the demo's valid cards in turn.

Latency of one scan, measured inside the page by a script injected before the app's own:
- start: the capture time (requestVideoFrameCallback's `captureTime`, on the performance.now()
  clock) of the first video frame in which the card is in view, told from the desk by the
  brightness of the middle of the frame;
- end: the verdict dialog opens (a MutationObserver on its `open` attribute), then the next
  animation frame runs and a task after it: the frame with the verdict has been produced.
A scan counts only if the scanner was already reading when the card came into view (camera
running, no verdict open); the injected script closes each verdict 100 ms after it shows.
Online the verdict comes from POST /api/scan/check; offline (context.set_offline) from the
device's own checker, with the offline bundle fetched beforehand.

First-load bytes: every JavaScript, CSS and WebAssembly file a fresh browser profile fetches
while opening /scan until the camera runs and the service worker holds the app shell (the
worker's precache included), each file counted once, fetched again for its size as served
and gzip-compressed (level 6, as a reverse proxy sends it; waitress itself does not compress).
"""
from __future__ import annotations

import argparse
import gzip
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from bench import readme
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, _flask, _server_env, _waitress
from tests.support import camera
from tests.support.pgcluster import free_port

HERE = Path(__file__).resolve().parent
RESULTS_END = "<!-- end of scan_latency results -->"  # new results go just above this line
VENUE = "Taidemuseo"  # a venue without events: the verdict depends on the card alone
BLANK_FRAMES = 12  # 0.4 s of desk between cards: time enough to close the last verdict
SHOWN_FRAMES = 30  # each card is in view for 1 s
BRIGHT = 160  # mean red of the frame's middle: the desk is ~115, a white card ~200
DISMISS_AFTER_MS = 100
TARGETS_MS = {"online": 300, "offline": 100}
BUDGET_BYTES = 150 * 1024
DECODER_PATH = "/static/vendor/zxing-wasm/"
POSES = {"straight": camera.STRAIGHT, "handheld": camera.HANDHELD}

PROBE = """
(() => {
  const state = { samples: [], skipped: 0, enteredAt: null, readyAt: null, closedAt: 0, open: false };
  window.__scanLatency = state;
  const canvas = document.createElement("canvas");
  canvas.width = 16;
  canvas.height = 12;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  let bright = false;

  function watch(video) {
    const onFrame = (now, frame) => {
      context.drawImage(video, 0, 0, 16, 12);
      const pixels = context.getImageData(4, 3, 8, 6).data;
      let sum = 0;
      for (let i = 0; i < pixels.length; i += 4) sum += pixels[i];
      const inView = sum / (pixels.length / 4) > __BRIGHT__;
      if (inView && !bright) state.enteredAt = frame.captureTime ?? frame.presentationTime ?? now;
      bright = inView;
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }

  function afterNextFrame(callback) {
    requestAnimationFrame(() => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => callback(performance.now());
      channel.port2.postMessage(null);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const video = document.querySelector("[data-video]");
    const box = document.querySelector("[data-camera]");
    const dialog = document.getElementById("verdict");
    let watched = null;
    video.addEventListener("playing", () => {
      if (watched !== video.srcObject) {
        watched = video.srcObject;
        watch(video);
      }
    });
    new MutationObserver(() => {
      state.readyAt = box.classList.contains("is-off") ? null : state.readyAt ?? performance.now();
    }).observe(box, { attributes: true, attributeFilter: ["class"] });
    new MutationObserver(() => {
      if (dialog.open === state.open) return;
      state.open = dialog.open;
      if (!dialog.open) {
        state.closedAt = performance.now();
        return;
      }
      const entered = state.enteredAt;
      const counts = entered !== null && state.readyAt !== null
        && entered > state.readyAt && entered > state.closedAt;
      afterNextFrame((shown) => {
        if (counts) {
          const kind = [...dialog.classList].find((name) => name.startsWith("is-"));
          state.samples.push({ ms: shown - entered, kind });
        } else {
          state.skipped += 1;
        }
        setTimeout(() => dialog.querySelector('[data-action="dismiss"]').click(), __DISMISS__);
      });
    }).observe(dialog, { attributes: true, attributeFilter: ["open"] });
  });
})();
""".replace("__BRIGHT__", str(BRIGHT)).replace("__DISMISS__", str(DISMISS_AFTER_MS))


@dataclass(frozen=True)
class Server:
    """The app under waitress, and its demo data."""

    url: str
    demo: dict

    def password(self, username: str) -> str:
        """The demo password of an account."""
        return next(a["password"] for a in self.demo["accounts"] if a["username"] == username)


@dataclass(frozen=True)
class Latency:
    """The scans of one mode in one run."""

    mode: str
    samples: list[float]
    kinds: dict[str, int]
    skipped: int

    @property
    def median(self) -> float:
        """The median in ms."""
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        """The 95th percentile in ms (nearest rank)."""
        ordered = sorted(self.samples)
        return ordered[math.ceil(0.95 * len(ordered)) - 1]


@dataclass(frozen=True)
class Bytes:
    """Files of one group fetched on first load."""

    files: list[str]
    raw: int
    gzipped: int


@contextmanager
def demo_server(folder: Path) -> Iterator[Server]:
    """Serve the app on SQLite with the demo data, like the browser tests' live server."""
    instance = folder / "instance"
    instance.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = _server_env(instance, f"sqlite:///{instance / 'bench.db'}")
    _flask(env, "db", "upgrade")
    demo = json.loads(_flask(env, "seed-demo", "--json", "--base-url", url))
    with _waitress(env, port, folder / "waitress.log"):
        yield Server(url, demo)


def bench_cards(server: Server) -> list[dict]:
    """Demo cards valid at the venue for a while yet (the venue's region is PIR)."""
    today = date.today().isoformat()
    return [card for card in server.demo["cards"] if card["status"] == "active"
            and card["region"] == "PIR" and card["qr_payload"] and card["valid_until"] > today]


def make_video(server: Server, folder: Path, pose: camera.Pose) -> Path:
    """The looping video: the desk, then a card, for each bench card in turn."""
    names = {region["code"]: region["name"] for region in server.demo["regions"]}
    images = [camera.card_image(card, names[card["region"]]) for card in bench_cards(server)]
    return camera.card_video(folder / "cards.y4m", images, blank_before=BLANK_FRAMES,
                             shown=SHOWN_FRAMES, pose=pose)


def launch(playwright, video: Path) -> Browser:
    """Headless Chromium whose camera plays the video."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
        *CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}"])


def phone(browser: Browser) -> BrowserContext:
    """A fresh 360 × 640 phone profile in Finnish."""
    return browser.new_context(viewport={"width": 360, "height": 640}, is_mobile=True,
                               has_touch=True, locale="fi-FI")


def open_scanner(page: Page, server: Server) -> None:
    """Log in as the box office, open /scan, choose the venue, and wait for the camera."""
    page.goto(f"{server.url}/login")
    page.fill("input[name=username]", "boxoffice")
    page.fill("input[name=password]", server.password("boxoffice"))
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: urlsplit(url).path != "/login")
    page.goto(f"{server.url}/scan")
    page.locator("#venue-choice").get_by_label(VENUE).check()
    page.locator("#setup-form button[type=submit]").click()
    page.wait_for_function("""() => {
      const video = document.querySelector("[data-video]");
      return !document.querySelector("[data-camera]").classList.contains("is-off")
        && video.readyState >= 2 && !video.paused;
    }""", timeout=30_000)


def ready_for_offline(page: Page) -> None:
    """Wait until the service worker controls the page and the venue's bundle is kept."""
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30_000)
    page.wait_for_function("""() => new Promise((resolve) => {
      const request = indexedDB.open("kaiku-scan");
      request.onsuccess = () => {
        const count = request.result.transaction("bundles").objectStore("bundles").count();
        count.onsuccess = () => resolve(count.result > 0);
      };
      request.onerror = () => resolve(false);
    })""", timeout=30_000)


def collect(page: Page, mode: str, scans: int) -> Latency:
    """Start counting now, and wait for `scans` scans that count."""
    page.evaluate("window.__scanLatency.samples = []; window.__scanLatency.skipped = 0")
    deadline = time.monotonic() + 30 + scans * 4
    while True:
        state = page.evaluate("window.__scanLatency")
        if len(state["samples"]) >= scans:
            break
        if time.monotonic() > deadline:
            sys.exit(f"{mode}: only {len(state['samples'])} of {scans} scans in time "
                     f"({state['skipped']} skipped)")
        time.sleep(0.5)
    samples = state["samples"][:scans]
    kinds: dict[str, int] = {}
    for sample in samples:
        kinds[sample["kind"]] = kinds.get(sample["kind"], 0) + 1
    return Latency(mode, [s["ms"] for s in samples], kinds, state["skipped"])


def measure_latency(browser: Browser, server: Server, scans: int) -> list[Latency]:
    """Online scans, then offline scans, in one phone profile."""
    context = phone(browser)
    try:
        context.add_init_script(PROBE)
        page = context.new_page()
        open_scanner(page, server)
        ready_for_offline(page)
        online = collect(page, "online", scans)
        context.set_offline(True)
        page.wait_for_function("document.querySelector('[data-banner]').classList.contains('is-offline')")
        offline = collect(page, "offline", scans)
        return [online, offline]
    finally:
        context.close()


def first_load_bytes(browser: Browser, server: Server) -> dict[str, Bytes]:
    """Scripts, styles and the decoder that a first visit to /scan fetches (worker included)."""
    context = phone(browser)
    urls: set[str] = set()
    context.on("request", lambda request: urls.add(request.url))
    try:
        page = context.new_page()
        open_scanner(page, server)
        ready_for_offline(page)
        page.wait_for_load_state("networkidle")
        groups: dict[str, list[tuple[str, bytes]]] = {"app": [], "decoder": []}
        for url in sorted(urls):
            path = urlsplit(url).path
            if urlsplit(url).netloc != urlsplit(server.url).netloc or not _is_code(path):
                continue
            body = context.request.get(url).body()
            groups["decoder" if path.startswith(DECODER_PATH) else "app"].append((path, body))
        return {name: Bytes([path for path, _ in files], sum(len(b) for _, b in files),
                            sum(len(gzip.compress(b, 6)) for _, b in files))
                for name, files in groups.items()}
    finally:
        context.close()


def _is_code(path: str) -> bool:
    return path.endswith((".js", ".mjs", ".css", ".wasm"))


def report(runs: list[list[Latency]], sizes: dict[str, Bytes], scans: int) -> str:
    """The results as a small Markdown table."""
    lines = ["| run | online median / p95 (ms) | offline median / p95 (ms) |",
             "| --- | --- | --- |"]
    for number, (online, offline) in enumerate(runs, 1):
        lines.append(f"| {number} | {online.median:.0f} / {online.p95:.0f} "
                     f"| {offline.median:.0f} / {offline.p95:.0f} |")
    app, decoder = sizes["app"], sizes["decoder"]
    lines += [
        "",
        f"{scans} scans per mode and run; targets: online median ≤ {TARGETS_MS['online']} ms, "
        f"offline ≤ {TARGETS_MS['offline']} ms.",
        "",
        "| first load | files | as served | gzip |",
        "| --- | --- | --- | --- |",
        f"| JS + CSS without the decoder | {len(app.files)} | {_kb(app.raw)} | {_kb(app.gzipped)} |",
        f"| decoder (zxing-wasm JS + .wasm) | {len(decoder.files)} | {_kb(decoder.raw)} "
        f"| {_kb(decoder.gzipped)} |",
        "",
        f"Budget: JS + CSS without the decoder ≤ {_kb(BUDGET_BYTES)} compressed.",
    ]
    return "\n".join(lines)


def _kb(size: int) -> str:
    return f"{size / 1024:.1f} KB"


def kinds_line(runs: list[list[Latency]]) -> str:
    """Which verdicts were measured, and how many verdicts did not count."""
    parts = []
    for number, run in enumerate(runs, 1):
        for result in run:
            kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(result.kinds.items()))
            parts.append(f"run {number} {result.mode}: {kinds}; not counted {result.skipped}")
    return "\n".join(parts)


def record(table: str, command: str) -> None:
    """Add the results, the command and the date to bench/README.md, newest last."""
    readme.record(RESULTS_END, table, command)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=25, help="scans per mode and run (≥ 20)")
    parser.add_argument("--runs", type=int, default=3, help="runs, each in a new Chromium")
    parser.add_argument("--pose", choices=sorted(POSES), default="handheld")
    parser.add_argument("--record", action="store_true", help="append the results to bench/README.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kaiku-bench-") as folder, \
            demo_server(Path(folder)) as server, sync_playwright() as playwright:
        video = make_video(server, Path(folder), POSES[args.pose])
        runs, sizes = [], {}
        for _ in range(args.runs):
            browser = launch(playwright, video)
            try:
                runs.append(measure_latency(browser, server, args.scans))
                sizes = sizes or first_load_bytes(browser, server)
            finally:
                browser.close()
    table = report(runs, sizes, args.scans)
    print(table)
    print()
    print(kinds_line(runs))
    if args.record:
        options = [arg for arg in (sys.argv[1:] if argv is None else argv) if arg != "--record"]
        record(table, " ".join([".venv/bin/python -m bench.scan_latency", *options]))


if __name__ == "__main__":
    main()
