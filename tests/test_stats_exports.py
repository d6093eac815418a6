"""One dashboard table as CSV or XLSX (DESIGN §8): headings, rows, total, "<5" as text, filenames."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from app.stats import exports
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
