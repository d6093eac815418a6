"""The list of refused offline records (DESIGN §6, §7): the device dropped them, shown here."""
from __future__ import annotations

from flask import render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.orm import selectinload

from app.audit_labels import CONFLICT_LABELS
from app.auth import roles
from app.extensions import db
from app.i18n import local_datetime_text
from app.manage import bp
from app.manage.audit_service import usernames
from app.manage.refused_service import refused_query
from app.manage.scope import MANAGERS, page_number
from app.models import ScanAttempt

PER_PAGE = 50
# Why the server refused an offline record: a rule's reason, or what was wrong with the record.
REFUSAL_LABELS = {
    "unknown_card": _l("The code was not a card number of the register."),
    "bad_signature": _l("The card's QR code did not verify."),
    **CONFLICT_LABELS,
    "invalid_tickets": _l("The number of tickets is not possible."),
    "invalid_occurred_at": _l("The time of the record is not believable."),
    "invalid_source": _l("Unknown way of reading the card."),
    "unknown_event": _l("No such event at this venue."),
    "typing_error": _l("Check the number: it is not a card number as typed."),
}


def refusal_label(code: str) -> str:
    """The translated reason a record was refused; the code itself when it has none."""
    label = REFUSAL_LABELS.get(code)
    return str(label) if label is not None else code


@bp.route("/refused")
@roles(*MANAGERS)
def refused():
    """Offline records the server refused for good at the account's venues, newest first."""
    query = refused_query(current_user).options(selectinload(ScanAttempt.venue),
                                                 selectinload(ScanAttempt.event))
    page = db.paginate(query, page=page_number(), per_page=PER_PAGE, max_per_page=PER_PAGE,
                       error_out=False)
    attempts = list(page.items)
    names = usernames(a.user_id for a in attempts)
    rows = [{"attempt": a, "when": local_datetime_text(a.at), "reason": refusal_label(a.reason),
             "recorder": names.get(a.user_id)} for a in attempts]
    return render_template("manage/refused.html", page=page, rows=rows)
