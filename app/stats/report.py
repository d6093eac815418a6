"""One statistics report (DESIGN §8): every table of a scope and range, ready to show or export.

`build_report(region_id, start, end)` returns a `Report` whose tables hold display-ready rows:
labels already translated into the current language, and the small-cell rule already applied
(a demographic row that stands for fewer than 5 distinct cards shows "<5" in every figure).
The dashboard, the CSV/XLSX exports and the annual summary PDF all render the same `Report`,
so the "<5" rule is decided once, here.

To build a report in another language, wrap the call in `flask_babel.force_locale(lang)`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask_babel import format_date, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.cards.forms import GENDER_LABELS, LIFE_SITUATION_LABELS
from app.extensions import db
from app.manage.places_forms import ART_FORM_LABELS, CATEGORY_LABELS
from app.models import Region
from app.stats import figures

HIDDEN = "<5"
# A row hidden only so that a lone "<5" row cannot be worked out from the total (which the
# monthly table shows anyway): total minus the other rows would give it.
PROTECTED = "x"
SMALL_CELL = 5
TICKETS = ("adults", "children", "assistants")
# Splits whose cells describe holders: these show distinct cards and hide small cells.
DEMOGRAPHIC = ("municipality", "issuing_site", "age_group", "gender", "life_situation")
SPLIT_ORDER = ("category", "art_form", "venue", *DEMOGRAPHIC)

REASON_LABELS = {
    "unknown_card": _l("Unknown card"), "bad_signature": _l("Signature does not match"),
    "not_issued": _l("Card not registered yet"), "deactivated": _l("Card deactivated"),
    "lost": _l("Card reported lost"), "replaced": _l("Card replaced by a new one"),
    "expired": _l("Card expired"), "wrong_region": _l("Not valid in this region"),
    "already_used": _l("Already used"), "event_full": _l("Event full"),
    "too_few_places": _l("Fewer places left than persons"),
    "too_many_children": _l("Too many children or assistants"),
    "no_children_for_courses": _l("No child tickets for courses"),
    "period_limit": _l("Uses for the period used up"), "venue_inactive": _l("Venue not taking part"),
}
HEADINGS = {
    "month": _l("Month"), "registered": _l("Cards registered"), "in_force": _l("Cards in force"),
    "taken_into_use": _l("Cards taken into use"), "cards": _l("Cards"), "uses": _l("Uses"),
    "adults": _l("Adult tickets"), "children": _l("Child tickets"),
    "assistants": _l("Assistant tickets"), "scans": _l("Refused scans"),
    "category": _l("Category"), "art_form": _l("Art form"), "venue": _l("Venue"),
    "municipality": _l("Municipality"), "issuing_site": _l("Issuing site"),
    "age_group": _l("Age group"), "gender": _l("Gender"), "life_situation": _l("Life situation"),
    "reason": _l("Reason"),
}
TITLES = {
    "months": _l("By month"), "category": _l("Uses by venue category"),
    "art_form": _l("Uses by art form"), "venue": _l("Uses by venue"),
    "municipality": _l("Uses by the holder's municipality"),
    "issuing_site": _l("Uses by issuing site"), "age_group": _l("Uses by the holder's age group"),
    "gender": _l("Uses by the holder's gender"),
    "life_situation": _l("Uses by the holder's life situation"),
    "refused": _l("Refused scans by reason"),
}
# Short names for a workbook's sheets (Excel allows 31 characters): the split's own heading.
SHEET_NAMES = {"months": _l("By month"), "refused": HEADINGS["scans"],
               **{split: HEADINGS[split] for split in SPLIT_ORDER}}
_VALUE_LABELS = {"category": CATEGORY_LABELS, "art_form": ART_FORM_LABELS, "gender": GENDER_LABELS,
                 "life_situation": LIFE_SITUATION_LABELS, "reason": REASON_LABELS}


@dataclass
class Table:
    """One table: `columns` are keys of each row; `label` is the row's first column."""

    key: str
    title: Any
    columns: tuple[str, ...]
    rows: list[dict[str, Any]]
    total: dict[str, Any] | None = None
    suppressed: bool = False          # the small-cell rule applies to this table
    chart: str = "uses"               # the figure a chart of this table shows

    def headings(self) -> list[str]:
        """Translated column headings, in order."""
        return [str(HEADINGS[c]) for c in self.columns]

    def cells(self, row: dict[str, Any]) -> list[Any]:
        """A row's values in column order (the label first)."""
        return [row["label"], *(row[c] for c in self.columns[1:])]


@dataclass
class Report:
    region: Region | None
    start: date
    end: date                         # exclusive
    tables: dict[str, Table] = field(default_factory=dict)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def scope_name(self) -> str:
        return scope_name(self.region)


