"""Fake camera footage: printed cards held up to a phone, as a Y4M video for Chromium.

Chromium plays such a file as its camera with `--use-fake-device-for-media-stream
--use-file-for-fake-video-capture=<file>`, looping it. A card is the real card PDF of the
printing code, rendered by pdftoppm and placed on a neutral background at the size a phone
held ~20 cm away sees it, optionally turned, tilted and blurred.
"""
from __future__ import annotations

import math
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from io import BytesIO
from pathlib import Path

import zxingcpp
from PIL import Image, ImageDraw, ImageFilter

from app.printing.cards import (
    CARD_HEIGHT_MM,
    CARD_WIDTH_MM,
    QR_BOX_MM,
    QR_LEFT,
    QR_TOP,
    CardFace,
    card_pdf,
)

SIZE = (640, 480)
FPS = 30
SUPERSAMPLE = 2  # frames are drawn at twice the size and shrunk, as a lens averages
BACKGROUND_TOP = (128, 124, 118)  # a grey desk, a little lighter away from the camera
BACKGROUND_BOTTOM = (104, 100, 95)
VIEWING_DISTANCE = 2.5  # camera to card, in card widths: a perspective that looks handheld
PDF_DPI = 600
STICKER = (236, 233, 226)  # an off-white label stuck over a print
ENLARGED_MAX = (1280, 960)  # the scanner's enlarged pass: 2x, cut to this around the centre


@dataclass(frozen=True)
class Pose:
    """How the card sits in the picture."""

    width: float = 0.75  # the card's apparent width as a share of the frame's
    rotate: float = 0.0  # in-plane turn, degrees clockwise
    tilt: float = 0.0  # turn about the card's vertical axis, degrees (right edge away)
    blur: float = 0.0  # Gaussian blur radius in pixels of the final frame
    shift: tuple[float, float] = (0.0, 0.0)  # centre offset as shares of the frame


STRAIGHT = Pose()
HANDHELD = Pose(rotate=-6.0, tilt=14.0, blur=0.6, shift=(-0.02, 0.03))


def face_of(card: dict, region_name: str) -> CardFace:
    """The printed face of a card as `flask seed-demo --json` lists it (DESIGN §10)."""
    number = card["number"].replace("-", "")
    blank = card["qr_payload"] is None
    valid_until = card.get("valid_until")
    return CardFace(number=number, qr_text=number if blank else card["qr_payload"],
                    region_name=region_name,
                    valid_until=date.fromisoformat(valid_until) if valid_until else None,
                    children=None if blank else card["children"], kind=card["kind"], blank=blank)


def render_pdf(pdf: bytes, dpi: int = PDF_DPI) -> Image.Image:
    """The first page of a PDF as an RGB image, rendered by pdftoppm."""
    done = subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", "-f", "1", "-l", "1"],
                          input=pdf, capture_output=True, check=True, timeout=60)
    return Image.open(BytesIO(done.stdout)).convert("RGB")


def card_image(card: dict, region_name: str) -> Image.Image:
    """A demo card printed by the printing code and rendered as an image."""
    return render_pdf(card_pdf([face_of(card, region_name)]))


def without_qr(card: Image.Image) -> Image.Image:
    """The card image with its QR box covered, as by a sticker: no QR code left to read."""
    per_mm = card.width / CARD_WIDTH_MM
    covered = card.copy()
    ImageDraw.Draw(covered).rectangle(
        [QR_LEFT * per_mm, QR_TOP * per_mm,
         (QR_LEFT + QR_BOX_MM) * per_mm - 1, (QR_TOP + QR_BOX_MM) * per_mm - 1], fill=STICKER)
    return covered


def blank_frame(size: tuple[int, int] = SIZE) -> Image.Image:
    """The background alone: no card in view."""
    height = size[1]
    strip = Image.new("RGB", (1, height))
    for y in range(height):
        share = y / max(1, height - 1)
        strip.putpixel((0, y), tuple(round(a + (b - a) * share)
                                     for a, b in zip(BACKGROUND_TOP, BACKGROUND_BOTTOM, strict=True)))
    return strip.resize(size, Image.Resampling.BILINEAR)


def card_frame(card: Image.Image, pose: Pose = STRAIGHT, size: tuple[int, int] = SIZE) -> Image.Image:
    """One camera frame with the card in it."""
    big = (size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE)
    corners = _card_corners(pose, big)
    span = max(x for x, _ in corners) - min(x for x, _ in corners)
    # Shrink the print first, to about the size it will have: the warp then only resamples.
    scale = min(1.0, 1.5 * span / card.width)
    source = card.resize((round(card.width * scale), round(card.height * scale)),
                         Image.Resampling.LANCZOS) if scale < 1 else card
    w, h = source.size
    coefficients = _perspective(corners, [(0, 0), (w, 0), (w, h), (0, h)])
    warped = source.transform(big, Image.Transform.PERSPECTIVE, coefficients,
                              Image.Resampling.BICUBIC)
    mask = Image.new("L", big, 0)
    ImageDraw.Draw(mask).polygon(corners, fill=255)
    frame = blank_frame(big)
    frame.paste(warped, mask=mask.filter(ImageFilter.GaussianBlur(SUPERSAMPLE * 0.5)))
    frame = frame.resize(size, Image.Resampling.LANCZOS)
    return frame.filter(ImageFilter.GaussianBlur(pose.blur)) if pose.blur else frame


