"""One dashboard table as CSV or XLSX (DESIGN §8): headings, rows, total, "<5" as text, filenames."""
from __future__ import annotations

import csv
import io
from datetime import date
from urllib.parse import quote

import openpyxl
import pytest

from app.stats import exports
from app.stats import views as stats_views
from app.stats.report import Table
from tests.test_stats_dashboard import B_USES, MEN_USES, OTHER_USES, WOMEN, YEAR, build_stats

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GENDER_HEADINGS = ["Gender", "Cards", "Uses", "Adult tickets", "Child tickets", "Assistant tickets"]


@pytest.fixture
def stats(world):
    """The uses of 2024 that the dashboard's tests count too."""
    return build_stats(world)


def download(client, table: str, extension: str, **query):
    """A table's file in English."""
    return client.get(f"/stats/{table}.{extension}", query_string={"year": YEAR, **query},
                      headers={"Accept-Language": "en"})


def csv_lines(response) -> list[list[str]]:
    """A CSV answer read back the way Excel in Finland reads it."""
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def xlsx_lines(response) -> list[list]:
    """An XLSX answer's only sheet, as lists of cell values."""
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    assert len(book.worksheets) == 1
    return [list(row) for row in book.active.iter_rows(values_only=True)]


def test_the_csv_holds_translated_headings_rows_and_the_total(client, auth, stats):
    auth.login("coord-a")
    response = download(client, "gender", "csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="kaikukortti-gender-aaa-{YEAR}.csv"'
    lines = csv_lines(response)
    assert lines[0] == GENDER_HEADINGS
    assert lines[1] == ["Female", str(WOMEN), str(WOMEN), str(WOMEN), str(WOMEN), "0"]
    assert {line[0]: line[1:] for line in lines[2:4]} == {"Male": ["<5"] * 5, "Other": ["<5"] * 5}
    total = WOMEN + sum(MEN_USES) + OTHER_USES
    assert lines[-1] == ["Total", "", str(total), str(total), str(total), "0"]
    assert len(lines) == 5


def test_the_xlsx_holds_numbers_the_hidden_cells_as_text_and_the_total(client, auth, stats):
    auth.login("coord-a")
    response = download(client, "gender", "xlsx")
    assert response.status_code == 200 and response.mimetype == XLSX
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="kaikukortti-gender-aaa-{YEAR}.xlsx"'
    lines = xlsx_lines(response)
    assert lines[0] == GENDER_HEADINGS
    assert lines[1] == ["Female", WOMEN, WOMEN, WOMEN, WOMEN, 0]
    assert {line[0]: line[1:] for line in lines[2:4]} == {"Male": ["<5"] * 5, "Other": ["<5"] * 5}
    total = WOMEN + sum(MEN_USES) + OTHER_USES
    assert lines[4] == ["Total", None, total, total, total, 0]


def test_a_hidden_figure_is_in_no_file(client, auth, stats):
    auth.login("coord-a")
    for extension, read in (("csv", csv_lines), ("xlsx", xlsx_lines)):
        men = next(line for line in read(download(client, "gender", extension)) if line[0] == "Male")
        assert not {sum(MEN_USES), str(sum(MEN_USES)), len(MEN_USES), str(len(MEN_USES))} & set(men)


def test_a_national_file_and_a_date_range_are_named_after_them(client, auth, stats):
    auth.login("admin1")
    response = download(client, "months", "csv", period="range", start="2024-03-01",
                        end="2024-05-31")
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="kaikukortti-months-all-2024-03-01_2024-05-31.csv"'
    lines = csv_lines(response)
    assert [line[0] for line in lines[1:]] == ["March 2024", "April 2024", "May 2024", "Total"]
    assert lines[-1][lines[0].index("Uses")] == str(WOMEN + sum(MEN_USES) + OTHER_USES + B_USES)


def test_the_files_are_in_the_pages_language(client, auth, stats):
    auth.login("coord-a")
    response = client.get("/stats/months.xlsx", query_string={"year": YEAR},
                          headers={"Accept-Language": "fi"})
    assert [line[0] for line in xlsx_lines(response)[1:4]] == [
        "tammikuu 2024", "helmikuu 2024", "maaliskuu 2024"]


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_an_unknown_table_is_not_found(client, auth, world, extension):
    auth.login("coord-a")
    assert download(client, "cards_by_name", extension).status_code == 404


def test_bad_filters_give_the_form_with_its_error(client, auth, world):
    auth.login("coord-a")
    response = download(client, "months", "csv", period="range", start="2024-05-01",
                        end="2024-01-01")
    assert response.status_code == 400
    assert "The end date is before the start date." in response.get_data(as_text=True)


def test_a_coordinator_cannot_download_another_region(client, auth, world):
    auth.login("coord-a")
    assert download(client, "months", "xlsx", region=world.b.id).status_code == 404


def test_a_name_that_looks_like_a_formula_is_written_as_text():
    table = Table("venue", "Uses by venue", ("venue", "uses", "adults", "children", "assistants"),
                  [{"label": "=HYPERLINK(\"x\")", "uses": 1, "adults": 1, "children": 0,
                    "assistants": 0}])
    lines = list(csv.reader(io.StringIO(exports.csv_bytes(table).decode("utf-8-sig")),
                            delimiter=";"))
    assert lines[1][0] == "'=HYPERLINK(\"x\")"
    book = openpyxl.load_workbook(io.BytesIO(exports.xlsx_bytes(table, "t")))
    cell = book.active["A2"]
    assert cell.value == "=HYPERLINK(\"x\")" and cell.data_type == "s"


# --- The workbook: every table in one file ----------------------------------------------------

def workbook(client, lang: str = "en", **query):
    """The dashboard's workbook in a language."""
    return client.get("/stats/workbook.xlsx", query_string={"year": YEAR, **query},
                      headers={"Accept-Language": lang})


def test_the_workbook_has_a_sheet_for_every_table_of_the_dashboard(client, auth, stats):
    auth.login("coord-a")
    response = workbook(client)
    assert response.status_code == 200 and response.mimetype == XLSX
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == [
        "By month", "Category", "Art form", "Venue", "Municipality", "Issuing site", "Age group",
        "Gender", "Life situation", "Refused scans"]
    html = client.get("/stats", query_string={"year": YEAR},
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    titles = [line.split(">")[-1] for line in html.split("</h2>") if 'class="stats-section"' in line]
    assert [sheet["A1"].value for sheet in book.worksheets] == titles[1:]  # after the PDF links


def test_each_sheet_names_its_region_period_and_the_small_cell_rule(client, auth, stats):
    auth.login("coord-a")
    book = openpyxl.load_workbook(io.BytesIO(workbook(client).get_data()))
    for sheet in book.worksheets:
        top = [sheet.cell(row=row, column=1).value for row in range(1, 6)]
        assert top[1:3] == ["Region: Region AAA", f"Period: {YEAR}"], sheet.title
        assert 'fewer than 5 distinct cards is shown as "<5"' in top[3]
        assert 'shown as "x"' in top[4]
        assert sheet.cell(row=6, column=1).value is None  # a blank row, then the table


def test_the_workbooks_gender_sheet_holds_numbers_and_the_hidden_cells_as_text(client, auth, stats):
    auth.login("coord-a")
    book = openpyxl.load_workbook(io.BytesIO(workbook(client).get_data()))
    lines = [list(row) for row in book["Gender"].iter_rows(min_row=7, values_only=True)]
    assert lines[0] == GENDER_HEADINGS
    assert lines[1] == ["Female", WOMEN, WOMEN, WOMEN, WOMEN, 0]
    assert {line[0]: line[1:] for line in lines[2:4]} == {"Male": ["<5"] * 5, "Other": ["<5"] * 5}
    total = WOMEN + sum(MEN_USES) + OTHER_USES
    assert lines[4] == ["Total", None, total, total, total, 0]
    assert book["Gender"].freeze_panes == "B8"
    assert all(isinstance(v, str) and v.startswith("Uses by") for v in
               [book[name]["A1"].value for name in book.sheetnames[1:-1]])


@pytest.mark.parametrize(("lang", "name", "sheet", "region"), [
    ("fi", "kaikukortti-tilastot-alue-aaa-2024.xlsx", "Kuukausittain", "Alue: Alue AAA"),
    ("sv", "kaikukortet-statistik-område-aaa-2024.xlsx", "Per månad", "Region: Område AAA"),
    ("en", "kaikukortti-statistics-region-aaa-2024.xlsx", "By month", "Region: Region AAA"),
])
def test_the_workbook_is_named_and_written_in_the_pages_language(
        client, auth, stats, lang, name, sheet, region):
    auth.login("coord-a")
    response = workbook(client, lang)
    ascii_name = name.replace("å", "a")
    assert response.headers["Content-Disposition"] == \
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames[0] == sheet and book.worksheets[0]["A2"].value == region


def test_a_national_workbook_of_a_date_range_is_named_after_them(client, auth, stats):
    auth.login("admin1")
    response = workbook(client, "fi", period="range", start="2024-03-01", end="2024-05-31")
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="kaikukortti-tilastot-koko-maa-2024-03-01_2024-05-31.xlsx"; '
        "filename*=UTF-8''kaikukortti-tilastot-koko-maa-2024-03-01_2024-05-31.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    months = book["Kuukausittain"]
    assert months["A2"].value == "Alue: Kaikki alueet"
    assert months["A3"].value == "Jakso: 1.3.2024–31.5.2024"


def test_the_workbook_keeps_to_the_accounts_region_and_the_filters(client, auth, stats):
    auth.login("coord-a")
    assert workbook(client, region=stats.b).status_code == 404
    bad = workbook(client, period="range", start="2024-05-01", end="2024-01-01")
    assert bad.status_code == 400
    assert "The end date is before the start date." in bad.get_data(as_text=True)
    auth.logout()
    auth.login("issuer-a")
    assert workbook(client).status_code in (403, 404)


@pytest.mark.parametrize(("wanted", "names"), [
    (["Uses: by [venue]?", "a/b\\c*d"], ["Uses  by  venue", "a b c d"]),
    (["x" * 40, "x" * 40, "X" * 40], ["x" * 31, "x" * 27 + " (2)", "X" * 27 + " (3)"]),
    (["'quoted'", "", "Gender", "gender"], ["quoted", "Sheet", "Gender", "gender (2)"]),
])
def test_sheet_names_are_what_excel_accepts(wanted, names):
    made = exports.sheet_names(wanted)
    assert made == [" ".join(n.split()) for n in names]
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in made)
    assert len({n.casefold() for n in made}) == len(made)


def test_the_year_so_far_is_named_after_its_year_and_says_where_it_ends(
        client, auth, stats, monkeypatch):
    monkeypatch.setattr(stats_views, "today", lambda: date(YEAR, 6, 15))
    auth.login("coord-a")
    response = workbook(client)
    assert 'filename="kaikukortti-statistics-region-aaa-2024.xlsx"' in \
        response.headers["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    assert book["By month"]["A3"].value == "Period: 01/01/2024–15/06/2024"
    assert [row[0] for row in book["By month"].iter_rows(min_row=8, values_only=True)][-2:] == [
        "June 2024", "Total"]
