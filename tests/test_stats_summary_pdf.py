"""The annual statistics summary PDF (DESIGN §8), read back with poppler's pdftotext and pdfinfo.

The world: region A in 2024 with eight cards. Six live in Kunta A; two in Pikkukunta, a cell
under five cards whose figures must show as "<5". Kunta A's cards visit 150 small venues, so
the venue table runs over several pages.
"""
from __future__ import annotations

import io
import re
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from app.extensions import db
from app.models import AuditEvent, Municipality, ScanAttempt, Visit
from app.printing.cards import latin1
from app.rules import TZ
from app.stats import views as stats_views
from app.stats.report import HEADINGS, HIDDEN, PROTECTED, build_report, small_cell_rule
from app.stats.summary_pdf import summary_pdf
from tests.support import factories
from tests.test_stats_dashboard import Tables

YEAR, NEXT_YEAR = date(2024, 1, 1), date(2025, 1, 1)
LANGS = ("fi", "sv", "en")
SMALL_TOWN = "Pikkukunta"
FOREIGN_VENUE = "Čajovna – Åbo Öljy"  # Č and the dash are not Latin-1; Å and Ö are
MANY_VENUES = 150
USES = 6 + MANY_VENUES + 1 + 3  # theatre, small venues, the foreign venue, Pikkukunta's visits


@dataclass
class Rendered:
    """A summary PDF as bytes, its pages as pdftotext -layout text, and what it should say."""

    pdf: bytes
    pages: list[str]
    info: str
    expected: dict


def pdf_pages(pdf: bytes, tmp_path: Path) -> tuple[list[str], str]:
    """Each page's text (layout kept) and pdfinfo's report."""
    path = tmp_path / f"summary-{uuid.uuid4().hex}.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True,
                          text=True).stdout
    return text.split("\f")[:-1], info  # pdftotext ends every page with a form feed


def flat(text: str) -> str:
    """The text with every run of white space made one space (columns become a sequence)."""
    return " ".join(text.split())


def render(app, tmp_path: Path, lang: str, region_id: int | None,
           start: date = YEAR, end: date = NEXT_YEAR) -> Rendered:
    """Build the report and the PDF in one language, as the route does."""
    with app.test_request_context(), force_locale(lang):
        report = build_report(region_id, start, end)
        pdf = summary_pdf(report)
        expected = {
            "summary": _("Statistics summary"),
            "scope": report.region.name(lang) if report.region else report.scope_name,
            "start": format_date(start, "long"), "end": format_date(report.last_day, "long"),
            "titles": [str(table.title) for table in report.tables.values()],
            "total": report.tables["venue"].total["label"],
            "venue": HEADINGS["venue"], "municipality": HEADINGS["municipality"],
            "uses": HEADINGS["uses"], "registered": HEADINGS["registered"],
            "in_force": _("Cards in force at the end of the period"),
            "no_figures": _("No figures for this period."),
        }
        # Lazy texts are read here, in the language of the PDF, and folded the way it folds them.
        expected = {key: [latin1(v) for v in value] if isinstance(value, list)
                    else latin1(str(value)) for key, value in expected.items()}
    pages, info = pdf_pages(pdf, tmp_path)
    return Rendered(pdf, pages, info, expected)


@pytest.fixture
def year(world):
    """Region A's 2024: eight cards, 150 small venues and one refused scan."""
    kunta_a = db.session.scalar(db.select(Municipality).filter_by(region_id=world.a.id))
    pikku = Municipality(region=world.a, name=SMALL_TOWN)
    cards = []
    for town in [kunta_a] * 6 + [pikku] * 2:
        card = factories.card(world.a, site=world.site_a, valid_until=date(2025, 6, 30))
        card.municipality, card.gender = town, "female"
        card.issued_at = datetime(2024, 1, 10, 10, tzinfo=UTC)
        cards.append(card)
    venues = [factories.venue(world.a, f"Paikka {n:03}") for n in range(1, MANY_VENUES + 1)]
    foreign = factories.venue(world.a, FOREIGN_VENUE)
    db.session.flush()
    visits = [(card, world.theatre, 0) for card in cards[:6]]
    visits += [(cards[n % 6], venue, 0) for n, venue in enumerate([*venues, foreign])]
    visits += [(cards[6], world.theatre, 2), (cards[6], world.theatre, 2), (cards[7], world.theatre, 0)]
    door = world.users["boxoffice"]
    for n, (card, venue, children) in enumerate(visits):
        db.session.add(Visit(card=card, venue=venue, user_id=door.id, adults=1, children=children,
                             category=venue.category, nonce=str(uuid.uuid4()), source="camera",
                             occurred_at=datetime(2024, 1 + n % 12, 15, 12, tzinfo=UTC)))
    db.session.add(ScanAttempt(action="check", card_number=cards[0].number, reason="expired",
                               venue_id=world.theatre.id, user_id=door.id,
                               at=datetime(2024, 5, 5, 12, tzinfo=UTC)))
    db.session.commit()
    return world


