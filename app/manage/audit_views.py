"""The audit log: who changed what and when, filtered, paged, and as CSV."""
from __future__ import annotations

from flask import Response, current_app, render_template, request, stream_with_context, url_for
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from app.auth import roles
from app.cards.forms import WholeNumberField
from app.extensions import db
from app.manage import audit_service, bp
from app.manage.scope import MANAGERS, page_number
from app.models import AuditEvent
from app.rules import TZ

PER_PAGE = 50
ACTION_LABELS = {
    "card.register": _l("Card registered"),
    "card.renew": _l("Card renewed"),
    "card.replace": _l("Card replaced"),
    "card.deactivate": _l("Card deactivated"),
    "card.new_link": _l("New digital-card link"),
    "card.blank_batch": _l("Blank cards printed"),
    "visit.annul": _l("Record undone at the door"),
    "region.create": _l("Region added"),
    "region.update": _l("Region changed"),
    "region.rules": _l("Region's rules changed"),
    "region.deactivate": _l("Region deactivated"),
    "region.reactivate": _l("Region reactivated"),
    "municipality.create": _l("Municipality added"),
    "municipality.update": _l("Municipality changed"),
    "municipality.deactivate": _l("Municipality deactivated"),
    "municipality.reactivate": _l("Municipality reactivated"),
    "site.create": _l("Issuing site added"),
    "site.update": _l("Issuing site changed"),
    "site.deactivate": _l("Issuing site deactivated"),
    "site.reactivate": _l("Issuing site reactivated"),
    "venue.create": _l("Venue added"),
    "venue.update": _l("Venue changed"),
    "venue.deactivate": _l("Venue deactivated"),
    "venue.reactivate": _l("Venue reactivated"),
    "event.create": _l("Event added"),
    "event.update": _l("Event changed"),
    "event.cancel": _l("Event cancelled"),
    "event.reinstate": _l("Event reinstated"),
    "user.create": _l("Staff account added"),
    "user.update": _l("Staff account changed"),
    "user.password_reset": _l("Password reset"),
    "user.deactivate": _l("Staff account deactivated"),
    "user.reactivate": _l("Staff account reactivated"),
    "visit.conflict_keep": _l("Offline conflict: record kept"),
    "visit.conflict_annul": _l("Offline conflict: record annulled"),
}
OBJECT_TYPE_LABELS = {
    "cards": _l("Card"),
    "visits": _l("Visit"),
    "regions": _l("Region"),
    "municipalities": _l("Municipality"),
    "issuing_sites": _l("Issuing site"),
    "venues": _l("Venue"),
    "events": _l("Event"),
    "users": _l("Staff account"),
}
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
    object_id = WholeNumberField(_l("Object id"), validators=[
        Optional(), NumberRange(min=1, message=_l("Enter a whole number."))],
        render_kw={"inputmode": "numeric", "autocomplete": "off"})
    actor = StringField(_l("Username"), validators=[Optional(), Length(max=64)],
                        render_kw={"autocomplete": "off", "spellcheck": "false"})
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])

    def validate_date_to(self, field) -> None:
        """The range must not end before it begins."""
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))

    def wanted(self) -> audit_service.AuditFilter:
        """The filter the form describes."""
        return audit_service.AuditFilter(
            object_type=self.object_type.data or None, object_id=self.object_id.data,
            actor=(self.actor.data or "").strip() or None,
            date_from=self.date_from.data, date_to=self.date_to.data)


def action_label(code: str) -> str:
    """The translated name of an action code; the code itself when it has none."""
    label = ACTION_LABELS.get(code)
    return str(label) if label is not None else code


def object_label(object_type: str) -> str:
    """The translated name of an object type; the table name when it has none."""
    label = OBJECT_TYPE_LABELS.get(object_type)
    return str(label) if label is not None else object_type


def object_url(event: AuditEvent, numbers: dict[int, str]) -> str | None:
    """A link to the object's page, if there is one and the signed-in account may open it."""
    endpoint, argument = OBJECT_PAGES.get(event.object_type, (None, None))
    view = current_app.view_functions.get(endpoint) if endpoint else None
    if view is None or event.object_id is None \
            or current_user.role not in (getattr(view, "allowed_roles", None) or ()):
        return None
    value = numbers.get(event.object_id) if event.object_type == "cards" else event.object_id
    return url_for(endpoint, **{argument: value}) if value is not None else None


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
    events = list(page.items)
    names = audit_service.usernames(e.actor_id for e in events)
    numbers = audit_service.card_numbers(e.object_id for e in events if e.object_type == "cards")
    rows = [{"event": e, "when": format_datetime(e.at, "short"), "actor": names.get(e.actor_id),
             "action": action_label(e.action),
             "object": object_label(e.object_type), "url": object_url(e, numbers)}
            for e in events]
    return render_template("manage/audit.html", form=form, page=page, rows=rows, kept=kept)


@bp.route("/audit.csv")
@roles(*MANAGERS)
def audit_csv():
    """The filtered audit log as a CSV file (semicolons, UTF-8, Finnish local times)."""
    form, kept = filter_form()
    if request.args and not form.validate():
        return render_template("manage/audit.html", form=form, page=None, kept=kept), 400
    query = audit_service.audit_query(current_user, form.wanted())
    lines = audit_service.csv_lines(query, action_label,
                                    lambda at: at.astimezone(TZ).isoformat(timespec="seconds"))
    return Response(stream_with_context(lines), mimetype="text/csv", headers={
        "Content-Disposition": 'attachment; filename="kaikukortti-audit.csv"',
        "Cache-Control": "private, no-store"})
