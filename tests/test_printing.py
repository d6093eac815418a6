"""Printed cards: render the PDFs with poppler and read them back as a scanner would."""
from __future__ import annotations

import itertools
import re
import subprocess
import zlib
from datetime import date
from pathlib import Path

import pytest
import qrcode.constants
import zxingcpp
from PIL import Image

from app.cardcodes import (
    PAYLOAD_CHARS,
    CardPayload,
    format_number,
    load_keyring,
    new_number,
    sign_payload,
)
from app.printing import cards, code39
from app.printing.cards import CardFace, card_pdf
from app.printing.qr import qr_matrix

MM_PER_PT = 25.4 / 72
A4_MM = (210.0, 297.0)
ID1_MM = (85.6, 54.0)


@pytest.fixture
def keyring(tmp_path):
    return load_keyring(tmp_path / "keys", {})


@pytest.fixture
def make_face(keyring):
    """A factory of card faces: registered ones carry a signed payload, blank ones their number."""

    def make(kind="personal", *, blank=False, children=2, valid_until=date(2027, 12, 31),
             region_name="Pirkanmaa"):
        number = new_number()
        if blank:
            return CardFace(number, number, region_name, None, None, kind, blank=True)
        payload = sign_payload(CardPayload(number, 7, valid_until, children, kind), keyring)
        return CardFace(number, payload, region_name, valid_until, children, kind)

    return make


def write_pdf(pdf: bytes, directory: Path) -> Path:
    path = directory / "cards.pdf"
    path.write_bytes(pdf)
    return path


def render(pdf: bytes, directory: Path, dpi: int = 300) -> list[Image.Image]:
    """Each page as an image, rasterised by poppler the way a print preview would be."""
    path = write_pdf(pdf, directory)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(path), str(directory / "page")],
                   check=True)
    images = []
    for page in sorted(directory.glob("page-*.png")):
        with Image.open(page) as image:
            images.append(image.copy())
    return images


def decode(image: Image.Image) -> tuple[list[str], list[str]]:
    """The texts of the QR codes and of the Code 39 barcodes found on one page."""
    found = zxingcpp.read_barcodes(image)
    qr_texts = [code.text for code in found if code.format == zxingcpp.BarcodeFormat.QRCode]
    code39_texts = [code.text for code in found if code.format == zxingcpp.BarcodeFormat.Code39]
    assert len(qr_texts) + len(code39_texts) == len(found)
    return qr_texts, code39_texts


def page_sizes_mm(pdf: bytes, directory: Path) -> list[tuple[float, float]]:
    path = write_pdf(pdf, directory)
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "100000", str(path)],
                          check=True, capture_output=True, text=True).stdout
    sizes = re.findall(r"Page +\d+ size: +([\d.]+) x ([\d.]+) pts", info)
    return [(float(width) * MM_PER_PT, float(height) * MM_PER_PT) for width, height in sizes]


def page_text(pdf: bytes, directory: Path) -> str:
    path = write_pdf(pdf, directory)
    # -layout keeps a line-final "-" (a blank card's value) that raw mode takes for a hyphen.
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    return " ".join(text.split())


def test_a_single_card_scans_as_its_payload_and_its_number(make_face, tmp_path):
    face = make_face()
    [page] = render(card_pdf([face]), tmp_path)
    found = zxingcpp.read_barcodes(page)
    assert decode(page) == ([face.qr_text], [face.number])
    [qr] = [code for code in found if code.format == zxingcpp.BarcodeFormat.QRCode]
    assert qr.ec_level in ("M", "Q", "H")


def test_a_single_card_is_id1_size(make_face, tmp_path):
    [(width, height)] = page_sizes_mm(card_pdf([make_face()]), tmp_path)
    assert width == pytest.approx(ID1_MM[0], abs=0.1)
    assert height == pytest.approx(ID1_MM[1], abs=0.1)


def test_a_sheet_of_ten_scans_as_all_ten_payloads_and_numbers(make_face, tmp_path):
    faces = [make_face("community" if index % 3 else "personal") for index in range(10)]
    pdf = card_pdf(faces, "sheet")
    [page] = render(pdf, tmp_path)
    qr_texts, code39_texts = decode(page)
    assert sorted(qr_texts) == sorted(face.qr_text for face in faces)
    assert sorted(code39_texts) == sorted(face.number for face in faces)
    [(width, height)] = page_sizes_mm(pdf, tmp_path)
    assert (width, height) == (pytest.approx(A4_MM[0], abs=0.1), pytest.approx(A4_MM[1], abs=0.1))


