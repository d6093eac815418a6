"""The queue of offline conflicts: records the scanner's sync kept but flagged (DESIGN §6)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired

from app.auth import roles
from app.extensions import db
from app.manage import bp
from app.manage.audit_service import usernames
from app.manage.conflicts_service import ConflictError, conflict_query, other_visits, resolve
from app.manage.scope import MANAGERS, page_number
from app.models import CONFLICT_RESOLUTIONS, Visit

PER_PAGE = 50
TABS = ("open", "resolved")
# Why the server would have refused the record (the rule function's reason codes).
CONFLICT_LABELS = {
    "not_issued": _l("The card had not been registered."),
    "deactivated": _l("The card had been deactivated."),
    "lost": _l("The card had been reported lost."),
    "replaced": _l("The card had been replaced by a new card."),
    "expired": _l("The card had expired."),
    "wrong_region": _l("The card is not valid in this region."),
    "already_used": _l("The card had already been used for this event, or that day at this venue."),
    "event_full": _l("The event's Kaikukortti places had run out."),
    "too_few_places": _l("The event had fewer Kaikukortti places left than persons recorded."),
    "too_many_children": _l("Too many children or assistants for this card."),
    "no_children_for_courses": _l("Child tickets were recorded for a course."),
    "period_limit": _l("The card's uses for the period were already used up."),
    "venue_inactive": _l("The venue was not taking part in Kaikukortti."),
}
ANNUL_REASON_LABELS = {
    "conflict": _l("Conflicting offline records"),
    "mistake": _l("Recorded by mistake"),
    "wrong_card": _l("Wrong card"),
    "wrong_tickets": _l("Wrong tickets"),
    "other": _l("Other reason"),
}
RESOLUTION_LABELS = {"keep": _l("Kept"), "annul": _l("Annulled")}


class ResolveForm(FlaskForm):
    """Keep a flagged record, or annul it for a reason; the pressed button says which."""

    resolution = HiddenField(validators=[InputRequired(), AnyOf(CONFLICT_RESOLUTIONS)])
    reason = SelectField(_l("Reason for annulling"), default="conflict", choices=[
        SelectChoice(code, label) for code, label in ANNUL_REASON_LABELS.items()])


def resolve_form(visit_id: int) -> ResolveForm:
    """The form of one queued record; the prefix keeps field ids unique on the page."""
    return ResolveForm(prefix=f"visit-{visit_id}")


def conflict_label(code: str) -> str:
    """The translated reason a record was flagged; the code itself when it has none."""
    label = CONFLICT_LABELS.get(code)
    return str(label) if label is not None else code


def describe(visits: list[Visit], tab: str) -> list[dict]:
    """What the queue shows of each flagged record and the card's other records."""
    others = other_visits(visits) if tab == "open" else {}
    names = usernames({v.user_id for v in visits} | {v.conflict_resolved_by_id for v in visits}
                      | {o.user_id for group in others.values() for o in group})
    return [{"visit": v, "when": format_datetime(v.occurred_at, "short"),
             "event_when": format_datetime(v.event.starts_at, "short") if v.event else None,
             "reason": conflict_label(v.conflict), "recorder": names.get(v.user_id),
             "resolver": names.get(v.conflict_resolved_by_id),
             "resolved_when": (format_datetime(v.conflict_resolved_at, "short")
                               if v.conflict_resolved_at else None),
             "form": resolve_form(v.id) if tab == "open" else None,
             "others": [{"visit": o, "when": format_datetime(o.occurred_at, "short"),
                         "recorder": names.get(o.user_id)} for o in others.get(v.id, [])]}
            for v in visits]


@bp.route("/conflicts")
@roles(*MANAGERS)
def conflicts():
    """Offline records flagged at sync at the account's venues: open ones, or resolved ones."""
    tab = request.args.get("tab", "open")
    if tab not in TABS:
        tab = "open"
    page = db.paginate(conflict_query(current_user, resolved=tab == "resolved"),
                       page=page_number(), per_page=PER_PAGE,
                       max_per_page=PER_PAGE, error_out=False)
    return render_template("manage/conflicts.html", tab=tab, page=page,
                           rows=describe(list(page.items), tab),
                           reason_labels=ANNUL_REASON_LABELS, resolution_labels=RESOLUTION_LABELS)


@bp.route("/conflicts/<int:visit_id>/resolve", methods=["POST"])
@roles(*MANAGERS)
def conflict_resolve(visit_id: int):
    """Keep or annul one flagged record; it then leaves the queue."""
    form = resolve_form(visit_id)
    if not form.validate_on_submit():
        flash(_("The form had expired or was incomplete. Try again."), "error")
        return redirect(url_for("manage.conflicts"))
    try:
        visit = resolve(current_user, visit_id, form.resolution.data, form.reason.data)
    except ConflictError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        flash(_("This record has already been resolved.") if exc.code == "already_resolved"
              else _("The form had expired or was incomplete. Try again."), "error")
        return redirect(url_for("manage.conflicts"))
    if visit.conflict_resolution == "keep":
        flash(_("The record was kept."), "info")
    else:
        flash(_("The record was annulled."), "info")
    return redirect(url_for("manage.conflicts"))