def read_qr(frame: Image.Image) -> str | None:
    """What zxing-cpp reads from the frame's QR code, if anything."""
    found = zxingcpp.read_barcodes(frame, formats=zxingcpp.BarcodeFormat.QRCode)
    return found[0].text if found else None


def read_code39(frame: Image.Image) -> str | None:
    """What zxing-cpp reads from the frame's Code 39 barcode, if anything."""
    found = zxingcpp.read_barcodes(frame, formats=zxingcpp.BarcodeFormat.Code39)
    return found[0].text if found else None


def enlarged(frame: Image.Image, limit: tuple[int, int] = ENLARGED_MAX) -> Image.Image:
    """The frame at twice its size, cut to at most `limit` around the centre, as the scanner's
    second QR pass sees it (static/scan/camera.js, for a frame under 1280 pixels wide)."""
    big = frame.resize((frame.width * 2, frame.height * 2), Image.Resampling.BICUBIC)
    w, h = min(big.width, limit[0]), min(big.height, limit[1])
    left, top = (big.width - w) // 2, (big.height - h) // 2
    return big.crop((left, top, left + w, top + h))


@dataclass(frozen=True)
class Scene:
    """A stretch of video: `frames` frames of one picture."""

    picture: Image.Image
    frames: int


def card_scenes(cards: Sequence[Image.Image], *, blank_before: int = 30, shown: int = 45,
                blank_after: int = 0, pose: Pose = STRAIGHT) -> list[Scene]:
    """Each card in turn: `blank_before` frames of the empty desk, then `shown` of the card."""
    empty = blank_frame()
    scenes = []
    for card in cards:
        if blank_before:
            scenes.append(Scene(empty, blank_before))
        scenes.append(Scene(card_frame(card, pose), shown))
    if blank_after:
        scenes.append(Scene(empty, blank_after))
    return scenes


def write_y4m(path: Path, scenes: Iterable[Scene], fps: int = FPS) -> Path:
    """Write the scenes as a 4:2:0 Y4M video that Chromium's fake camera plays."""
    scenes = list(scenes)
    width, height = scenes[0].picture.size
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for scene in scenes:
            if scene.picture.size != (width, height):
                raise ValueError("every frame of a video has the same size")
            frame = b"FRAME\n" + _planes(scene.picture)
            for _ in range(scene.frames):
                out.write(frame)
    return path


def card_video(path: Path, cards: Sequence[Image.Image], **options) -> Path:
    """A Y4M video that shows the cards in turn (see `card_scenes` for the options)."""
    return write_y4m(path, card_scenes(cards, **options))


def _planes(picture: Image.Image) -> bytes:
    y, cb, cr = picture.convert("YCbCr").split()
    half = (picture.width // 2, picture.height // 2)
    return (y.tobytes() + cb.resize(half, Image.Resampling.BOX).tobytes()
            + cr.resize(half, Image.Resampling.BOX).tobytes())


def _card_corners(pose: Pose, size: tuple[int, int]) -> list[tuple[float, float]]:
    """Where the card's corners (top-left, top-right, bottom-right, bottom-left) land."""
    half_w, half_h = CARD_WIDTH_MM / 2, CARD_HEIGHT_MM / 2
    tilt = math.radians(pose.tilt)
    distance = VIEWING_DISTANCE * CARD_WIDTH_MM
    projected = []
    for x, y in [(-half_w, -half_h), (half_w, -half_h), (half_w, half_h), (-half_w, half_h)]:
        depth = distance + x * math.sin(tilt)  # the turned card's right edge moves away
        projected.append((x * math.cos(tilt) * distance / depth, y * distance / depth))
    span = max(x for x, _ in projected) - min(x for x, _ in projected)
    scale = pose.width * size[0] / span
    turn = math.radians(pose.rotate)
    centre_x = size[0] * (0.5 + pose.shift[0])
    centre_y = size[1] * (0.5 + pose.shift[1])
    return [(centre_x + scale * (x * math.cos(turn) - y * math.sin(turn)),
             centre_y + scale * (x * math.sin(turn) + y * math.cos(turn))) for x, y in projected]


def _perspective(targets: Sequence[tuple[float, float]],
                 sources: Sequence[tuple[float, float]]) -> list[float]:
    """Pillow's 8 PERSPECTIVE coefficients that map each target point to its source point."""
    rows, values = [], []
    for (x, y), (u, v) in zip(targets, sources, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        values.extend([u, v])
    return _solve(rows, values)


def _solve(matrix: list[list[float]], values: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (8 unknowns; no numpy needed)."""
    n = len(values)
    a = [[*row, value] for row, value in zip(matrix, values, strict=True)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(a[r][col]))
        a[col], a[pivot] = a[pivot], a[col]
        for r in range(n):
            if r != col:
                factor = a[r][col] / a[col][col]
                a[r] = [x - factor * p for x, p in zip(a[r], a[col], strict=True)]
    return [a[i][n] / a[i][i] for i in range(n)]
