"""Printed cards as PDF: one ID-1 card a page, or A4 sheets of ten (DESIGN §5).

Pure code: no Flask request and no database. QR and barcode are vector rectangles, so a
batch of 1,000 cards stays small and prints sharp at any resolution.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import qrcode.constants
from fpdf import FPDF
from fpdf.enums import RenderStyle

from app.cardcodes import format_number
from app.printing import code39
from app.printing.qr import QUIET_ZONE, qr_matrix

CARD_WIDTH_MM = 85.6  # ID-1 (ISO/IEC 7810)
CARD_HEIGHT_MM = 54.0
MARGIN_MM = 3.5
QR_ERROR = qrcode.constants.ERROR_CORRECT_M
# Phone cameras read a printed QR reliably at a distance and in poor light from about 0.85 mm
# a module (bench/README: camera reads); a signed payload is a version 5 symbol, 37 modules
# and a 4-module quiet zone each side. The box is sized for it; a shorter text (a blank
# card's number) fills the same box with larger modules.
QR_MODULE_MM = 0.88
PAYLOAD_QR_MODULES = 37 + 2 * QUIET_ZONE
QR_BOX_MM = QR_MODULE_MM * PAYLOAD_QR_MODULES  # 39.6: the whole symbol, quiet zone included
MIN_QR_MODULE_MM = 0.5
# The barcode holds the canonical number: without hyphens it is two characters shorter,
# so its bars can be wider, and normalise_number reads it either way.
BARCODE_NARROW_MM = 0.254  # 3 dots of a 300 dpi card printer
# 7 dots wide: 167 narrow widths, 42.4 mm, fit left of the QR. ISO/IEC 16388 allows 2.0-3.0
# and asks at least 2.2 when the narrow bar is under 0.5 mm.
BARCODE_WIDE = 7 / 3
BARCODE_HEIGHT_MM = 6.5

# Where things sit, in mm from the card's top-left corner; a text's y is its baseline.
# The QR box takes the top-right corner, its quiet zone white card up to the edges; the
# column left of it holds the title, region, number, barcode and details, and the strip
# below it the name line and where to use the card.
QR_LEFT = CARD_WIDTH_MM - QR_BOX_MM  # 46.0
QR_TOP = 0.0
COLUMN_WIDTH = QR_LEFT - MARGIN_MM  # the text left of the QR: nothing enters its box
TITLE_Y = 7.3
REGION_Y = 10.7
RULE_Y = 12.2
RULE_WIDTH_MM = 0.4
NUMBER_Y = 17.4
NUMBER_PT = 16.0
BARCODE_LEFT = MARGIN_MM  # its quiet zone is the margin; the QR's quiet zone follows it
BARCODE_TOP = 18.6
DETAILS_Y = 28.0
DETAILS_LAST_Y = 40.5  # the lowest baseline of the details, above the name line
DETAILS_PITCH = 2.8  # closer, down to USAGE_PITCH, when the details need more rows
NAME_Y = 43.6
USAGE_Y = 46.4
USAGE_PITCH = 2.5
MIN_TEXT_PT = 6.0  # nothing on a card is smaller: 6 pt is the least a holder can read
TITLE_PT = 15.0
REGION_PT = 9.0
DETAILS_PT = 6.5
USAGE_PT = 6.0

SHEET_WIDTH_MM, SHEET_HEIGHT_MM = 210.0, 297.0  # A4 portrait
SHEET_COLUMNS, SHEET_ROWS = 2, 5
CARDS_PER_SHEET = SHEET_COLUMNS * SHEET_ROWS
CROP_GAP_MM = 2.0  # crop marks start this far outside the cards, so no cut shows them
CROP_LENGTH_MM = 5.0

FILL = RenderStyle.F  # the enum, not "F": rect() coerces its style on every call
LAYOUTS = ("single", "sheet")
KINDS = ("personal", "community")
BLANK = "-"
INK = (34, 34, 34)
MUTED = (90, 90, 90)
ACCENT = (0, 83, 94)
USAGE = (
    "Käy kulttuurikohteissa maksutta. Näytä kortti lipunmyynnissä.",
    "Besök kulturaktörer avgiftsfritt. Visa kortet i biljettkassan.",
    "Free entry at participating venues. Show the card at the box office.",
)
VALID_LABEL = "Voimassa / Giltigt / Valid until: "
CHILDREN_LABEL = "Lapsia / Barn / Children: "
COMMUNITY_TEXT = "Yhteisökortti / Gemenskapskort / Community card"
BLANK_NOTE = "Aktivoidaan rekisteröitäessä / Aktiveras vid registrering / Activated when registered"
NAME_LABEL = "Nimi / Namn / Name"
_PLAIN_PUNCTUATION = str.maketrans(
    {"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
     "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2026": "...",
     "\u2264": "<=", "\u2265": ">=", "\u2022": "\u00b7"}
)


@dataclass(frozen=True)
class CardFace:
    """What one printed card shows; a blank card is pre-printed and not yet registered."""

    number: str  # canonical 10-symbol number (app.cardcodes)
    qr_text: str  # the signed payload, or for a blank card the canonical number
    region_name: str
    valid_until: date | None  # None for a blank card
    children: int | None  # None for a blank card
    kind: str  # "personal" | "community"
    blank: bool = False


def card_pdf(faces: Sequence[CardFace], layout: str = "single", first_slot: int = 0) -> bytes:
    """Return a PDF of the cards: "single" is one ID-1 page each, "sheet" ten on A4, the first
    in `first_slot` (0-9, row by row) so that a sheet with used places can be fed again."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}")
    if not faces:
        raise ValueError("no cards to print")
    if not 0 <= first_slot < CARDS_PER_SHEET:
        raise ValueError(f"first_slot must be 0-{CARDS_PER_SHEET - 1}")
    for face in faces:
        _check_face(face)
    if layout == "single":
        pdf = _new_pdf(CARD_WIDTH_MM, CARD_HEIGHT_MM)
        for face in faces:
            pdf.add_page()
            _draw_card(pdf, face, 0.0, 0.0)
    else:
        pdf = _new_pdf(SHEET_WIDTH_MM, SHEET_HEIGHT_MM)
        for index, face in enumerate(faces, start=first_slot):
            if index == first_slot or index % CARDS_PER_SHEET == 0:
                pdf.add_page()
                _draw_crop_marks(pdf)
            _draw_card(pdf, face, *sheet_origin(index % CARDS_PER_SHEET))
    return bytes(pdf.output())