@pytest.mark.parametrize("lang", LANGS)
def test_the_summary_names_itself_its_scope_and_period_in_each_language(app, year, tmp_path, lang):
    shown = render(app, tmp_path, lang, year.a.id)
    text = flat("\n".join(shown.pages))
    assert shown.pdf.startswith(b"%PDF-")
    assert text.startswith(f"Kaikukortti {shown.expected['summary']} {shown.expected['scope']}")
    assert f"{shown.expected['start']} - {shown.expected['end']}" in text
    assert f'"{HIDDEN}"' in text  # the line that explains the small-cell rule
    assert f"/Lang ({lang})".encode() in shown.pdf
    info_title = re.search(r"^Title: +(.*)$", shown.info, re.M).group(1)
    assert shown.expected["summary"] in info_title and shown.expected["scope"] in info_title
    assert re.search(r"^CreationDate: +\S", shown.info, re.M)


@pytest.mark.parametrize("lang", LANGS)
def test_every_table_has_its_title_and_its_total(app, year, tmp_path, lang):
    shown = render(app, tmp_path, lang, year.a.id)
    text = flat("\n".join(shown.pages))
    for title in shown.expected["titles"]:
        assert title in text
    total = shown.expected["total"]
    # Splits: uses, adult, child and assistant tickets (the card column of a total is blank).
    assert text.count(f"{total} {USES} {USES} 4 0") == 8
    assert f"{total} 8 8 8 {USES} {USES} 4 0" in text  # months: registered, in force, taken…
    assert f"{total} 1" in text  # refused scans
    assert f"{shown.expected['registered']} 8" in text
    assert f"{shown.expected['in_force']} 8" in text
    assert f"{shown.expected['uses']} {USES}" in text


@pytest.mark.parametrize("lang", LANGS)
def test_a_cell_under_five_cards_shows_lt5_and_hides_its_figures(app, year, tmp_path, lang):
    shown = render(app, tmp_path, lang, year.a.id)
    lines = [line for page in shown.pages for line in page.splitlines() if SMALL_TOWN in line]
    assert len(lines) == 2  # its bar in the chart and its row in the table
    for line in lines:
        assert HIDDEN in line
        # Two cards, 3 uses and 4 child tickets: no figure of the cell may show.
        assert not re.search(r"\d", line.replace(HIDDEN, "")), line
    assert flat(lines[1]) == f"{SMALL_TOWN} {' '.join([HIDDEN] * 5)}"
    # Kunta A, the only other municipality, would give Pikkukunta away (total minus Kunta A):
    # it is hidden too, as PROTECTED, and the PDF says why.
    assert f"Kunta A {' '.join([PROTECTED] * 5)}" in flat("\n".join(shown.pages))
    assert f'"{PROTECTED}"' in flat(shown.pages[0])


def test_a_long_table_runs_over_pages_with_its_heading_row_repeated(app, year, tmp_path):
    shown = render(app, tmp_path, "en", year.a.id)
    count = len(shown.pages)
    assert re.search(rf"^Pages: +{count}$", shown.info, re.M)
    for number, page in enumerate(shown.pages, start=1):
        # "1 / 6": pdftotext spaces the count (a separate text run) its own way.
        assert re.search(rf"\b{number}\s*/\s*{count}\s*$", page), f"page {number} has no number"
    with_venues = [page for page in shown.pages if "Paikka 0" in page or "Paikka 1" in page]
    assert len(with_venues) >= 3
    heading = re.compile(rf"^\s*{re.escape(shown.expected['venue'])}\s{{2,}}"
                         rf"{re.escape(shown.expected['uses'])}\s", re.M)
    assert all(heading.search(page) for page in with_venues)
    text = flat("\n".join(shown.pages))
    rows = [n for n in range(1, MANY_VENUES + 1) if f"Paikka {n:03} 1 1 0 0" in text]
    assert len(rows) == MANY_VENUES  # every venue has its row, none lost at a page break