def scope_name(region: Region | None) -> str:
    """The region's name in the current language, or "All regions"."""
    if region is None:
        return str(_l("All regions"))
    return region.name(str(get_locale() or "fi"))


def small_cell_rule() -> list[str]:
    """The small-cell rule in words: which cells show "<5", and which "x" and why."""
    return [
        _("In the tables by holder (municipality, issuing site, age group, gender and life "
          "situation), a cell that stands for fewer than %(limit)d distinct cards is shown as "
          "\"%(hidden)s\" to protect the holders' privacy.", limit=SMALL_CELL, hidden=HIDDEN),
        _("Where a table would have only one such cell, the next smallest is hidden too and "
          "shown as \"%(protected)s\", so that the hidden cell cannot be worked out from the "
          "total.", protected=PROTECTED),
    ]


def build_report(region_id: int | None, start: date, end: date) -> Report:
    """Every table of DESIGN §8 for a region (None = the whole country) and [start, end)."""
    region = db.session.get(Region, region_id) if region_id is not None else None
    data = figures.collect(region_id, start, end)
    report = Report(region, start, end)
    report.tables["months"] = _months_table(data["months"])
    for split in SPLIT_ORDER:
        report.tables[split] = _split_table(split, data["splits"][split])
    report.tables["refused"] = _refused_table(data["refused"])
    return report


def _months_table(rows: list[dict]) -> Table:
    columns = ("month", "registered", "in_force", "taken_into_use", "uses", *TICKETS)
    shown = [{**row, "label": format_date(date.fromisoformat(row["month"] + "-01"), "LLLL yyyy")}
             for row in rows]
    total = {"label": str(_l("Total")), **{c: sum(r[c] for r in rows) for c in columns[1:]}}
    # Cards in force is a stock, not a flow: the total is the figure at the end of the range.
    total["in_force"] = rows[-1]["in_force"] if rows else 0
    return Table("months", TITLES["months"], columns, shown, total)


def _split_table(split: str, rows: list[dict]) -> Table:
    demographic = split in DEMOGRAPHIC
    columns = (split, *(("cards",) if demographic else ()), "uses", *TICKETS)
    shown = []
    for row in rows:
        cell = {"key": row["key"], "label": _value_label(split, row), "uses": row["uses"],
                **{t: row[t] for t in TICKETS}}
        if demographic:
            cell["cards"] = row["cards"]
            if row["cards"] < SMALL_CELL:
                cell.update({c: HIDDEN for c in columns[1:]})
        shown.append(cell)
    if demographic:
        _protect_lone_small_cell(shown, rows, columns[1:])
    if split != "age_group":  # age groups keep their natural order; the rest go largest first
        order = sorted(range(len(rows)), key=lambda i: (
            rows[i]["key"] is None, shown[i]["uses"] in (HIDDEN, PROTECTED), -rows[i]["uses"]))
        shown = [shown[i] for i in order]
    total = {"label": str(_l("Total")), **{c: sum(r[c] for r in rows) for c in ("uses", *TICKETS)}}
    if demographic:
        total["cards"] = ""  # distinct cards do not add up across cells
    return Table(split, TITLES[split], columns, shown, total, suppressed=demographic)


def _protect_lone_small_cell(shown: list[dict], rows: list[dict], figures: tuple[str, ...]) -> None:
    """When exactly one row is hidden, hide the smallest other one too (marked PROTECTED)."""
    hidden = [i for i, cell in enumerate(shown) if cell["uses"] == HIDDEN]
    others = [i for i, cell in enumerate(shown) if cell["uses"] != HIDDEN]
    if len(hidden) == 1 and others:
        smallest = min(others, key=lambda i: (rows[i]["cards"], rows[i]["uses"]))
        shown[smallest].update({c: PROTECTED for c in figures})


def _refused_table(rows: list[dict]) -> Table:
    shown = [{"key": r["reason"], "label": str(REASON_LABELS.get(r["reason"], r["reason"])),
              "scans": r["scans"]} for r in rows]
    total = {"label": str(_l("Total")), "scans": sum(r["scans"] for r in rows)}
    return Table("refused", TITLES["refused"], ("reason", "scans"), shown, total, chart="scans")


def _value_label(split: str, row: dict) -> str:
    key = row["key"]
    if key is None:
        return str(_l("Not known") if split in ("age_group", "gender", "life_situation",
                                               "municipality", "issuing_site") else _l("Other"))
    if split in ("venue", "municipality", "issuing_site"):
        return row["name"]
    if split == "age_group":
        return key
    return str(_VALUE_LABELS[split].get(key, key))
