"""The statistics dashboard, each of its tables as CSV or XLSX, and the annual summary PDF (§8).

A coordinator sees its own region; an admin any region or the whole country. Every view takes
the same filters from the query string, so a download is the table that is on the screen.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from urllib.parse import quote

from flask import Response, abort, make_response, render_template, request
from flask_babel import force_locale, format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.utils import secure_filename
from wtforms import DateField, RadioField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from app.auth import roles
from app.config import LANGUAGES
from app.digits import AsciiDigitsField, ascii_int
from app.extensions import db
from app.i18n import LANGUAGE_NAMES, local_date_text
from app.manage.scope import MANAGERS, regions_of
from app.models import Region
from app.rules import TZ, years_after
from app.stats import bp, charts, exports
from app.stats.report import (
    HIDDEN,
    PROTECTED,
    TITLES,
    Report,
    Table,
    build_report,
    scope_name,
    small_cell_rule,
)
from app.stats.summary_pdf import summary_pdf

FIRST_YEAR = 2015  # the earliest year offered, and the earliest day a date range may start
MAX_YEARS = 5      # the longest date range, in years: longer ones would read too many visits
FILTERS = ("region", "period", "year", "start", "end")
MONTH_CHARTS = ("uses", "registered")  # the months table gets two charts: a flow and new cards


def today() -> date:
    """Today in Finland: the current year's statistics run up to it."""
    return datetime.now(TZ).date()


def this_year() -> int:
    """The current year in Finland."""
    return today().year


class DayField(AsciiDigitsField, DateField):
    """A date of the period, in the digits 0-9."""


class StatsFilterForm(FlaskForm):
    """Which region and period the statistics cover."""

    class Meta:
        csrf = False  # a search changes nothing

    # The view checks the region before the form does: one out of reach is a 404, not an error.
    region = SelectField(_l("Region"), validate_choice=False)
    period = RadioField(_l("Period"), default="year", choices=[
        SelectChoice("year", _l("A calendar year")), SelectChoice("range", _l("A date range"))])
    year = SelectField(_l("Year"), coerce=ascii_int)
    start = DayField(_l("From"), validators=[Optional()])
    end = DayField(_l("To"), validators=[Optional()])

    def validate(self, extra_validators=None) -> bool:
        """Each field, then a date range: both dates, in order, within reach, at most 5 years."""
        if not super().validate(extra_validators):
            return False
        return self.period.data != "range" or self._range_is_valid()

    def _range_is_valid(self) -> bool:
        first, last = date(FIRST_YEAR, 1, 1), date(this_year() + 1, 12, 31)
        for field in (self.start, self.end):
            if field.data is None:
                field.errors.append(_("Enter a date for a date range."))
            elif not first <= field.data <= last:
                field.errors.append(_("Choose a date from %(first)s to %(last)s.",
                                      first=local_date_text(first), last=local_date_text(last)))
        if self.start.errors or self.end.errors:
            return False
        if self.end.data < self.start.data:
            self.end.errors.append(_("The end date is before the start date."))
        elif self.end.data >= years_after(self.start.data, MAX_YEARS):
            self.end.errors.append(_("A date range may be at most %(years)s years long.",
                                     years=MAX_YEARS))
        return not self.end.errors

    def bounds(self) -> tuple[date, date]:
        """The first day and the day after the last; the current year runs up to today.

        The one period of every view (dashboard, table files, workbook, summary PDF), so that
        all of them show the same figures: "cards in force" is read on the period's last day.
        """
        if self.period.data == "range":
            return self.start.data, self.end.data + timedelta(days=1)
        year = self.year.data
        end = date(year + 1, 1, 1)
        if year == this_year():  # months to come would show cards "in force" that may not be
            end = min(end, today() + timedelta(days=1))
        return date(year, 1, 1), end


def requested_region() -> Region | None:
    """The region in the query, if the account may see it (else 404); None: the whole country."""
    raw = request.args.get("region", "")
    if current_user.role == "admin":
        if not raw:
            return None
        region_id = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
    else:
        region_id = current_user.region_id
        if raw and raw != str(region_id):
            region_id = None
    region = db.session.get(Region, region_id) if region_id is not None else None
    if region is None:
        abort(404)
    return region


def filter_form() -> StatsFilterForm:
    """The filter form read from the query string, with the account's choices."""
    year = this_year()
    form = StatsFilterForm(request.args, year=year)
    form.year.choices = [SelectChoice(y, str(y)) for y in range(year, FIRST_YEAR - 1, -1)]
    if current_user.role == "admin":
        lang = str(get_locale())
        form.region.choices = [SelectChoice("", _("All regions")), *(
            SelectChoice(str(r.id), r.name(lang)) for r in db.session.scalars(regions_of(current_user)))]
    else:
        del form.region  # a coordinator's region is fixed
    return form


def period_name(start: date, end: date) -> str:
    """A calendar year as its number, any other range as its first and last day."""
    last = end - timedelta(days=1)
    if (start.month, start.day, last.month, last.day) == (1, 1, 12, 31) and start.year == last.year:
        return str(start.year)
    return f"{local_date_text(start)}–{local_date_text(last)}"


def number(value) -> str:
    """A figure the page's way (1 234 in Finnish); "<5" and blanks as they are."""
    return format_decimal(value) if isinstance(value, int) else str(value)


def chart_name(table: Table, figure: str) -> str:
    """What a chart says to a screen reader."""
    heading = table.headings()[table.columns.index(figure)]
    return _("Bar chart: %(figure)s, %(table)s. The figures are in the table below.",
             figure=heading, table=table.title)


