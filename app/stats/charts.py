"""Bar charts of report tables as inline SVG: no script, no inline style, a number on every bar.

Each row is a label line with a horizontal bar under it and the figure written beside the bar
(inside its end when the bar is long), so colour never carries a figure alone. A row hidden by
the small-cell rule shows "<5" and no bar. Bars are laid out in percentages of the chart's
width rather than scaled through a viewBox: the chart fills any width from a 360 px phone to a
desktop while its text keeps the page's size. Looks come from classes (static/stats/stats.css).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from app.stats.report import Table

ROW = 46          # px per row: a label line and a bar
BAR_TOP = 21      # the bar's top within its row
BAR = 18          # the bar's height
LABEL_LENGTH = 40  # characters of a label the chart shows; the table beside it has them all
INSIDE_FROM = 70.0  # % of the width from which a bar's figure is written inside its end


def chart_rows(table: Table, figure: str) -> list[tuple[str, Any]]:
    """The (label, value) pairs a chart of this figure shows, in the table's order."""
    return [(str(row["label"]), row[figure]) for row in table.rows]


def bar_chart(table: Table, figure: str, name: str,
              number: Callable[[Any], str] = str) -> Markup:
    """An SVG bar chart of one figure of a table; `name` is what it says to a screen reader."""
    rows = chart_rows(table, figure)
    largest = max((v for _, v in rows if isinstance(v, int)), default=0)
    chart_id = f"chart-{table.key}-{figure}"
    parts = [Markup('<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="100%" '
                    'height="{}" role="img" aria-labelledby="{}-title">').format(
                        len(rows) * ROW, chart_id),
             Markup('<title id="{}-title">{}</title>').format(chart_id, name)]
    parts.extend(_bar(index * ROW, label, value, largest, number)
                 for index, (label, value) in enumerate(rows))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def _bar(top: int, label: str, value: Any, largest: int, number: Callable[[Any], str]) -> Markup:
    text = Markup('<text class="chart-label" x="0" y="{}">{}</text>').format(top + 15, _short(label))
    value_y = top + BAR_TOP + 14
    if not isinstance(value, int):  # "<5": the figure is not shown, so neither is a bar
        return text + Markup('<text class="chart-value hidden-cell" x="0" y="{}">{}</text>').format(
            value_y, value)
    width = _percent(value, largest)
    bar = Markup('<rect class="chart-bar" x="0" y="{}" width="{}%" height="{}"/>').format(
        top + BAR_TOP, width, BAR) if value else Markup("")
    if float(width) >= INSIDE_FROM:  # a long bar: the figure goes inside its end, in white
        figure = Markup('<text class="chart-value inside" x="{}%" dx="-6" y="{}" '
                        'text-anchor="end">{}</text>')
    else:
        figure = Markup('<text class="chart-value" x="{}%" dx="6" y="{}">{}</text>')
    return text + bar + figure.format(width, value_y, number(value))


def _percent(value: int, largest: int) -> str:
    """The bar's length in % of the chart; a non-zero figure always gets a visible sliver."""
    if not value or not largest:
        return "0"
    return f"{max(value / largest * 100, 0.5):.2f}".rstrip("0").rstrip(".")


def _short(label: str) -> str:
    return label if len(label) <= LABEL_LENGTH else label[:LABEL_LENGTH - 1].rstrip() + "…"