def test_names_outside_latin1_keep_their_letters(app, year, tmp_path):
    text = flat("\n".join(render(app, tmp_path, "fi", year.a.id).pages))
    assert "Cajovna - Åbo Öljy 1 1 0 0" in text


def test_the_whole_country_and_an_empty_period_still_make_a_summary(app, year, tmp_path):
    shown = render(app, tmp_path, "sv", None, date(2020, 1, 1), date(2021, 1, 1))
    text = flat("\n".join(shown.pages))
    assert shown.pdf.startswith(b"%PDF-")
    assert text.startswith(f"Kaikukortti {shown.expected['summary']} {shown.expected['scope']}")
    assert text.count(shown.expected["no_figures"]) == 9  # every split and the refused scans
    assert f"{shown.expected['total']} 0 0 0 0 0 0 0" in text  # the months table, all zero


# --- One report: the PDF, the dashboard and the workbook say the same -----------------------

TODAY = date(2025, 6, 15)  # the statistics' "today": 2025 is the year so far


def issued(region, on: date, valid_until: date, status: str = "active", gender: str = "female"):
    """A card of region issued at noon (Finnish time) on a day."""
    card = factories.card(region, status=status, site=None, valid_until=valid_until)
    card.issued_at, card.gender = datetime(on.year, on.month, on.day, 12, tzinfo=TZ), gender
    return card


def use(card, venue, user, on: date, children: int = 0) -> None:
    """One ok use of a card on a day."""
    db.session.add(Visit(card=card, venue=venue, user_id=user.id, adults=1, children=children,
                         category=venue.category, nonce=str(uuid.uuid4()), source="camera",
                         occurred_at=datetime(on.year, on.month, on.day, 18, tzinfo=TZ)))


@pytest.fixture
def changing(world, monkeypatch):
    """Region A, whose cards in force at the end of 2024, on "today" (15 June 2025) and at the
    end of 2025 are three different counts, with uses before and after "today"."""
    monkeypatch.setattr(stats_views, "today", lambda: TODAY)
    a, door = world.a, world.users["boxoffice"]
    regulars = [issued(a, date(2025, 1, 5), date(2025, 12, 15)) for _ in range(5)]
    lapsed = issued(a, date(2024, 3, 1), date(2025, 3, 31), gender="male")  # in force end 2024
    summer = issued(a, date(2025, 2, 10), date(2025, 9, 30))  # in force today, not at year end
    # Deactivated on 5 March 2025: in force at the end of 2024, not today.
    quit_card = issued(a, date(2024, 9, 1), date(2026, 1, 20), status="deactivated")
    issued(a, date(2025, 1, 20), date(2026, 1, 20), status="deactivated")  # no log: never
    lost = issued(a, date(2024, 6, 1), date(2026, 6, 1), status="lost", gender="other")
    lost.replaced_by = issued(a, date(2025, 4, 10), date(2026, 4, 10), gender="other")
    autumn = issued(a, date(2025, 10, 1), date(2026, 9, 30))  # after today: not yet registered
    issued(world.b, date(2025, 2, 1), date(2026, 2, 1))  # another region's card
    for n, card in enumerate(regulars):
        use(card, world.theatre, door, date(2025, 3, 3 + n), children=n % 2)
    use(lapsed, world.theatre, door, date(2024, 11, 5), children=2)
    use(summer, world.college, door, date(2025, 5, 2))
    use(lost.replaced_by, world.theatre, door, date(2025, 6, 14))
    use(autumn, world.theatre, door, date(2025, 10, 2))  # after today: not in the year so far
    db.session.flush()
    db.session.add(AuditEvent(action="card.deactivate", object_type="cards", object_id=quit_card.id,
                              region_id=a.id, at=datetime(2025, 3, 5, 12, tzinfo=TZ)))
    for day in (date(2024, 11, 5), date(2025, 3, 10)):
        db.session.add(ScanAttempt(action="check", card_number=lapsed.number, reason="expired",
                                   venue_id=world.theatre.id, user_id=door.id,
                                   at=datetime(day.year, day.month, day.day, 18, tzinfo=TZ)))
    db.session.commit()
    return world


def read_pdf(client, tmp_path: Path, lang: str, **query) -> str:
    """The summary PDF the dashboard links to, as pdftotext -layout text, flattened."""
    response = client.get("/stats/summary.pdf", query_string={**query, "lang": lang})
    assert response.status_code == 200
    return flat("\n".join(pdf_pages(response.get_data(), tmp_path)[0]))


