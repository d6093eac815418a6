"""Reading cards in bad light (DESIGN §11, issue 13): photo-like footage played into /scan.

Run by hand from the project folder (not part of the test suite):

    .venv/bin/python -m bench.camera_read [--printed 40] [--screen 20] [--seeds-from 1000]
                                          [--frames 60] [--record]

Footage comes from `../shared/tools/camera.py` beside the repository (not kept in the repo):
- printed: the demo's valid cards printed by the product's own code (`card_pdf`), rendered by
  pdftoppm at 12 px/mm (304.8 dpi), the ID-1 page cropped to the card, its corners rounded
  (RGBA), then `photo_frames(card, F, seed, "hard")`;
- screen: the product's own digital card: /c/<token> of the same cards opened in Chromium at
  360 CSS px wide and screenshotted at the pixel density that fills camera.py's phone screen
  (780 × 1632 px at 12 px/mm), put into a phone body like camera.py's `_phone`, then through
  the same renderer as `screen_frames` (its `_render` with the screen box: overexposure,
  moiré, a reflected band), seeded as `screen_frames(…, seed, "hard")` is. `--screen-error`
  redraws the page's QR at another error-correction level first (to choose one).
Video k of a kind uses seed S + k and the demo card k mod (number of cards).

Each video is written as a Y4M (`write_y4m`, 30 fps) and measured twice:
- decoder alone: every frame given to zxing-cpp (`zxingcpp.read_barcodes`, QR only); the share
  of frames whose text is the card's payload;
- in the browser: one headless Chromium and one waitress serve all videos. Chromium's fake
  camera reads a fixed path; before each video that path is replaced (a rename, so a camera
  still open keeps its old file) and a new /scan page is opened in the same signed-in phone
  profile, which starts the camera afresh on the new file (looping it). A script injected
  before the app's own measures, on the performance.now() clock:
  - start: the capture time of the first video frame the page gets (requestVideoFrameCallback),
    i.e. the camera starting with the card already in view;
  - end: the verdict dialog opens, then the next animation frame and a task after it have run;
  - frames decoded: calls of getImageData on a canvas at least 320 px and at most the video
    wide — the scanner copies each video frame it reads out of such a canvas once
    (static/scan/camera.js `readFrame`; its enlarged second pass uses a wider canvas and is not
    counted) and the page exposes no counter of its own; divided by the seconds from start to
    the verdict (or to the 8 s limit);
  - camera frames: requestVideoFrameCallback calls over the same span.
  A video is read if a verdict shows within READ_LIMIT_S of the start.
Also printed per video kind: the QR module size in frame pixels (from the object's corners in
the footage, as camera.py draws them), to see where reads fail.
"""
from __future__ import annotations

import argparse
import base64
import importlib.util
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import qrcode.constants
import zxingcpp
from PIL import Image, ImageDraw
from playwright.sync_api import BrowserContext, Page, sync_playwright

from app.printing.cards import card_pdf, qr_module_mm
from app.printing.qr import qr_svg
from bench import readme
from bench.scan_latency import VENUE, Server, bench_cards, demo_server, launch, open_scanner, phone
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.support.camera import face_of, render_pdf

ROOT = Path(__file__).resolve().parent.parent
TOOL_PATH = Path("shared") / "tools" / "camera.py"  # beside the repository
RESULTS_END = "<!-- end of camera_read results -->"  # new results go just above this line
PX_MM = 12
DPI = PX_MM * 25.4  # 304.8
CORNER_RADIUS_MM = 3.18  # ID-1
DIFFICULTY = "hard"
FPS = 30
READ_LIMIT_S = 8.0
TARGET_SHARE = 0.9
TARGET_MEDIAN_S = 1.5
DECODE_CANVAS_MIN_WIDTH = 320  # the scanner's frame canvas; smaller ones are not decoder input