def test_a_blank_cards_qr_holds_its_number(make_face, tmp_path):
    face = make_face(blank=True)
    pdf = card_pdf([face])
    [page] = render(pdf, tmp_path)
    assert decode(page) == ([face.number], [face.number])
    text = page_text(pdf, tmp_path)
    assert "Valid until: -" in text
    assert "Children: -" in text
    assert "Activated when registered" in text


def test_the_card_prints_its_details_and_where_to_use_it(make_face, tmp_path):
    face = make_face(children=3, valid_until=date(2027, 3, 5), region_name="Pirkanmaa")
    text = page_text(card_pdf([face]), tmp_path)
    assert format_number(face.number) in text
    assert "Pirkanmaa" in text
    assert "Voimassa / Giltigt / Valid until: 5.3.2027" in text
    assert "Lapsia / Barn / Children: 3" in text
    assert "Nimi / Namn / Name" in text
    for usage in (
        "Käy kulttuurikohteissa maksutta. Näytä kortti lipunmyynnissä.",
        "Besök kulturaktörer avgiftsfritt. Visa kortet i biljettkassan.",
        "Free entry at participating venues. Show the card at the box office.",
    ):
        assert usage in text


def test_a_community_card_says_so_instead_of_counting_children(make_face, tmp_path):
    text = page_text(card_pdf([make_face("community", children=0)]), tmp_path)
    assert "Yhteisökortti / Gemenskapskort / Community card" in text
    assert "Children" not in text


def test_a_region_name_outside_latin1_prints_with_its_base_letters(make_face, tmp_path):
    face = make_face(region_name="Čáhcesuolu – Sápmi")
    assert "Cáhcesuolu - Sápmi" in page_text(card_pdf([face]), tmp_path)


def test_the_qr_module_of_a_signed_payload_is_large_enough_for_a_phone_camera(make_face):
    # Phones read the printed QR reliably at a distance and in poor light from about 0.85 mm
    # a module (bench/README: camera reads); every signed payload is the same length.
    for face in (make_face("community", children=127), make_face(children=0)):
        assert len(face.qr_text) == PAYLOAD_CHARS
        matrix = qr_matrix(face.qr_text, cards.QR_ERROR)
        assert len(matrix) == 37 + 2 * 4  # version 5 and its quiet zone
        assert cards.qr_module_mm(face.qr_text) == pytest.approx(cards.QR_MODULE_MM) == 0.88
        assert cards.qr_module_mm(face.qr_text) * len(matrix) == pytest.approx(cards.QR_BOX_MM)
    assert cards.QR_ERROR == qrcode.constants.ERROR_CORRECT_M
    assert cards.MIN_QR_MODULE_MM == 0.5


def test_the_qr_box_fits_the_cards_top_right_corner(make_face):
    assert pytest.approx(cards.CARD_WIDTH_MM) == cards.QR_LEFT + cards.QR_BOX_MM
    assert cards.QR_TOP == 0
    assert cards.QR_TOP + cards.QR_BOX_MM < cards.NAME_Y - 2  # the name line's text is below it
    blank = make_face(blank=True).qr_text  # only the number: a version 1 symbol, larger modules
    assert cards.qr_module_mm(blank) * len(qr_matrix(blank, cards.QR_ERROR)) == pytest.approx(
        cards.QR_BOX_MM)


def test_the_printed_qr_measures_its_module_size(make_face, tmp_path):
    dpi = 300
    [page] = render(card_pdf([make_face()]), tmp_path, dpi=dpi)
    [qr] = [code for code in zxingcpp.read_barcodes(page)
            if code.format == zxingcpp.BarcodeFormat.QRCode]
    width_px = qr.position.top_right.x - qr.position.top_left.x
    assert width_px / 37 * 25.4 / dpi == pytest.approx(0.88, abs=0.03)