def dashboard_tables(client, lang: str, **query) -> dict[str, list[list[str]]]:
    """Each table of the dashboard as rows of cell texts, figures without group separators."""
    response = client.get("/stats", query_string=query, headers={"Accept-Language": lang})
    assert response.status_code == 200
    return {key.removesuffix("-table"): [[unspaced(cell) for cell in row] for row in rows]
            for key, rows in Tables(response.get_data(as_text=True)).tables.items()
            if key.endswith("-table")}


def unspaced(cell: str) -> str:
    """A dashboard cell: "1 234" (with a no-break space in fi and sv) as "1234"."""
    joined = cell.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    return joined if joined.isdigit() else cell


def workbook_tables(client, lang: str, **query) -> dict[str, list[list[str]]]:
    """Each sheet of the workbook as rows of cell texts, from the table's heading row on."""
    response = client.get("/stats/workbook.xlsx", query_string=query,
                          headers={"Accept-Language": lang})
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    sheets = []
    for sheet in book.worksheets:
        rows = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        first_blank = next(i for i, row in enumerate(rows) if not any(row))
        sheets.append([row[:len(rows[first_blank + 1])] for row in rows[first_blank + 1:]])
    return sheets


@pytest.mark.parametrize("lang", ["fi", "sv"])
@pytest.mark.parametrize("query", [{"year": 2025}, {"year": 2024},
                                   {"period": "range", "start": "2024-07-01", "end": "2025-04-30"}],
                         ids=["the-year-so-far", "a-past-year", "a-date-range"])
def test_the_pdf_says_every_figure_the_dashboard_and_the_workbook_say(
        client, auth, changing, tmp_path, lang, query):
    auth.login("coord-a")
    shown = dashboard_tables(client, lang, **query)
    sheets = workbook_tables(client, lang, **query)
    text = read_pdf(client, tmp_path, lang, **query)
    assert len(shown) == len(sheets) == 10
    for (key, rows), sheet in zip(shown.items(), sheets, strict=True):
        assert sheet == rows, key  # the workbook's sheet is the dashboard's table, cell by cell
        for row in rows[1:]:  # and the PDF has each row: its label followed by its figures
            line = latin1(" ".join(cell for cell in row if cell))
            assert line in text, f"{key}: {line!r} is not in the PDF"
    with force_locale(lang):
        in_force = latin1(_("Cards in force at the end of the period"))
    assert f"{in_force} {shown['months'][-1][2]}" in text  # the total row's "cards in force"


def test_cards_in_force_are_read_on_the_periods_last_day(client, auth, changing):
    auth.login("coord-a")
    in_force = {name: dashboard_tables(client, "en", **query)["months"][-1][2]
                for name, query in {"2024": {"year": 2024}, "so far": {"year": 2025}}.items()}
    # End of 2024: five regulars are not yet issued; the lapsed, the lost and the later
    # deactivated card count. 15 June 2025: the five regulars, the summer card and the lost
    # card's successor.
    assert in_force == {"2024": "3", "so far": "7"}
    # The whole of 2025 (as the PDF used to read it) ends with two: the successor and autumn.
    with force_locale("en"):
        whole = build_report(changing.a.id, date(2025, 1, 1), date(2026, 1, 1))
    assert whole.tables["months"].total["in_force"] == 2


@pytest.mark.parametrize("lang", LANGS)
def test_no_heading_word_is_broken_across_lines(app, client, auth, changing, tmp_path, lang):
    auth.login("coord-a")
    words = set(read_pdf(client, tmp_path, lang, year=2025).split())
    with app.test_request_context(), force_locale(lang):
        report = build_report(changing.a.id, date(2025, 1, 1), TODAY + timedelta(days=1))
        headings = {latin1(word) for table in report.tables.values()
                    for heading in table.headings() for word in heading.split()}
        other_texts = [*small_cell_rule(), _("Cards in force at the end of the period"),
                       *(str(t.title) for t in report.tables.values()),
                       *(str(row["label"]) for t in report.tables.values() for row in t.rows)]
        known = headings | {latin1(word) for text in other_texts for word in text.split()}
    assert headings - words == set()  # every word of every heading row stands whole,
    pieces = {word for word in words - known for heading in headings
              if len(word) > 2 and (heading.startswith(word) or heading.endswith(word))}
    assert pieces == set()  # and no piece of one stands alone ("Rekisteröi" above "dyt")