def qr_module_mm(text: str) -> float:
    """The printed width of one QR module of `text`, in millimetres."""
    return QR_BOX_MM / len(qr_matrix(text, QR_ERROR))


def sheet_origin(slot: int) -> tuple[float, float]:
    """The top-left corner in mm of card `slot` (0-9, row by row) on an A4 sheet."""
    row, column = divmod(slot, SHEET_COLUMNS)
    left, top = _sheet_corner()
    return left + column * CARD_WIDTH_MM, top + row * CARD_HEIGHT_MM


def _sheet_corner() -> tuple[float, float]:
    # Cards touch each other, as on pre-cut business-card stock; the block is centred.
    return (
        (SHEET_WIDTH_MM - SHEET_COLUMNS * CARD_WIDTH_MM) / 2,
        (SHEET_HEIGHT_MM - SHEET_ROWS * CARD_HEIGHT_MM) / 2,
    )


def _check_face(face: CardFace) -> None:
    format_number(face.number)  # raises ValueError for a number that is not canonical
    if face.kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    if not face.blank and (face.valid_until is None or face.children is None):
        raise ValueError("a registered card needs valid_until and children")


def _new_pdf(width: float, height: float) -> FPDF:
    pdf = FPDF(unit="mm", format=(width, height))
    pdf.set_compression(True)
    pdf.set_auto_page_break(False)
    pdf.set_margin(0)
    pdf.set_title("Kaikukortti")
    pdf.set_creator("Kaikukortti")
    return pdf