def test_a_qr_text_too_long_for_a_readable_module_is_refused(make_face):
    face = make_face()
    fits, too_long = (CardFace(face.number, "A" * length, "Pirkanmaa", date(2027, 1, 1), 0,
                               "personal") for length in (400, 500))
    assert cards.qr_module_mm(too_long.qr_text) < cards.MIN_QR_MODULE_MM
    assert cards.qr_module_mm(fits.qr_text) >= cards.MIN_QR_MODULE_MM
    card_pdf([fits])
    with pytest.raises(ValueError, match="too long"):
        card_pdf([too_long])


def test_the_barcode_keeps_code39_print_rules(make_face):
    width = code39.symbol_width(new_number(), cards.BARCODE_WIDE) * cards.BARCODE_NARROW_MM
    quiet = code39.QUIET_ZONE * cards.BARCODE_NARROW_MM
    dot = 25.4 / 300
    assert cards.BARCODE_NARROW_MM >= 0.19
    # ISO/IEC 16388 allows a wide:narrow ratio of 2.0-3.0 and asks at least 2.2 when the
    # narrow element is under 0.5 mm; both widths are whole dots of a 300 dpi printer.
    assert cards.BARCODE_NARROW_MM < 0.5 and 2.2 <= cards.BARCODE_WIDE <= 3.0
    for element in (cards.BARCODE_NARROW_MM, cards.BARCODE_NARROW_MM * cards.BARCODE_WIDE):
        assert element / dot == pytest.approx(round(element / dot), abs=0.01)
    assert max(6.0, 0.15 * width) <= cards.BARCODE_HEIGHT_MM  # and 15 % of its length
    assert quiet <= cards.BARCODE_LEFT
    # No bar inside the QR's box; the white after the last bar runs on into its quiet zone.
    symbol_left = cards.QR_LEFT + 4 * cards.qr_module_mm(make_face().qr_text)
    assert cards.BARCODE_LEFT + width <= cards.QR_LEFT
    assert cards.BARCODE_LEFT + width + quiet <= symbol_left


@pytest.mark.parametrize(("layout", "count", "pages"), [("sheet", 11, 2), ("single", 3, 3)])
def test_cards_fill_the_expected_number_of_pages(make_face, tmp_path, layout, count, pages):
    pdf = card_pdf([make_face() for _ in range(count)], layout)
    assert len(page_sizes_mm(pdf, tmp_path)) == pages


def test_the_pdf_is_compressed_and_draws_codes_as_vectors(make_face):
    pdf = card_pdf([make_face()])
    assert b"/FlateDecode" in pdf
    assert b"/Subtype /Image" not in pdf


@pytest.mark.parametrize(
    ("faces", "layout", "message"),
    [
        ([], "single", "no cards"),
        ([CardFace("ABC", "ABC", "R", None, None, "personal", blank=True)], "single", "canonical"),
        (["personal-face"], "poster", "layout"),
        (["unknown-kind"], "single", "kind"),
        (["unregistered"], "single", "valid_until"),
    ],
)
def test_card_pdf_refuses_what_it_cannot_print(make_face, faces, layout, message):
    number = new_number()
    named = {
        "personal-face": make_face(),
        "unknown-kind": CardFace(number, number, "R", None, None, "family", blank=True),
        "unregistered": CardFace(number, number, "R", None, None, "personal"),
    }
    with pytest.raises(ValueError, match=message):
        card_pdf([named.get(face, face) for face in faces], layout)


@pytest.mark.parametrize("character", list(code39.DATA_CHARACTERS))
def test_each_code39_character_is_drawn_as_zxing_draws_it(character):
    # zxing's writer uses a 2:1 wide:narrow ratio, one pixel per narrow element.
    image = zxingcpp.create_barcode(character, zxingcpp.BarcodeFormat.Code39).to_image(
        scale=1, add_quiet_zones=False)
    pixels = memoryview(image)
    first_row = bytes(pixels)[: pixels.shape[1]]
    widths = [float(len(list(run))) for _, run in itertools.groupby(first_row)]
    assert widths == code39.element_widths(character, wide=2.0)


def test_every_code39_pattern_has_three_wide_elements_and_is_unique():
    assert len(code39.PATTERNS) == 44
    assert all(pattern.count("w") == 3 for pattern in code39.PATTERNS.values())
    assert len(set(code39.PATTERNS.values())) == 44


@pytest.mark.parametrize("text", ["", "abc", "A*B", "Ä"])
def test_code39_refuses_text_outside_its_character_set(text):
    with pytest.raises(ValueError):
        code39.element_widths(text)


