"""Events and courses of the account's venues: list, create one or a series, edit, cancel."""
from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app.auth import roles
from app.extensions import db
from app.manage import bp
from app.manage import events_service as service
from app.manage.events_forms import ActiveForm, EventFilterForm, EventForm, SeriesForm
from app.manage.events_service import EventError, EventFields, Repeat
from app.manage.scope import (
    MANAGERS,
    confirm_deactivation,
    deactivation_confirmed,
    get_in_scope,
    id_arg,
    in_scope,
    page_number,
)
from app.models import Event, Venue
from app.rules import TZ

PER_PAGE = 50


def event_error_message(code: str) -> str:
    """What to tell the coordinator for an EventError code."""
    return {
        "bad_title": _("Enter the title, at most 200 characters."),
        "bad_kind": _("Choose the type."),
        "bad_quota": _("Enter a whole number, or leave empty."),
        "unknown_venue": _("Choose a venue of your region."),
        "venue_inactive": _("This venue is not active. Choose another one."),
        "venue_has_visits": _("Cards have already been used for this event, so its venue "
                              "cannot change. Cancel it and create a new one instead."),
        "skipped_time": _("This time does not exist on that day: the clocks go forward an "
                          "hour. Choose another time."),
        "bad_interval": _("Choose how often the series repeats."),
        "count_or_until": _("Give either the number of times or the last date."),
        "bad_count": _("Between %(min)s and %(max)s.", min=service.SERIES_MIN,
                       max=service.SERIES_MAX),
        "until_before_first": _("The last date is before the first date."),
        "bad_until": _("A series has %(min)s to %(max)s events; choose another last date.",
                       min=service.SERIES_MIN, max=service.SERIES_MAX),
    }.get(code, _("The event could not be saved. Check the form."))


def load_event(event_id: int) -> Event:
    """The event if it is at a venue of the account's region(s); 404 otherwise."""
    return get_in_scope(Event, event_id, region_of=lambda event: event.venue.region_id)


def venue_choices(active_only: bool = True, keep: Venue | None = None) -> list[SelectChoice]:
    """The account's venues as choices; an admin sees each venue's region."""
    query = in_scope(sa.select(Venue).order_by(Venue.name, Venue.id), Venue.region_id)
    venues = [v for v in db.session.scalars(query) if v.active or not active_only or v is keep]
    admin = current_user.role == "admin"
    return [SelectChoice(v.id, f"{v.name} ({v.region.code})" if admin else v.name)
            for v in venues]


def _prepare(form, keep: Venue | None = None) -> None:
    """Offer the venues; on a new form, preselect the asked-for venue and its default quota."""
    form.venue.choices = [SelectChoice("", _("Choose…")), *venue_choices(keep=keep)]
    if request.method != "GET" or keep is not None:
        return
    offered = [c.value for c in form.venue.choices if c.value != ""]
    wanted = id_arg("venue") or (offered[0] if len(offered) == 1 else None)
    if wanted in offered:
        form.venue.data = wanted
        form.quota.data = db.session.get(Venue, wanted).default_quota


def _fields(form, day) -> EventFields:
    return EventFields(venue_id=form.venue.data, title=form.title.data, day=day,
                       start=form.start_time.data, kind=form.kind.data, quota=form.quota.data)


def _event_data(event: Event) -> dict:
    """An event as the form's fields: Finnish local date and time."""
    local = event.starts_at.astimezone(TZ)
    return {"venue": event.venue_id, "title": event.title, "kind": event.kind,
            "quota": event.quota, "date": local.date(), "start_time": local.time()}


def _show_error(form, exc: EventError) -> None:
    db.session.rollback()
    field = getattr(form, exc.field or "", None) or form.title
    field.errors = [*field.errors, event_error_message(exc.code)]


@bp.route("/events")
@roles(*MANAGERS)
def events():
    """Upcoming events of the account's venues, narrowed by venue and dates; past on request."""
    form = EventFilterForm(request.args)
    form.venue.choices = [SelectChoice("", _("All venues")),
                          *venue_choices(active_only=False)]
    form.validate()
    valid = {name: None if form[name].errors else form[name].data
             for name in ("venue", "first_day", "last_day")}
    query = service.event_list(valid["venue"], valid["first_day"], valid["last_day"],
                               past=bool(form.past.data))
    page = db.paginate(in_scope(query, Venue.region_id), page=page_number(),
                       per_page=PER_PAGE, error_out=False)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("manage/events.html", form=form, page=page, args=args,
                           venue_id=valid["venue"])


@bp.route("/events/new", methods=["GET", "POST"])
@roles(*MANAGERS)
def event_new():
    """Create one event or course."""
    form = EventForm()
    _prepare(form)
    if form.validate_on_submit():
        try:
            event = service.create_event(current_user, _fields(form, form.date.data))
        except EventError as exc:
            _show_error(form, exc)
        else:
            flash(_("The event was saved."), "info")
            return redirect(url_for("manage.events", venue=event.venue_id,
                                    first_day=event.starts_at.astimezone(TZ).date().isoformat()))
    status = 400 if request.method == "POST" else 200
    return render_template("manage/events_form.html", form=form, event=None), status


@bp.route("/events/series/new", methods=["GET", "POST"])
@roles(*MANAGERS)
def event_series_new():
    """Create a series, e.g. a weekly course for 12 weeks: all its events at once, or none."""
    form = SeriesForm()
    _prepare(form)
    if form.validate_on_submit():
        repeat = Repeat(every_weeks=form.every_weeks.data, count=form.count.data,
                        until=form.until.data)
        try:
            created = service.create_series(current_user, _fields(form, form.first_date.data), repeat)
        except EventError as exc:
            _show_error(form, exc)
        else:
            flash(_("%(count)s events were saved.", count=len(created)), "info")
            return redirect(url_for(
                "manage.events", venue=created[0].venue_id,
                first_day=created[0].starts_at.astimezone(TZ).date().isoformat(),
                last_day=created[-1].starts_at.astimezone(TZ).date().isoformat()))
    status = 400 if request.method == "POST" else 200
    return render_template("manage/events_series.html", form=form), status


@bp.route("/events/<int:event_id>/edit", methods=["GET", "POST"])
@roles(*MANAGERS)
def event_edit(event_id: int):
    """Change an event; cancel or reinstate it."""
    event = load_event(event_id)
    form = EventForm(data=_event_data(event))
    _prepare(form, keep=event.venue)
    if form.validate_on_submit():
        try:
            service.update_event(current_user, event, _fields(form, form.date.data))
        except EventError as exc:
            _show_error(form, exc)
        else:
            flash(_("The event was saved."), "info")
            return redirect(url_for("manage.event_edit", event_id=event.id))
    status = 400 if request.method == "POST" else 200
    return render_template("manage/events_form.html", form=form, event=event), status


@bp.route("/events/<int:event_id>/active", methods=["POST"])
@roles(*MANAGERS)
def event_active(event_id: int):
    """Cancel the event (it stays in the records) or reinstate it."""
    event = load_event(event_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        flash(_("The form had expired or was incomplete. Try again."), "error")
    elif event.active and form.active.data == "0" and not deactivation_confirmed():
        return confirm_deactivation(
            request.path, _("Cancel the event %(name)s?", name=event.title),
            _("A cancelled event stays in the records with its visits."), _("Cancel the event"),
            url_for("manage.event_edit", event_id=event.id))
    else:
        active = form.active.data == "1"
        service.set_event_active(current_user, event, active)
        flash(_("The event is on again.") if active else _("The event was cancelled."), "info")
    return redirect(url_for("manage.event_edit", event_id=event.id))