def _draw_card(pdf: FPDF, face: CardFace, x: float, y: float) -> None:
    left, right = x + MARGIN_MM, x + CARD_WIDTH_MM - MARGIN_MM
    column_right = x + QR_LEFT
    # The QR first: its white box would hide, not keep out, anything drawn into it before.
    _draw_qr(pdf, face.qr_text, x + QR_LEFT, y + QR_TOP)
    _text(pdf, "Kaikukortti", left, y + TITLE_Y, TITLE_PT, "B", ACCENT)
    region = _region_text(pdf, face.region_name, COLUMN_WIDTH)
    _text(pdf, region, left, y + REGION_Y, _fit(pdf, region, REGION_PT, "B", COLUMN_WIDTH), "B",
          ACCENT)
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(RULE_WIDTH_MM)
    cap = RULE_WIDTH_MM / 2  # fpdf2 draws square caps: a line reaches this far past its ends
    pdf.line(left + cap, y + RULE_Y, column_right - cap, y + RULE_Y)
    number = format_number(face.number)
    size = _fit(pdf, number, NUMBER_PT, "B", COLUMN_WIDTH)
    _text(pdf, number, left, y + NUMBER_Y, size, "B", INK)
    _draw_barcode(pdf, face.number, x + BARCODE_LEFT, y + BARCODE_TOP)
    _draw_details(pdf, face, left, y + DETAILS_Y)
    _draw_name_line(pdf, left, y + NAME_Y, right)
    for line, text in enumerate(USAGE):
        _text(pdf, text, left, y + USAGE_Y + USAGE_PITCH * line, USAGE_PT, "", MUTED)


Row = list[tuple[str, float, str]]  # the (text, size, style) pieces of one line, left to right


def _draw_details(pdf: FPDF, face: CardFace, x: float, y: float) -> None:
    valid = BLANK if face.valid_until is None else _finnish_date(face.valid_until)
    lines = [(VALID_LABEL, valid)]
    if face.kind == "community":
        lines.append((COMMUNITY_TEXT, ""))
    else:
        lines.append((CHILDREN_LABEL, BLANK if face.children is None else str(face.children)))
    if face.blank:
        lines.append((BLANK_NOTE, ""))
    rows = [row for label, value in lines for row in _label_value(pdf, label, value, COLUMN_WIDTH)]
    # A blank community card has six rows: they close up rather than run into the name line.
    pitch = min(DETAILS_PITCH, (DETAILS_LAST_Y - DETAILS_Y) / max(1, len(rows) - 1))
    if pitch < USAGE_PITCH:
        raise ValueError("the card's details do not fit left of the QR")
    for line, row in enumerate(rows):
        left = x
        for text, size, style in row:
            _text(pdf, text, left, y + pitch * line, size, style, INK)
            left += _width(pdf, text, size, style)


def _label_value(pdf: FPDF, label: str, value: str, width: float) -> list[Row]:
    """"label value" in one line, or the label wrapped over several with the value last."""
    size = _fit(pdf, label + value, DETAILS_PT, "", width)
    if _width(pdf, label, size, "") + _width(pdf, value, size, "B") <= width:
        return [[(label, size, ""), (value, size, "B")]]
    rows: list[Row] = [[(text, MIN_TEXT_PT, "")] for text in _wrap(pdf, label, MIN_TEXT_PT, width)]
    if value:
        rows[-1] += [(" ", MIN_TEXT_PT, ""), (value, MIN_TEXT_PT, "B")]
    return rows


def _wrap(pdf: FPDF, text: str, size: float, width: float) -> list[str]:
    # Break between the languages ("fi / sv / en") first, between words only inside one;
    # room is kept for the " /" that ends a row.
    width -= _width(pdf, " /", size, "")
    rows: list[str] = []
    for part in text.split(" / "):
        if rows and _width(pdf, f"{rows[-1]} / {part}", size, "") <= width:
            rows[-1] = f"{rows[-1]} / {part}"
            continue
        if rows:
            rows[-1] += " /"
        rows.append("")
        for word in part.split():
            candidate = f"{rows[-1]} {word}".strip()
            if rows[-1] and _width(pdf, candidate, size, "") > width:
                rows.append(word)
            else:
                rows[-1] = candidate
    return rows