def font_sizes_pt(pdf: bytes) -> list[float]:
    """The size of every font the PDF's pages set (the `Tf` operator), in points."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S)
    sizes = []
    for stream in streams:
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue  # a font program or other binary stream, not page content
        sizes += [float(size) for size in re.findall(rb"/F\d+\s+([\d.]+)\s+Tf", content)]
    return sizes


def word_boxes_mm(pdf: bytes, directory: Path) -> list[tuple[int, str, float, float]]:
    """(page, word, left, top) of every word poppler finds, in millimetres from the top left."""
    path = write_pdf(pdf, directory)
    html = subprocess.run(["pdftotext", "-bbox", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    boxes = []
    for page, body in enumerate(re.findall(r"<page .*?</page>", html, re.S)):
        for left, top, word in re.findall(
                r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>([^<]*)</word>', body):
            boxes.append((page, word, float(left) * MM_PER_PT, float(top) * MM_PER_PT))
    return boxes


def slot_of(left: float, top: float) -> int:
    """The place (0-9, row by row) of the sheet that a point in millimetres falls in."""
    for slot in range(cards.CARDS_PER_SHEET):
        x, y = cards.sheet_origin(slot)
        if x <= left < x + cards.CARD_WIDTH_MM and y <= top < y + cards.CARD_HEIGHT_MM:
            return slot
    raise AssertionError(f"({left:.1f}, {top:.1f}) mm is on no card")


@pytest.mark.parametrize("face_kind", ["personal", "community", "blank", "long region"])
def test_no_text_on_a_card_is_smaller_than_six_points(make_face, tmp_path, face_kind):
    face = {"personal": lambda: make_face(children=20),
            "community": lambda: make_face("community"),
            "blank": lambda: make_face(blank=True),
            "long region": lambda: make_face(region_name="Keski-Pohjanmaan hyvinvointialue / "
                                                         "Mellersta Österbottens välfärdsområde"),
            }[face_kind]()
    pdf = card_pdf([face])
    sizes = font_sizes_pt(pdf)
    assert sizes and min(sizes) >= cards.MIN_TEXT_PT == 6.0
    text = page_text(pdf, tmp_path)
    assert "Free entry at participating venues. Show the card at the box office." in text
    if face_kind == "blank":
        assert "Aktivoidaan rekisteröitäessä" in text and "Activated when registered" in text
    if face_kind == "long region":
        assert "Keski-Pohjanmaan" in text


def word_extents_mm(pdf: bytes, directory: Path) -> list[tuple[str, float, float, float, float]]:
    """(word, left, top, right, bottom) of every word on the first page, in millimetres."""
    path = write_pdf(pdf, directory)
    html = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(path), "-"],
                          check=True, capture_output=True, text=True).stdout
    return [(word, *(float(value) * MM_PER_PT for value in box))
            for *box, word in re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" '
                                         r'xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)]


def test_the_blank_note_wraps_inside_the_column_left_of_the_qr(make_face, tmp_path):
    words = word_extents_mm(card_pdf([make_face(blank=True)]), tmp_path)
    note = [w for w in words if w[0] in ("Aktivoidaan", "Aktiveras", "registered")]
    assert len(note) == 3 and len({round(top, 1) for _, _, top, _, _ in note}) == 3
    assert all(top > cards.DETAILS_Y - 3 and bottom < cards.NAME_Y - 2
               for _, _, top, _, bottom in note)


@pytest.mark.parametrize("face_kind", ["personal", "community", "blank", "blank community",
                                       "long region"])
def test_no_word_beside_the_qr_enters_its_box(make_face, tmp_path, face_kind):
    face = {"personal": lambda: make_face(children=20),
            "community": lambda: make_face("community"),
            "blank": lambda: make_face(blank=True),
            "blank community": lambda: make_face("community", blank=True),
            "long region": lambda: make_face(region_name="Pohjois-Pohjanmaa / Norra Österbotten"),
            }[face_kind]()
    words = word_extents_mm(card_pdf([face]), tmp_path)
    beside = [w for w in words if w[2] < cards.QR_TOP + cards.QR_BOX_MM]
    assert len(beside) >= 10
    assert all(right <= cards.QR_LEFT for _, _, _, right, _ in beside), beside
    assert all(left >= 0 and top >= 0 for _, left, top, _, _ in words)
    assert all(right <= cards.CARD_WIDTH_MM and bottom <= cards.CARD_HEIGHT_MM
               for _, _, _, right, bottom in words)


def ink_in_the_qr_quiet_zone(page: Image.Image, dpi: int, x: float, y: float,
                             module: float) -> list[tuple[int, int]]:
    """The non-white pixels of the QR box whose top-left is at (x, y) mm, outside its symbol.

    A pixel's width is left at each edge of the box and of the symbol for anti-aliasing."""
    grey = page.convert("L")
    scale = dpi / 25.4
    box = [round(value * scale) for value in (x, y, x + cards.QR_BOX_MM, y + cards.QR_BOX_MM)]
    inset = 4 * module * scale
    symbol = [round(box[0] + inset), round(box[1] + inset), round(box[2] - inset),
              round(box[3] - inset)]
    inked = []
    for row in range(box[1] + 1, box[3] - 1):
        for column in range(box[0] + 1, box[2] - 1):
            inside = (symbol[0] - 1 <= column <= symbol[2] and symbol[1] - 1 <= row <= symbol[3])
            if not inside and grey.getpixel((column, row)) < 250:
                inked.append((column, row))
    return inked