def table_charts(table: Table) -> list[tuple[str, Markup]]:
    """The charts of one table, each with the heading of its figure (none without rows)."""
    if not table.rows:
        return []
    figures = MONTH_CHARTS if table.key == "months" else (table.chart,)
    return [(table.headings()[table.columns.index(f)],
             charts.bar_chart(table, f, chart_name(table, f), number)) for f in figures]


def filtered() -> tuple[StatsFilterForm, Region | None, bool]:
    """The form, the region and whether the filters are valid."""
    region = requested_region()
    form = filter_form()
    return form, region, form.validate()


def kept_filters() -> dict[str, str]:
    """The query string's filters, to carry into download links."""
    return {name: request.args[name] for name in FILTERS if request.args.get(name)}


def rejected(form: StatsFilterForm, region: Region | None) -> Response:
    """The dashboard with the form's errors and no figures."""
    return make_response(render_template("stats/dashboard.html", form=form, report=None,
                                         scope=scope_name(region)), 400)


def filtered_report() -> tuple[Report | None, StatsFilterForm, Response | None]:
    """The one report of the query's region and period, which every view shows.

    With invalid filters the report is None and the answer is the dashboard with the errors.
    """
    form, region, valid = filtered()
    if not valid:
        return None, form, rejected(form, region)
    return build_report(region.id if region else None, *form.bounds()), form, None


@bp.route("")
@roles(*MANAGERS)
def dashboard():
    """Every table of the chosen region and period, each with its chart and downloads."""
    report, form, refusal = filtered_report()
    if report is None:
        return refusal
    kept = kept_filters()
    pdf_links = [(code, LANGUAGE_NAMES[code], {**kept, "lang": code}) for code in LANGUAGES]
    return render_template("stats/dashboard.html", form=form, report=report, scope=report.scope_name,
                           period=period_name(report.start, report.end), hidden=HIDDEN,
                           protected=PROTECTED, number=number, kept=kept, pdf_links=pdf_links,
                           charts={key: table_charts(t) for key, t in report.tables.items()},
                           year=year_of(report))


def report_table(name: str) -> tuple[Report | None, Table | Response]:
    """The filtered report and one of its tables (404 for a name that is not a table).

    With invalid filters the report is None and the table is the dashboard with the errors.
    """
    if name not in TITLES:  # before the report is built: a wrong name costs nothing
        abort(404)
    report, _form, refusal = filtered_report()
    if report is None:
        return None, refusal
    return report, report.tables[name]


def year_of(report: Report) -> int | None:
    """The calendar year the report covers (the current one: so far), None for another range."""
    year = report.start.year
    ends = {date(year + 1, 1, 1), *([today() + timedelta(days=1)] if year == this_year() else [])}
    return year if report.start == date(year, 1, 1) and report.end in ends else None


def period_slug(report: Report) -> str:
    """The period for a file name: the year, or the first and last day."""
    year = year_of(report)
    return str(year) if year else f"{report.start.isoformat()}_{report.last_day.isoformat()}"


def download(data: bytes, content_type: str, report: Report, table: str, extension: str) -> Response:
    """A file to save, named after the table, the scope and the period."""
    scope = report.region.code if report.region else "all"
    name = secure_filename(f"kaikukortti-{table}-{scope}-{period_slug(report)}.{extension}".lower())
    return Response(data, content_type=content_type, headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "private, no-store"})


def workbook_name(report: Report) -> str:
    """The workbook's file name in the page's language ("kaikukortti-tilastot-pirkanmaa-2026")."""
    scope = report.scope_name if report.region else _("all-regions")
    stem = _("kaikukortti-statistics")
    words = f"{stem} {scope} {period_slug(report)}".lower()
    return re.sub(r"[^\w.]+", "-", words).strip("-") + ".xlsx"


def attachment(name: str) -> str:
    """A Content-Disposition naming the file: an ASCII filename, and the exact one as filename*."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    ascii_name = secure_filename(ascii_name) or "kaikukortti.xlsx"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@bp.route("/<table>.csv")
@roles(*MANAGERS)
def table_csv(table: str):
    """One table of the dashboard as a CSV file."""
    report, shown = report_table(table)
    if report is None:
        return shown
    return download(exports.csv_bytes(shown), exports.CSV_TYPE, report, table, "csv")


@bp.route("/<table>.xlsx")
@roles(*MANAGERS)
def table_xlsx(table: str):
    """One table of the dashboard as an Excel workbook."""
    report, shown = report_table(table)
    if report is None:
        return shown
    title = f"{shown.title} – {report.scope_name}, {period_name(report.start, report.end)}"
    return download(exports.xlsx_bytes(shown, title), exports.XLSX_TYPE, report, table, "xlsx")


@bp.route("/workbook.xlsx")
@roles(*MANAGERS)
def workbook():
    """Every table of the dashboard in one Excel workbook, a sheet each."""
    report, _form, refusal = filtered_report()
    if report is None:
        return refusal
    period = period_name(report.start, report.end)
    preamble = [_("Region: %(region)s", region=report.scope_name),
                _("Period: %(period)s", period=period), *small_cell_rule()]
    name = _("Kaikukortti statistics")
    title = f"{name} – {report.scope_name}, {period}"
    return Response(exports.workbook_bytes(report, title, preamble), content_type=exports.XLSX_TYPE,
                    headers={"Content-Disposition": attachment(workbook_name(report)),
                             "Cache-Control": "private, no-store"})


@bp.route("/summary.pdf")
@roles(*MANAGERS)
def summary():
    """The summary of the dashboard's region and period as a PDF in fi, sv or en."""
    lang = request.args.get("lang") or str(get_locale())
    if lang not in LANGUAGES:
        abort(404)
    with force_locale(lang):
        report, _form, refusal = filtered_report()
        if report is None:
            return refusal
        pdf = summary_pdf(report)
    return download(pdf, "application/pdf", report, f"summary-{lang}", "pdf")
