"""The annual statistics summary, the "tilastoyhteenveto" (DESIGN §8), as an A4 PDF.

`summary_pdf(report)` draws a `Report` of app.stats.report: a title block, the key figures,
then every table as a bar chart followed by the table itself. Call it inside the same
`flask_babel.force_locale` block that built the report, so its texts match the report's labels.
The "<5" rule was applied when the report was built; this module only shows what it is given.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import format_date, format_decimal, get_locale
from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.enums import RenderStyle

from app.printing.cards import latin1
from app.rules import TZ
from app.stats.report import HEADINGS, Report, Table, small_cell_rule

FONT = "Helvetica"  # a core font: Latin-1 only, nothing to embed, fast
MARGIN = 15.0
FOOTER_Y = -11.0
INK = (34, 34, 34)
MUTED = (90, 90, 90)
ACCENT = (0, 83, 94)  # 10:1 against white; the bars carry their value as text as well
RULE = (150, 150, 150)
HEADING_FILL = (222, 230, 232)
STRIPE_FILL = (244, 246, 247)
FILL = RenderStyle.F  # the enum, not "F": rect() coerces its style on every call

CHART_ROWS = 15  # bars per chart; the table below it lists every row
BAR_PITCH = 4.6
BAR_HEIGHT = 3.2
LABEL_WIDTH = 58.0
VALUE_ROOM = 22.0  # room right of the longest bar for its value
SECTION_START = 28.0  # heading, caption and gaps: a section starts where it and its chart fit
TABLE_SIZE = 7.8  # points
ROW_HEIGHT = 4.2  # mm a line of a table row
TEXT_DROP = 1.25  # from a row line's foot up to the text baseline
CELL_PAD = 1.2
LABEL_COLUMN = 62.0
LABEL_MIN = 34.0  # the least a label column gets when the figures' headings need the room
KEY_FIGURE_COLUMNS = [90.0, 30.0]
KEY_FIGURES = ("registered", "in_force", "taken_into_use", "uses", "adults", "children",
               "assistants")


class _SummaryPDF(FPDF):
    """A4 portrait with a footer line: what the document is, and "page / pages"."""

    footer_text = ""

    def footer(self) -> None:
        self.set_y(FOOTER_Y)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(*MUTED)
        self.cell(0, 4, _clip(self, self.footer_text, self.epw - 20, 7.5), align="L")
        self.set_x(self.l_margin)
        self.cell(0, 4, f"{self.page_no()} / {{nb}}", align="R")


def summary_pdf(report: Report) -> bytes:
    """The report as an A4 PDF in the current language: key figures, charts and tables."""
    title = f"Kaikukortti \u2013 {_('Statistics summary')} \u2013 {report.scope_name}"
    pdf = _new_pdf(title, _period(report))
    _title_block(pdf, report)
    _key_figures(pdf, report)
    for table in report.tables.values():
        _section(pdf, table)
    return bytes(pdf.output())


def _new_pdf(title: str, period: str) -> _SummaryPDF:
    pdf = _SummaryPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_compression(True)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN + 3)
    pdf.set_title(f"{title}, {period}")
    pdf.set_subject(period)
    pdf.set_lang(get_locale().language)
    pdf.set_creator("Kaikukortti")
    pdf.set_creation_date(datetime.now(UTC))
    pdf.footer_text = latin1(title)
    pdf.add_page()
    return pdf


def _period(report: Report) -> str:
    return f"{format_date(report.start, 'long')} \u2013 {format_date(report.last_day, 'long')}"


def _title_block(pdf: FPDF, report: Report) -> None:
    _line(pdf, "Kaikukortti", 22, "B", ACCENT, 10)
    _line(pdf, _("Statistics summary"), 16, "B", INK, 8)
    pdf.ln(2)
    _line(pdf, report.scope_name, 13, "B", INK, 6.5)
    _line(pdf, _("Period: %(period)s", period=_period(report)), 10.5, "", INK, 5.5)
    today = format_date(datetime.now(TZ).date(), "long")
    _line(pdf, _("Generated on %(date)s", date=today), 9, "", MUTED, 5)
    pdf.ln(2)
    for paragraph in small_cell_rule():
        _paragraph(pdf, paragraph)
    pdf.ln(4)


def _key_figures(pdf: FPDF, report: Report) -> None:
    total = report.tables["months"].total or {}
    labels = {**{key: str(HEADINGS[key]) for key in KEY_FIGURES},
              "in_force": _("Cards in force at the end of the period")}
    _heading(pdf, _("Key figures"))
    for index, key in enumerate(KEY_FIGURES):
        _table_row(pdf, [labels[key], _figure(total.get(key, 0))], KEY_FIGURE_COLUMNS, "",
                   STRIPE_FILL if index % 2 == 0 else None)
    pdf.ln(7)


def _section(pdf: FPDF, table: Table) -> None:
    chart = BAR_PITCH * min(len(table.rows), CHART_ROWS)
    if pdf.get_y() + SECTION_START + chart + 3 * ROW_HEIGHT > pdf.page_break_trigger:
        pdf.add_page()
    _heading(pdf, str(table.title))
    if not table.rows:
        _paragraph(pdf, _("No figures for this period."))
        pdf.ln(4)
        return
    _bar_chart(pdf, table)
    _table(pdf, table)
    pdf.ln(7)


def _heading(pdf: FPDF, title: str) -> None:
    pdf.start_section(title)  # an entry in the viewer's outline (bookmarks)
    _line(pdf, title, 12.5, "B", ACCENT, 6.5)
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(0.3)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(2.5)


def _bar_chart(pdf: FPDF, table: Table) -> None:
    """Horizontal bars of the table's chart figure; a hidden cell gets "<5" and no bar."""
    rows = table.rows[:CHART_ROWS]
    figure = table.headings()[table.columns.index(table.chart)]
    caption = figure if len(rows) == len(table.rows) else _(
        "%(figure)s: the first %(shown)s of %(count)s rows; the table lists them all.",
        figure=figure, shown=format_decimal(len(rows)), count=format_decimal(len(table.rows)))
    _line(pdf, caption, 8, "I", MUTED, 4.5)
    values = [row[table.chart] for row in rows]
    largest = max((v for v in values if isinstance(v, int)), default=0)
    left = pdf.l_margin + LABEL_WIDTH + 2
    room = pdf.w - pdf.r_margin - left - VALUE_ROOM
    for row, value in zip(rows, values, strict=True):
        if pdf.get_y() + BAR_PITCH > pdf.page_break_trigger:
            pdf.add_page()
        y = pdf.get_y()
        baseline = y + BAR_HEIGHT - 0.5
        label = _clip(pdf, row["label"], LABEL_WIDTH, 8)
        _text(pdf, label, pdf.l_margin, baseline, 8, "", INK)
        end = left
        if isinstance(value, int) and largest:
            end = left + max(room * value / largest, 0.4 if value else 0)
            pdf.set_fill_color(*ACCENT)
            pdf.rect(left, y, end - left, BAR_HEIGHT, style=FILL)
        _text(pdf, _figure(value), end + 1.5, baseline, 8, "B", INK)
        # The axis the bars grow from, one segment a row so it survives a page break.
        gap = (BAR_PITCH - BAR_HEIGHT) / 2
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.2)
        pdf.line(left, y - gap, left, y + BAR_HEIGHT + gap)
        pdf.set_y(y + BAR_PITCH)
    pdf.ln(3)