def _region_text(pdf: FPDF, name: str, width: float) -> str:
    """The region's names if they fit at the smallest size; else its first; else cut short."""
    for text in (name, name.split(" / ")[0]):
        if _width(pdf, text, MIN_TEXT_PT, "B") <= width:
            return text
    text = name.split(" / ")[0]
    while text and _width(pdf, text + "...", MIN_TEXT_PT, "B") > width:
        text = text[:-1]
    return text + "..."


def _draw_name_line(pdf: FPDF, x: float, y: float, right: float) -> None:
    _text(pdf, NAME_LABEL, x, y, DETAILS_PT, "", MUTED)
    pdf.set_draw_color(*MUTED)
    pdf.set_line_width(0.2)
    pdf.line(x + _width(pdf, NAME_LABEL, DETAILS_PT, "") + 1.5, y + 0.3, right, y + 0.3)


def _draw_qr(pdf: FPDF, text: str, x: float, y: float) -> None:
    matrix = qr_matrix(text, QR_ERROR)
    module = QR_BOX_MM / len(matrix)
    if module < MIN_QR_MODULE_MM:
        raise ValueError("the QR text is too long for a readable code on a card")
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, QR_BOX_MM, QR_BOX_MM, style=FILL)
    pdf.set_fill_color(0, 0, 0)
    for row, modules in enumerate(matrix):
        top = y + row * module
        for start, length in _dark_runs(modules):
            pdf.rect(x + start * module, top, length * module, module, style=FILL)


def _dark_runs(modules: list[bool]) -> list[tuple[int, int]]:
    runs, start = [], None
    for index, dark in enumerate([*modules, False]):
        if dark and start is None:
            start = index
        elif not dark and start is not None:
            runs.append((start, index - start))
            start = None
    return runs


def _draw_barcode(pdf: FPDF, text: str, x: float, y: float) -> None:
    pdf.set_fill_color(0, 0, 0)
    for offset, width in code39.bars(text, BARCODE_WIDE):
        pdf.rect(x + offset * BARCODE_NARROW_MM, y, width * BARCODE_NARROW_MM,
                 BARCODE_HEIGHT_MM, style=FILL)


def _draw_crop_marks(pdf: FPDF) -> None:
    left, top = _sheet_corner()
    right, bottom = left + SHEET_COLUMNS * CARD_WIDTH_MM, top + SHEET_ROWS * CARD_HEIGHT_MM
    near, far = CROP_GAP_MM, CROP_GAP_MM + CROP_LENGTH_MM
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.15)
    for column in range(SHEET_COLUMNS + 1):
        cut = left + column * CARD_WIDTH_MM
        pdf.line(cut, top - far, cut, top - near)
        pdf.line(cut, bottom + near, cut, bottom + far)
    for row in range(SHEET_ROWS + 1):
        cut = top + row * CARD_HEIGHT_MM
        pdf.line(left - far, cut, left - near, cut)
        pdf.line(right + near, cut, right + far, cut)


def _finnish_date(day: date) -> str:
    return f"{day.day}.{day.month}.{day.year}"


def latin1(text: str) -> str:
    """Text for fpdf2's core fonts, which have only Latin-1: ä, ö and å stay; anything else
    keeps its base letter (Č → C), typographic punctuation becomes plain, the rest "?"."""
    if text.isascii():
        return text
    kept = []
    for char in text.translate(_PLAIN_PUNCTUATION):
        if ord(char) < 256:
            kept.append(char)
        else:
            base = unicodedata.normalize("NFKD", char)
            kept.append("".join(c for c in base if ord(c) < 256) or "?")
    return "".join(kept)


def _width(pdf: FPDF, text: str, size: float, style: str) -> float:
    pdf.set_font("Helvetica", style, size)
    return pdf.get_string_width(latin1(text))


def _fit(pdf: FPDF, text: str, size: float, style: str, max_width: float) -> float:
    # Long region names and wide numbers shrink rather than run into the QR, down to 6 pt.
    while size > MIN_TEXT_PT and _width(pdf, text, size, style) > max_width:
        size -= 0.25
    return size


def _text(pdf: FPDF, text: str, x: float, y: float, size: float, style: str,
          colour: tuple[int, int, int]) -> None:
    pdf.set_font("Helvetica", style, size)
    pdf.set_text_color(*colour)
    pdf.text(x, y, latin1(text))