@pytest.mark.parametrize("face_kind", ["personal", "blank community", "long region"])
def test_nothing_but_the_qr_is_printed_in_its_box(make_face, tmp_path, face_kind):
    face = {"personal": lambda: make_face(),
            "blank community": lambda: make_face("community", blank=True),
            "long region": lambda: make_face(region_name="Keski-Pohjanmaan hyvinvointialue / "
                                                         "Mellersta Österbottens välfärdsområde"),
            }[face_kind]()
    module = cards.qr_module_mm(face.qr_text)
    [page] = render(card_pdf([face]), tmp_path, dpi=300)
    assert ink_in_the_qr_quiet_zone(page, 300, cards.QR_LEFT, cards.QR_TOP, module) == []
    # The symbol is where the box says: its top-left finder module is dark.
    scale = 300 / 25.4
    corner = ((cards.QR_LEFT + 4.5 * module) * scale, (cards.QR_TOP + 4.5 * module) * scale)
    assert page.convert("L").getpixel(tuple(round(value) for value in corner)) < 50


def test_nothing_but_the_qr_is_printed_in_its_box_on_a_sheet(make_face, tmp_path):
    faces = [make_face("community" if index % 2 else "personal", blank=index == 3)
             for index in range(10)]
    [page] = render(card_pdf(faces, "sheet"), tmp_path, dpi=300)
    for slot, face in enumerate(faces):
        x, y = cards.sheet_origin(slot)
        module = cards.qr_module_mm(face.qr_text)
        assert ink_in_the_qr_quiet_zone(page, 300, x + cards.QR_LEFT, y + cards.QR_TOP,
                                        module) == [], slot


@pytest.mark.parametrize("slot", [0, 6, 9])
def test_one_card_is_printed_in_the_chosen_place_of_the_sheet(make_face, tmp_path, slot):
    face = make_face()
    pdf = card_pdf([face], "sheet", first_slot=slot)
    number = format_number(face.number)
    [(page, _, left, top)] = [b for b in word_boxes_mm(pdf, tmp_path) if b[1] == number]
    assert (page, slot_of(left, top)) == (0, slot)
    [image] = render(pdf, tmp_path, dpi=150)
    assert decode(image) == ([face.qr_text], [face.number])


def test_cards_after_the_chosen_place_continue_on_a_new_sheet(make_face, tmp_path):
    faces = [make_face() for _ in range(4)]
    boxes = word_boxes_mm(card_pdf(faces, "sheet", first_slot=8), tmp_path)
    places = {b[1]: (b[0], slot_of(b[2], b[3])) for b in boxes}
    assert [places[format_number(f.number)] for f in faces] == [(0, 8), (0, 9), (1, 0), (1, 1)]


@pytest.mark.parametrize("slot", [-1, 10])
def test_a_place_outside_the_sheet_is_refused(make_face, slot):
    with pytest.raises(ValueError, match="first_slot"):
        card_pdf([make_face()], "sheet", first_slot=slot)