@dataclass
class _Layout:
    """A table's heading row and column widths; the heading size fits its longest word."""

    headings: list[str]
    widths: list[float]
    heading_size: float


def _table(pdf: FPDF, table: Table) -> None:
    """The whole table, drawn row by row; after a page break its heading row comes again."""
    headings = [latin1(h) for h in table.headings()]
    body = [[str(row["label"]), *map(_figure, table.cells(row)[1:])] for row in table.rows]
    total = None
    if table.total:
        total = [str(table.total["label"]), *(_figure(table.total.get(c, ""))
                                              for c in table.columns[1:])]
    widths = _column_widths(pdf, headings, [*body, *([total] if total else [])])
    layout = _Layout(headings, widths, _heading_size(pdf, headings, widths))
    if pdf.get_y() + 3 * ROW_HEIGHT + _heading_height(pdf, layout) > pdf.page_break_trigger:
        pdf.add_page()  # never a heading row alone at the foot of a page
    _heading_row(pdf, layout)
    for index, cells in enumerate(body):
        _make_room(pdf, ROW_HEIGHT * _line_count(pdf, cells[0], widths[0]), layout)
        _table_row(pdf, cells, widths, "", STRIPE_FILL if index % 2 else None)
    if total:
        _make_room(pdf, ROW_HEIGHT * _line_count(pdf, total[0], widths[0]), layout)
        pdf.set_draw_color(*INK)
        pdf.set_line_width(0.3)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + sum(widths), pdf.get_y())
        _table_row(pdf, total, widths, "B", None)


