"""One report table as a CSV or XLSX file: translated headings, every row, the total row.

A cell hidden by the small-cell rule is the text "<5" in both formats; the hidden number was
never in the report, so it cannot leak from here.

CSV is UTF-8 with a byte-order mark, cells separated by semicolons. Excel on a Finnish or
Swedish desktop splits a double-clicked CSV at the list separator of the regional settings,
which there is ";" (the comma is the decimal separator), and without the BOM it reads the file
as Windows-1252 and garbles ä and ö. LibreOffice and scripts (csv, pandas) read this form too.
"""
from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from app.stats.report import SHEET_NAMES, Report, Table

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A text cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection");
# venue and site names are typed by people, so such a cell is written as plain text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SHEET_TITLE_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})
SHEET_NAME_LENGTH = 31  # Excel's limit


def table_lines(table: Table) -> list[list[Any]]:
    """The table as lines of cells: the headings, every row, then the total."""
    lines = [table.headings(), *(table.cells(row) for row in table.rows)]
    if table.total is not None:
        lines.append(table.cells(table.total))
    return lines


def csv_bytes(table: Table) -> bytes:
    """The table as a CSV file for Excel in Finland: UTF-8 with a BOM, semicolons, CRLF."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows([_csv_cell(cell) for cell in line] for line in table_lines(table))
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(table: Table, title: str) -> bytes:
    """The table as a one-sheet XLSX workbook; `title` (with scope and period) names the file."""
    book = Workbook()
    sheet = book.active
    sheet.title = sheet_names([str(table.title)])[0]
    _write_table(sheet, table)
    return _saved(book, title)


def workbook_bytes(report: Report, title: str, preamble: list[str]) -> bytes:
    """Every table of the report in one workbook, a sheet each.

    Each sheet starts with the table's title and the `preamble` lines (region, period, the
    small-cell rule), then the table as xlsx_bytes writes it.
    """
    book = Workbook()
    book.remove(book.active)
    tables = list(report.tables.values())
    names = sheet_names([str(SHEET_NAMES.get(t.key, t.title)) for t in tables])
    for table, name in zip(tables, names, strict=True):
        sheet = book.create_sheet(name)
        for row, line in enumerate([str(table.title), *preamble], start=1):
            sheet.cell(row=row, column=1, value=line).data_type = "s"
        sheet["A1"].font = Font(bold=True, size=13)
        _write_table(sheet, table, first=len(preamble) + 3)  # a blank row above the table
    return _saved(book, title)


def sheet_names(wanted: list[str]) -> list[str]:
    """Names Excel accepts: no []:*?/\\, at most 31 characters, unique regardless of case."""
    names: list[str] = []
    taken: set[str] = set()
    for text in wanted:
        base = " ".join(text.translate(SHEET_TITLE_FORBIDDEN).split()).strip("'") or "Sheet"
        name, count = base[:SHEET_NAME_LENGTH], 1
        while name.casefold() in taken:
            count += 1
            suffix = f" ({count})"
            name = base[:SHEET_NAME_LENGTH - len(suffix)] + suffix
        taken.add(name.casefold())
        names.append(name)
    return names


def _write_table(sheet, table: Table, first: int = 1) -> None:
    """The table's lines from row `first` on: bold headings and total, figures as numbers."""
    lines = table_lines(table)
    for offset, line in enumerate(lines):
        for column, value in enumerate(line, start=1):
            if value == "":
                continue
            cell = sheet.cell(row=first + offset, column=column, value=value)
            if cell.data_type == "f":  # a name that starts with "=" is text, not a formula
                cell.data_type = "s"
    bold = Font(bold=True)
    last = first + len(lines) - 1
    for cell in (*sheet[first], *(sheet[last] if table.total is not None else ())):
        cell.font = bold
    sheet.freeze_panes = f"B{first + 1}"
    for index, column in enumerate(sheet.iter_cols(min_row=first, max_row=last), start=1):
        longest = max((len(str(cell.value)) for cell in column if cell.value is not None),
                      default=0)
        sheet.column_dimensions[get_column_letter(index)].width = min(longest + 2, 60)


def _saved(book: Workbook, title: str) -> bytes:
    book.properties.title = title
    book.properties.creator = "Kaikukortti"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