PROBE = """
(() => {
  const state = { start: null, frames: 0, decodes: 0, enlarged: 0, verdictAt: null, kind: null,
                  number: null };
  window.__cameraRead = state;
  const getImageData = CanvasRenderingContext2D.prototype.getImageData;
  CanvasRenderingContext2D.prototype.getImageData = function (...args) {
    const video = document.querySelector("[data-video]");
    if (state.start !== null && state.verdictAt === null && this.canvas.width >= __MIN_WIDTH__
        && video) {
      if (this.canvas.width <= video.videoWidth) state.decodes += 1;
      else state.enlarged += 1;
    }
    return getImageData.apply(this, args);
  };
  function watch(video) {
    const onFrame = (now, frame) => {
      state.start ??= frame.captureTime ?? frame.presentationTime ?? now;
      if (state.verdictAt === null) state.frames += 1;
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  }
  document.addEventListener("DOMContentLoaded", () => {
    const video = document.querySelector("[data-video]");
    const dialog = document.getElementById("verdict");
    let watched = null;
    video.addEventListener("playing", () => {
      if (watched !== video.srcObject) {
        watched = video.srcObject;
        watch(video);
      }
    });
    new MutationObserver(() => {
      if (!dialog.open || state.verdictAt !== null || state.start === null) return;
      requestAnimationFrame(() => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => {
          state.verdictAt = performance.now();
          state.kind = [...dialog.classList].find((name) => name.startsWith("is-")) ?? null;
          state.number = dialog.querySelector(".card-number")?.textContent.trim() ?? null;
        };
        channel.port2.postMessage(null);
      });
    }).observe(dialog, { attributes: true, attributeFilter: ["open"] });
  });
})();
""".replace("__MIN_WIDTH__", str(DECODE_CANVAS_MIN_WIDTH))


def camera_tool_path() -> Path:
    """../shared/tools/camera.py beside the repository (for a git worktree, beside its main one)."""
    places = [ROOT.parent]
    dot_git = ROOT / ".git"
    if dot_git.is_file() and dot_git.read_text().startswith("gitdir:"):
        # A worktree: "gitdir: <main checkout>/.git/worktrees/<name>".
        places.append(Path(dot_git.read_text().removeprefix("gitdir:").strip()).parents[2].parent)
    for place in places:
        if (place / TOOL_PATH).is_file():
            return place / TOOL_PATH
    sys.exit(f"{places[0] / TOOL_PATH} is missing: this benchmark needs the shared camera tool "
             "(../shared/tools/camera.py beside the repository); it is not kept in the repository")