def _heading_row(pdf: FPDF, layout: _Layout) -> None:
    _table_row(pdf, layout.headings, layout.widths, "B", HEADING_FILL, heading=True,
               size=layout.heading_size)


def _make_room(pdf: FPDF, height: float, layout: _Layout) -> None:
    # A row that does not fit goes to the next page, under a repeated heading row.
    if pdf.get_y() + height > pdf.page_break_trigger:
        pdf.add_page()
        _heading_row(pdf, layout)


def _column_widths(pdf: FPDF, headings: list[str], lines: list[list[str]]) -> list[float]:
    """The label gets the room it needs most; figures share the rest evenly, each at least as
    wide as its figures and the longest word of its heading (headings never break mid-word)."""
    width = pdf.w - pdf.l_margin - pdf.r_margin
    count = len(headings)
    if count <= 2:
        return [width * 0.7, width * 0.3][:count]
    even = (width - LABEL_COLUMN) / (count - 1)
    needs = []
    for column in range(1, count):
        pdf.set_font(FONT, "B", TABLE_SIZE)
        texts = [piece for piece, _ in _pieces(headings[column])] + [line[column] for line in lines]
        needs.append(max(even, *(pdf.get_string_width(t) + 2 * CELL_PAD for t in texts)))
    room = width - LABEL_MIN
    if sum(needs) > room:  # the heading row gets a smaller type instead (_heading_size)
        needs = [need * room / sum(needs) for need in needs]
    return [width - sum(needs), *needs]


def _heading_size(pdf: FPDF, headings: list[str], widths: list[float]) -> float:
    """The table's size of type, or smaller if a heading word would not fit its column."""
    pdf.set_font(FONT, "B", TABLE_SIZE)
    ratio = min(((width - 2 * CELL_PAD) / pdf.get_string_width(piece)
                 for heading, width in zip(headings, widths, strict=True)
                 for piece, _ in _pieces(heading)), default=1.0)
    return TABLE_SIZE if ratio >= 1 else int(TABLE_SIZE * ratio * 10) / 10


