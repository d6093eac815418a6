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

from app.stats.report import Table

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A text cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection");
# venue and site names are typed by people, so such a cell is written as plain text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SHEET_TITLE_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


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
    sheet.title = str(table.title).translate(SHEET_TITLE_FORBIDDEN)[:31]
    for line in table_lines(table):
        sheet.append([None if cell == "" else cell for cell in line])
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":  # a name that starts with "=" is text, not a formula
                cell.data_type = "s"
    bold = Font(bold=True)
    for cell in (*sheet[1], *(sheet[sheet.max_row] if table.total is not None else ())):
        cell.font = bold
    sheet.freeze_panes = "B2"
    for index, column in enumerate(sheet.iter_cols(), start=1):
        longest = max((len(str(cell.value)) for cell in column if cell.value is not None),
                      default=0)
        sheet.column_dimensions[get_column_letter(index)].width = min(longest + 2, 60)
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
