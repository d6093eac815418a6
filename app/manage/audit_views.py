"""The audit log: who changed what and when, filtered, paged, and as CSV."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from flask import Response, current_app, render_template, request, stream_with_context, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from app.audit_labels import OBJECT_TYPE_LABELS
from app.auth import roles
from app.cardcodes import normalise_number
from app.extensions import db
from app.i18n import local_datetime_text
from app.manage import audit_service, bp
from app.manage.audit_text import AuditWords, action_label
from app.manage.scope import MANAGERS, page_number
from app.models import AuditEvent
from app.rules import TZ

PER_PAGE = 50
# Where an object has a page: endpoint and the name of its URL argument. Cards are found
# by number; every other object by id. A link is shown only if the reader may open it.
OBJECT_PAGES = {
    "cards": ("cards.show", "number"),
    "regions": ("manage.region_edit", "region_id"),
    "municipalities": ("manage.municipality_edit", "municipality_id"),
    "issuing_sites": ("manage.site_edit", "site_id"),
    "venues": ("manage.venue_edit", "venue_id"),
    "events": ("manage.event_edit", "event_id"),
    "users": ("manage.staff_edit", "user_id"),
}


class AuditFilterForm(FlaskForm):
    """Narrow the log by object, actor and dates."""

    class Meta:
        csrf = False  # a search changes nothing

    object_type = SelectField(_l("Object type"), validators=[Optional()], choices=[
        SelectChoice("", _l("All")),
        *(SelectChoice(code, label) for code, label in OBJECT_TYPE_LABELS.items())])
    card_number = StringField(_l("Card number"), validators=[Optional(), Length(max=40)],
                              render_kw={"autocomplete": "off", "spellcheck": "false",
                                         "autocapitalize": "characters"})
    actor = StringField(_l("Username"), validators=[Optional(), Length(max=64)],
                        render_kw={"autocomplete": "off", "spellcheck": "false"})
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def validate_card_number(self, field) -> None:
        """A typed number is read as the scanner reads it; one that cannot be a card is an error."""
        if field.data and normalise_number(field.data) is None:
            raise ValidationError(_l("This is not a card number. Check the characters and try again."))

    def validate_date_to(self, field) -> None:
        """The range must not end before it begins."""
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))

    def wanted(self) -> audit_service.AuditFilter:
        """The filter the form describes."""
        return audit_service.AuditFilter(
            object_type=self.object_type.data or None,
            card_number=normalise_number(self.card_number.data) if self.card_number.data else None,
            actor=(self.actor.data or "").strip() or None,
            date_from=self.date_from.data, date_to=self.date_to.data)


def object_url(event: AuditEvent, numbers: dict[int, str]) -> str | None:
    """A link to the object's page, if there is one and the signed-in account may open it."""
    endpoint, argument = OBJECT_PAGES.get(event.object_type, (None, None))
    view = current_app.view_functions.get(endpoint) if endpoint else None
    if view is None or event.object_id is None \
            or current_user.role not in (getattr(view, "allowed_roles", None) or ()):
        return None
    value = numbers.get(event.object_id) if event.object_type == "cards" else event.object_id
    return url_for(endpoint, **{argument: value}) if value is not None else None


def words_for(events: Iterable[AuditEvent]) -> AuditWords:
    """Words for these events, with every name they need looked up in one query per kind."""
    events = list(events)
    names = audit_service.object_names(audit_service.referenced_ids(events), current_user)
    return AuditWords(names, str(get_locale() or "fi"))


def described(events: list[AuditEvent]) -> list[dict]:
    """The rows of the log page: when, who, what, which object and the details, in words."""
    words = words_for(events)
    actors = audit_service.usernames(e.actor_id for e in events)
    numbers = {i: n for (kind, i), n in words.names.items() if kind == "cards"}
    return [{"event": e, "when": local_datetime_text(e.at), "actor": actors.get(e.actor_id),
             "action": action_label(e.action), "object": words.object_parts(e),
             "numbered": e.object_type in ("cards", "visits"),
             "url": object_url(e, numbers), "details": words.details(e)} for e in events]


def csv_header() -> list[str]:
    """The CSV's column names in the page's language: the words first, then the codes."""
    return [_("Time"), _("Who"), _("What"), _("Object"), _("Details"), _("Action code"),
            _("Object type code"), _("Object id")]


def csv_rows(events: Sequence[AuditEvent]) -> list[list]:
    """One chunk of the CSV: each event in words, and its codes for a machine."""
    words = words_for(events)
    actors = audit_service.usernames(e.actor_id for e in events)
    return [[e.at.astimezone(TZ).isoformat(timespec="seconds"), actors.get(e.actor_id, ""),
             action_label(e.action), words.object_text(e), words.details_text(e), e.action,
             e.object_type, "" if e.object_id is None else e.object_id] for e in events]


def filter_form() -> tuple[AuditFilterForm, dict[str, str]]:
    """The filter form read from the query string, and the filters to keep in page links."""
    form = AuditFilterForm(request.args)
    kept = {name: value for name, value in request.args.items()
            if name in form and value}
    return form, kept


@bp.route("/audit")
@roles(*MANAGERS)
def audit():
    """The audit log of the account's region (admin: every region), 50 events a page."""
    form, kept = filter_form()
    if request.args and not form.validate():
        return render_template("manage/audit.html", form=form, page=None, kept=kept), 400
    query = audit_service.audit_query(current_user, form.wanted())
    page = db.paginate(query, page=page_number(), per_page=PER_PAGE,
                       error_out=False, max_per_page=PER_PAGE)
    rows = described(list(page.items))
    return render_template("manage/audit.html", form=form, page=page, rows=rows, kept=kept)


@bp.route("/audit.csv")
@roles(*MANAGERS)
def audit_csv():
    """The filtered audit log as a CSV file (semicolons, UTF-8, Finnish local times)."""
    form, kept = filter_form()
    if request.args and not form.validate():
        return render_template("manage/audit.html", form=form, page=None, kept=kept), 400
    query = audit_service.audit_query(current_user, form.wanted())
    lines = audit_service.csv_lines(query, csv_header(), csv_rows)
    return Response(stream_with_context(lines), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="kaikukortti-audit.csv"',
        "Cache-Control": "private, no-store"})
