"""The queue of offline conflicts: records the scanner's sync kept but flagged (DESIGN §6)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm import selectinload
from wtforms import HiddenField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired

from app.audit_labels import ANNUL_REASON_LABELS, CONFLICT_LABELS
from app.auth import roles
from app.extensions import db
from app.i18n import local_datetime_text
from app.manage import bp
from app.manage.audit_service import usernames
from app.manage.conflicts_service import (
    ConflictError,
    OtherVisits,
    conflict_query,
    other_visits,
    resolve,
    resolves,
)
from app.manage.scope import MANAGERS, page_number
from app.models import CONFLICT_RESOLUTIONS, User, Venue, Visit

PER_PAGE = 50
TABS = ("open", "resolved")
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


def describe(user: User, visits: list[Visit], tab: str) -> list[dict]:
    """What the queue shows of each flagged record and the card's other records.

    A record at another region's venue (the card is this region's) shows its region, time
    and tickets, but not the venue, the event or who recorded or resolved it.
    """
    ours = {v.id for v in visits if resolves(user, v)}
    others = other_visits(user, visits) if tab == "open" else {}
    names = usernames({v.user_id for v in visits if v.id in ours}
                      | {v.conflict_resolved_by_id for v in visits if v.id in ours}
                      | {o.user_id for group in others.values() for o in group.shown})
    return [{"visit": v, "ours": v.id in ours, "when": local_datetime_text(v.occurred_at),
             "event_when": local_datetime_text(v.event.starts_at) if v.event else None,
             "reason": conflict_label(v.conflict), "recorder": names.get(v.user_id),
             "resolver": names.get(v.conflict_resolved_by_id),
             "resolved_when": (local_datetime_text(v.conflict_resolved_at)
                               if v.conflict_resolved_at else None),
             "form": resolve_form(v.id) if tab == "open" and v.id in ours else None,
             **_others(others.get(v.id, OtherVisits()), names)}
            for v in visits]


def _others(near: OtherVisits, names: dict[int, str]) -> dict:
    return {"others": [{"visit": o, "when": local_datetime_text(o.occurred_at),
                        "recorder": names.get(o.user_id)} for o in near.shown],
            "elsewhere": near.elsewhere}


@bp.route("/conflicts")
@roles(*MANAGERS)
def conflicts():
    """Offline records flagged at sync at the account's venues or of its region's cards."""
    tab = request.args.get("tab", "open")
    if tab not in TABS:
        tab = "open"
    query = conflict_query(current_user, resolved=tab == "resolved").options(
        selectinload(Visit.card), selectinload(Visit.venue).selectinload(Venue.region),
        selectinload(Visit.event))
    page = db.paginate(query,
                       page=page_number(), per_page=PER_PAGE,
                       max_per_page=PER_PAGE, error_out=False)
    return render_template("manage/conflicts.html", tab=tab, page=page,
                           rows=describe(current_user, list(page.items), tab),
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
        if exc.status in (403, 404):
            abort(exc.status)
        flash(_("This record has already been resolved.") if exc.code == "already_resolved"
              else _("The form had expired or was incomplete. Try again."), "error")
        return redirect(url_for("manage.conflicts"))
    if visit.conflict_resolution == "keep":
        flash(_("The record was kept."), "info")
    else:
        flash(_("The record was annulled."), "info")
    return redirect(url_for("manage.conflicts"))