def load_camera_tool() -> ModuleType:
    """The shared footage maker, ../shared/tools/camera.py from the repository."""
    tool = camera_tool_path()
    try:
        import numpy  # noqa: F401
        import segno  # noqa: F401
    except ImportError as error:
        sys.exit(f"{error.name} is missing: `make install-dev` (requirements-dev.txt) installs it")
    spec = importlib.util.spec_from_file_location("shared_camera", tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Video:
    """One video to make and measure."""

    kind: str  # "printed" or "screen"
    seed: int
    card: dict
    region_name: str
    frames: int
    camera: tuple[int, int] = (640, 480)  # the footage's frame size
    screen: Path | None = None  # the digital card's screenshot (screen videos)
    screen_module_px: float = 0.0  # one QR module in the screenshot's pixels


@dataclass
class Result:
    """What one video gave."""

    video: Video
    path: Path
    decoder_read: int  # frames zxing-cpp read on its own
    module_px: float  # median QR module size in frame pixels
    seconds: float | None = None  # camera start → verdict; None: no verdict in time
    verdict: str | None = None
    decodes_per_s: float = 0.0
    camera_fps: float = 0.0

    @property
    def read(self) -> bool:
        """A verdict within the limit."""
        return self.seconds is not None and self.seconds <= READ_LIMIT_S


def printed_card(card: dict, region_name: str) -> Image.Image:
    """The product's printed card at 12 px/mm, cropped to the card, corners rounded, RGBA."""
    page = render_pdf(card_pdf([face_of(card, region_name)]), dpi=DPI)
    width, height = round(85.6 * PX_MM), round(54.0 * PX_MM)
    card_image = page.crop((0, 0, width, height)).convert("RGBA")
    mask = Image.new("L", card_image.size, 0)
    ImageDraw.Draw(mask).rounded_rectangle([0, 0, width - 1, height - 1],
                                           radius=round(CORNER_RADIUS_MM * PX_MM), fill=255)
    card_image.putalpha(mask)
    return card_image


def _module_fraction(video: Video, object_width_px: int) -> float:
    """One QR module as a share of the filmed object's width."""
    if video.kind == "printed":
        return qr_module_mm(video.card["qr_payload"]) / 85.6
    return video.screen_module_px / object_width_px


# camera.py's phone (`_phone`): 70 × 146 mm at 12 px/mm, the screen inset 30 px at the sides
# and 60 px at the ends, its corners rounded 7 mm.
PHONE_SIZE = (70 * PX_MM, 146 * PX_MM)
SCREEN_BOX = (30, 60, PHONE_SIZE[0] - 30, PHONE_SIZE[1] - 60)
SCREEN_CSS_WIDTH = 360  # the narrow phone the product is built for first
SCREEN_DPR = (SCREEN_BOX[2] - SCREEN_BOX[0]) / SCREEN_CSS_WIDTH
SCREEN_CSS_HEIGHT = round((SCREEN_BOX[3] - SCREEN_BOX[1]) / SCREEN_DPR)


def screenshot_cards(browser, cards: list[dict], folder: Path, error: str | None) -> dict[str, tuple]:
    """Each card's /c/ page as the phone's screen shows it: (PNG path, QR module in px)."""
    levels = {level: getattr(qrcode.constants, f"ERROR_CORRECT_{level}") for level in "LMQH"}
    context = browser.new_context(viewport={"width": SCREEN_CSS_WIDTH, "height": SCREEN_CSS_HEIGHT},
                                  device_scale_factor=SCREEN_DPR, is_mobile=True, has_touch=True,
                                  locale="fi-FI")
    shots = {}
    try:
        for card in cards:
            page = context.new_page()
            page.goto(card["digital_link"])
            svg = page.locator(".holder-qr svg.qr")
            if error is not None:
                label = svg.get_attribute("aria-label")
                svg.evaluate("(node, html) => { node.outerHTML = html; }",
                             str(qr_svg(card["qr_payload"], label, levels[error])))
                svg = page.locator(".holder-qr svg.qr")
            modules = int(svg.get_attribute("viewBox").split()[2])
            box = svg.bounding_box()
            if box["y"] + box["height"] > SCREEN_CSS_HEIGHT:
                sys.exit(f"{card['number']}: the digital card's QR is not all on the first screen")
            path = folder / f"screen-{card['number']}.png"
            page.screenshot(path=str(path))
            page.close()
            shots[card["number"]] = (path, box["width"] * SCREEN_DPR / modules)
    finally:
        context.close()
    return shots


def phone_image(screen: Path) -> Image.Image:
    """camera.py's phone body with the screenshot on its screen."""
    width, height = PHONE_SIZE
    body = Image.new("RGBA", PHONE_SIZE, (0, 0, 0, 0))
    ImageDraw.Draw(body).rounded_rectangle([0, 0, width - 1, height - 1], radius=9 * PX_MM,
                                           fill=(20, 20, 24, 255))
    size = (SCREEN_BOX[2] - SCREEN_BOX[0], SCREEN_BOX[3] - SCREEN_BOX[1])
    shot = Image.open(screen).convert("RGB").resize(size, Image.LANCZOS)
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rounded_rectangle([0, 0, size[0] - 1, size[1] - 1], radius=7 * PX_MM, fill=255)
    body.paste(shot, SCREEN_BOX[:2], mask)
    return body


def screen_footage(tool: ModuleType, screen: Path, frames: int, seed: int) -> list[Image.Image]:
    """As camera.py's screen_frames, with the product's own screen instead of its drawn one."""
    rng = tool.np.random.default_rng([seed, list(tool.LEVELS).index(DIFFICULTY), 2])
    return tool._render(phone_image(screen), frames, rng, DIFFICULTY, SCREEN_BOX)


def make_video(video: Video, folder: str) -> Result:
    """Draw the footage, write its Y4M, and give every frame to zxing-cpp (runs in a worker)."""
    tool = load_camera_tool()
    tool.W, tool.H = video.camera  # camera.py draws 640 × 480; a finer camera sees the same scene
    corners: list = []
    original = tool._corners

    def recording(*args, **kwargs):
        found = original(*args, **kwargs)
        corners.append(found)
        return found

    tool._corners = recording
    if video.kind == "printed":
        obj_width = round(85.6 * PX_MM)
        frames = tool.photo_frames(printed_card(video.card, video.region_name), video.frames,
                                   video.seed, DIFFICULTY)
    else:
        obj_width = PHONE_SIZE[0]
        frames = screen_footage(tool, video.screen, video.frames, video.seed)
    path = Path(folder) / f"{video.kind}-{video.seed}.y4m"
    tool.write_y4m(frames, str(path), FPS)
    payload = video.card["qr_payload"]
    read = 0
    for frame in frames:
        found = zxingcpp.read_barcodes(frame, formats=zxingcpp.BarcodeFormat.QRCode)
        read += any(code.text == payload for code in found)
    fraction = _module_fraction(video, obj_width)
    widths = [(math.dist(c[0], c[1]) + math.dist(c[3], c[2])) / 2 for c in corners]
    return Result(video, path, read, statistics.median(widths) * fraction)


def open_camera(page: Page, server: Server) -> None:
    """Open /scan in a signed-in profile (the venue already chosen) and wait for the camera."""
    page.goto(f"{server.url}/scan")
    page.wait_for_function("""() => {
      const video = document.querySelector("[data-video]");
      return !document.querySelector("[data-camera]").classList.contains("is-off")
        && video.readyState >= 2 && !video.paused;
    }""", timeout=30_000)


def stage(camera_file: Path, video: Path) -> None:
    """Put the video where the fake camera reads: a camera still open keeps its old file."""
    staged = camera_file.with_suffix(".next")
    shutil.copyfile(video, staged)  # a copy: renaming a hard link of the same file does nothing
    os.replace(staged, camera_file)


def play(context: BrowserContext, server: Server, camera_file: Path, result: Result) -> None:
    """Put the video where the fake camera reads, open a new scanner, wait for a verdict."""
    stage(camera_file, result.path)
    page = context.new_page()
    try:
        open_camera(page, server)
        deadline = time.monotonic() + READ_LIMIT_S + 5
        while time.monotonic() < deadline:
            state = page.evaluate("""() => ({...window.__cameraRead,
              elapsed: window.__cameraRead.start === null ? null
                : performance.now() - window.__cameraRead.start})""")
            if state["verdictAt"] is not None:
                break
            if state["elapsed"] is not None and state["elapsed"] > READ_LIMIT_S * 1000:
                break
            time.sleep(0.1)
        if state["start"] is None:
            sys.exit(f"{result.path.name}: the camera never delivered a frame")
        end = state["verdictAt"] if state["verdictAt"] is not None else state["start"] + state["elapsed"]
        span = max(1e-3, (end - state["start"]) / 1000)
        if state["verdictAt"] is not None:
            result.seconds, result.verdict = span, state["kind"]
            if state["number"] != result.video.card["number"]:
                sys.exit(f"{result.path.name}: the verdict is for card {state['number']}, "
                         f"not {result.video.card['number']}: the camera did not play this video")
        result.decodes_per_s = state["decodes"] / span
        result.camera_fps = state["frames"] / span
    finally:
        page.close()


PACE_S = 4.0


def pace_video(tool: ModuleType, folder: str, frames: int, seed: int) -> tuple[Path, Image.Image]:
    """A hard video of a card with nothing to read on it (the decoder searches every frame), and
    one of its frames."""
    width, height = round(85.6 * PX_MM), round(54.0 * PX_MM)
    card = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    ImageDraw.Draw(card).rounded_rectangle([0, 0, width - 1, height - 1],
                                           radius=round(CORNER_RADIUS_MM * PX_MM), fill=(255, 255, 255, 255))
    path = Path(folder) / "pace.y4m"
    footage = tool.photo_frames(card, frames, seed, DIFFICULTY)
    tool.write_y4m(footage, str(path), FPS)
    return path, footage[len(footage) // 2]


def measure_pace(context: BrowserContext, server: Server, camera_file: Path, video: Path) -> dict:
    """Frames read per second while nothing can be read: the decode loop's own pace."""
    stage(camera_file, video)
    page = context.new_page()
    try:
        open_camera(page, server)
        page.wait_for_function("() => window.__cameraRead.start !== null", timeout=30_000)
        page.wait_for_timeout(PACE_S * 1000)
        state = page.evaluate("""() => ({...window.__cameraRead,
          elapsed: performance.now() - window.__cameraRead.start})""")
    finally:
        page.close()
    seconds = state["elapsed"] / 1000
    return {key: state[key] / seconds for key in ("decodes", "enlarged", "frames")}


TIMING = """async ([rgba, width, height, runs]) => {
  const zxing = await import("/static/vendor/zxing-wasm/es/reader/index.js");
  const wasm = document.querySelector("[data-wasm]").dataset.wasm;
  await zxing.prepareZXingModule({ overrides: { locateFile: () => wasm }, fireImmediately: true });
  const bytes = Uint8ClampedArray.from(atob(rgba), (char) => char.charCodeAt(0));
  const source = document.createElement("canvas");
  [source.width, source.height] = [width, height];
  source.getContext("2d").putImageData(new ImageData(bytes, width, height), 0, 0);
  const pixels = (scale) => {
    const canvas = document.createElement("canvas");
    [canvas.width, canvas.height] = [width * scale, height * scale];
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.imageSmoothingQuality = "high";
    context.drawImage(source, 0, 0, canvas.width, canvas.height);
    return context.getImageData(0, 0, canvas.width, canvas.height);
  };
  const passes = {
    "QR + Code 39 (before)": [1, ["QRCode", "Code39"]], "QR": [1, ["QRCode"]],
    "Code 39": [1, ["Code39"]], "QR enlarged 2x": [2, ["QRCode"]],
  };
  const out = {};
  for (const [name, [scale, formats]] of Object.entries(passes)) {
    const frame = pixels(scale);
    const options = { formats, maxNumberOfSymbols: 1, tryHarder: true };
    const times = [];
    for (let i = 0; i < runs + 3; i += 1) {
      const began = performance.now();
      await zxing.readBarcodes(frame, options);
      if (i >= 3) times.push(performance.now() - began);
    }
    times.sort((a, b) => a - b);
    out[name] = times[Math.floor(times.length / 2)];
  }
  return out;
}"""


def decoder_times(context: BrowserContext, server: Server, frame: Image.Image, runs: int = 25) -> dict:
    """Median ms of one zxing-wasm call per pass on a hard 640 × 480 frame, in the scanner page."""
    rgba = base64.b64encode(frame.convert("RGBA").tobytes()).decode()
    page = context.new_page()
    try:
        open_camera(page, server)  # then stopped, so the scanner's own loop takes no CPU
        page.evaluate("document.querySelector('[data-video]').srcObject.getTracks()"
                      ".forEach((track) => track.stop())")
        return page.evaluate(TIMING, [rgba, frame.width, frame.height, runs])
    finally:
        page.close()


def timing_line(times: dict) -> str:
    """The decoder times as one sentence."""
    return ("zxing-wasm per call on a hard 640 × 480 frame with nothing readable (median of 25, ms): "
            + ", ".join(f"{name} {ms:.1f}" for name, ms in times.items()) + ".")


def pace_line(pace: dict) -> str:
    """The pace as one sentence."""
    return (f"Decode loop with nothing readable in view ({PACE_S:.0f} s): {pace['decodes']:.1f} frames "
            f"read a second (first pass), {pace['enlarged']:.1f} enlarged passes a second, "
            f"of {pace['frames']:.1f} camera frames a second.")


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[math.ceil(share * len(ordered)) - 1]


def report(results: list[Result], frames: int) -> str:
    """The results as a small Markdown table."""
    lines = ["| footage | read ≤ 8 s | median / p90 to verdict (s) | decodes / s | camera fps "
             "| decoder alone: frames read | QR module (px) |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for kind in ("printed", "screen"):
        mine = [r for r in results if r.video.kind == kind]
        if not mine:
            continue
        read = [r for r in mine if r.read]
        # Videos without a verdict count as slower than every read one (infinite time).
        times = [r.seconds if r.read else math.inf for r in mine]
        timing = " / ".join(_s(v) for v in (statistics.median(times), percentile(times, 0.9)))
        decoded = sum(r.decoder_read for r in mine)
        modules = sorted(r.module_px for r in mine)
        lines.append(
            f"| {kind} | **{len(read)} of {len(mine)}** ({len(read) / len(mine):.0%}) | {timing} "
            f"| {statistics.median(r.decodes_per_s for r in mine):.1f} "
            f"| {statistics.median(r.camera_fps for r in mine):.1f} "
            f"| {decoded} of {len(mine) * frames} ({decoded / (len(mine) * frames):.0%}) "
            f"| {modules[0]:.2f}–{modules[-1]:.2f} |")
    lines += ["", f"Difficulty {DIFFICULTY}, {frames} frames a video (looped by the fake camera); "
              f"targets: ≥ {TARGET_SHARE:.0%} read per kind, median ≤ {TARGET_MEDIAN_S} s. "
              "Median and p90 over all videos of a kind, an unread one counting as slowest (∞); "
              "decodes / s and camera fps are medians over the videos."]
    return "\n".join(lines)


def _s(value: float) -> str:
    return "∞" if math.isinf(value) else f"{value:.2f}"


def per_module_size(results: list[Result]) -> str:
    """Reads by QR module size: where the failures are."""
    lines = []
    for kind in ("printed", "screen"):
        mine = sorted((r for r in results if r.video.kind == kind), key=lambda r: r.module_px)
        for low in (0, 1.5, 2.0, 2.5, 3.0, 4.0):
            high = {0: 1.5, 1.5: 2.0, 2.0: 2.5, 2.5: 3.0, 3.0: 4.0, 4.0: math.inf}[low]
            group = [r for r in mine if low <= r.module_px < high]
            if group:
                alone = sum(r.decoder_read for r in group) / (len(group) * group[0].video.frames)
                lines.append(f"{kind}: module {low}–{high} px: {sum(r.read for r in group)} of "
                             f"{len(group)} read in /scan, decoder alone {alone:.0%} of frames")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--printed", type=int, default=40, help="printed-card videos")
    parser.add_argument("--screen", type=int, default=20, help="phone-screen videos")
    parser.add_argument("--seeds-from", type=int, default=1000, help="seed of the first video of a kind")
    parser.add_argument("--frames", type=int, default=60, help="frames per video (30 fps)")
    parser.add_argument("--camera", default="640x480", help="frame size WxH of the footage "
                        "(camera.py draws 640x480; 1280x960 is a camera with twice the pixels a side)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes drawing the footage (before the browser runs)")
    parser.add_argument("--screen-error", choices=("L", "M", "Q", "H"),
                        help="redraw the digital card's QR at this error correction (to compare)")
    parser.add_argument("--record", action="store_true", help="append the results to bench/README.md")
    parser.add_argument("--verbose", action="store_true", help="print each video")
    args = parser.parse_args(argv)
    load_camera_tool()  # fail early, with a clear message
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kaiku-bench-") as folder, \
            demo_server(Path(folder)) as server, sync_playwright() as playwright:
        names = {region["code"]: region["name"] for region in server.demo["regions"]}
        cards = bench_cards(server)
        plain = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            shots = screenshot_cards(plain, cards, Path(folder), args.screen_error)
        finally:
            plain.close()
        camera_size = tuple(int(side) for side in args.camera.lower().split("x"))
        videos = []
        for kind, count in (("printed", args.printed), ("screen", args.screen)):
            for k in range(count):
                card = cards[k % len(cards)]
                shot, module = shots[card["number"]] if kind == "screen" else (None, 0.0)
                videos.append(Video(kind, args.seeds_from + k, card, names[card["region"]],
                                    args.frames, camera_size, shot, module))
        with ProcessPoolExecutor(args.workers) as pool:
            results = list(pool.map(make_video, videos, [folder] * len(videos)))
        pace_file, pace_frame = pace_video(load_camera_tool(), folder, args.frames, args.seeds_from)
        print(f"footage drawn and decoded in {time.monotonic() - began:.0f} s", file=sys.stderr)
        camera_file = Path(folder) / "camera.y4m"
        shutil.copyfile(results[0].path, camera_file)
        browser = launch(playwright, camera_file)
        try:
            context = phone(browser)
            context.add_init_script(PROBE)
            first = context.new_page()
            open_scanner(first, server)  # signs in and chooses VENUE once for the profile
            first.close()
            for result in results:
                play(context, server, camera_file, result)
                if args.verbose:
                    print(f"{result.path.name}: {_s(result.seconds or math.inf)} s "
                          f"{result.verdict} decodes/s {result.decodes_per_s:.1f} "
                          f"alone {result.decoder_read}/{args.frames} module {result.module_px:.2f} px",
                          file=sys.stderr)
            pace = measure_pace(context, server, camera_file, pace_file)
            times = decoder_times(context, server, pace_frame)
            context.close()
        finally:
            browser.close()
    table = report(results, args.frames) + "\n\n" + pace_line(pace) + " " + timing_line(times)
    print(table)
    print()
    print(per_module_size(results))
    print(f"\n{len(results)} videos at {VENUE} in {time.monotonic() - began:.0f} s", file=sys.stderr)
    if args.record:
        given = sys.argv[1:] if argv is None else argv
        options = [arg for arg in given if arg not in ("--record", "--verbose")]
        readme.record(RESULTS_END, table + "\n\n```\n" + per_module_size(results) + "\n```",
                      " ".join([".venv/bin/python -m bench.camera_read", *options]))


if __name__ == "__main__":
    main()