def _table_row(pdf: FPDF, cells: list[str], widths: list[float], style: str,
               fill: tuple[int, int, int] | None, heading: bool = False,
               size: float = TABLE_SIZE) -> None:
    """One row: the label wraps on as many lines as it needs; figures stand right-aligned.

    A heading row wraps every cell, only between words or after a hyphen, and aligns them on
    their last line.
    """
    pdf.set_font(FONT, style, size)
    wrapped = [_wrap(pdf, text, width - 2 * CELL_PAD, break_words=not heading)
               if i == 0 or heading else [text]
               for i, (text, width) in enumerate(zip(cells, widths, strict=True))]
    lines = max(len(w) for w in wrapped)
    height = lines * ROW_HEIGHT
    y, x = pdf.get_y(), pdf.l_margin
    if fill:
        pdf.set_fill_color(*fill)
        pdf.rect(x, y, sum(widths), height, style=FILL)
    pdf.set_text_color(*INK)
    for column, (texts, width) in enumerate(zip(wrapped, widths, strict=True)):
        first = lines - len(texts) if heading else 0
        for number, text in enumerate(texts, start=first):
            baseline = y + number * ROW_HEIGHT + ROW_HEIGHT - TEXT_DROP
            left = x + CELL_PAD if column == 0 else (
                x + width - CELL_PAD - pdf.get_string_width(text))
            pdf.text(left, baseline, text)
        x += width
    if heading:
        pdf.set_draw_color(*INK)
        pdf.set_line_width(0.3)
        pdf.line(pdf.l_margin, y + height, x, y + height)
    pdf.set_y(y + height)


def _heading_height(pdf: FPDF, layout: _Layout) -> float:
    pdf.set_font(FONT, "B", layout.heading_size)
    return ROW_HEIGHT * max(len(_wrap(pdf, h, w - 2 * CELL_PAD, break_words=False))
                            for h, w in zip(layout.headings, layout.widths, strict=True))


def _line_count(pdf: FPDF, text: str, width: float) -> int:
    pdf.set_font(FONT, "", TABLE_SIZE)
    return len(_wrap(pdf, text, width - 2 * CELL_PAD))


def _pieces(text: str) -> list[tuple[str, bool]]:
    """The text's words, each cut after its hyphens: (piece, whether a space comes before it)."""
    return [(part, index == 0) for word in text.split()
            for index, part in enumerate(re.findall(r"[^-]*-+|[^-]+", word))]


def _wrap(pdf: FPDF, text: str, width: float, break_words: bool = True) -> list[str]:
    """The text in Latin-1, broken into lines no wider than width, between words or after a
    hyphen; a word longer than a line is cut only when `break_words` (names in a table)."""
    text = latin1(text)
    if pdf.get_string_width(text) <= width:
        return [text]
    lines, line = [], ""
    for piece, spaced in _pieces(text):
        candidate = f"{line} {piece}" if line and spaced else line + piece
        if not line or pdf.get_string_width(candidate) <= width:
            line = candidate
        else:
            lines.append(line)
            line = piece
        while break_words and pdf.get_string_width(line) > width and len(line) > 1:
            cut = len(line) - 1
            while cut > 1 and pdf.get_string_width(line[:cut]) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    return [*lines, line] if line else lines


def _figure(value: Any) -> str:
    # Numbers are grouped the local way (1 234 in Finnish); "<5" and blanks pass unchanged.
    if isinstance(value, int):
        return latin1(format_decimal(value))
    return latin1(str(value))


def _line(pdf: FPDF, text: str, size: float, style: str, colour: tuple[int, int, int],
          height: float) -> None:
    pdf.set_font(FONT, style, size)
    pdf.set_text_color(*colour)
    pdf.multi_cell(0, height, latin1(text), new_x="LMARGIN", new_y="NEXT")


def _paragraph(pdf: FPDF, text: str) -> None:
    _line(pdf, text, 8.5, "", INK, 4.2)


def _text(pdf: FPDF, text: str, x: float, y: float, size: float, style: str,
          colour: tuple[int, int, int]) -> None:
    pdf.set_font(FONT, style, size)
    pdf.set_text_color(*colour)
    pdf.text(x, y, latin1(text))


def _clip(pdf: FPDF, text: str, width: float, size: float) -> str:
    """The text, cut with "..." to fit the width (chart labels; the table shows them whole)."""
    pdf.set_font(FONT, "", size)
    text = latin1(text)
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "...") > width:
        text = text[:-1]
    return text.rstrip() + "..."
