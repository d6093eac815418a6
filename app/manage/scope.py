"""Who may manage what: a coordinator its own region, an admin every region (DESIGN §2)."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, render_template, request
from flask_login import current_user

from app.extensions import db
from app.models import Region, User

MANAGERS = ("coordinator", "admin")


def regions_of(user: User) -> sa.Select:
    """The regions this account manages, as a select."""
    query = sa.select(Region).order_by(Region.name_fi)
    if user.role != "admin":
        query = query.where(Region.id == user.region_id)
    return query


def manages_region(user: User, region_id: int | None) -> bool:
    """Whether the account may change things of this region."""
    return user.role == "admin" or (user.role == "coordinator" and region_id == user.region_id)


def in_scope(query: sa.Select, region_column) -> sa.Select:
    """Narrow a select to the signed-in account's regions."""
    if current_user.role == "admin":
        return query
    return query.where(region_column == current_user.region_id)


def get_in_scope(model: type, object_id: int, region_of=lambda obj: obj.region_id):
    """The object if it exists and lies in the account's regions; 404 otherwise (no leaks)."""
    obj = db.session.get(model, object_id)
    if obj is None or not manages_region(current_user, region_of(obj)):
        abort(404)
    return obj


MAX_PAGE = 100_000


def page_number() -> int:
    """?page= of a list, within 1 … MAX_PAGE (nonsense or huge numbers give the first/last)."""
    return min(max(request.args.get("page", 1, type=int), 1), MAX_PAGE)


def id_arg(name: str) -> int | None:
    """An id from the query string, or None when absent or not a possible id."""
    value = request.args.get(name, "")
    if value.isascii() and value.isdigit() and len(value) <= 10 and 0 < int(value) < 2**31:
        return int(value)
    return None


def deactivation_confirmed() -> bool:
    """Whether a posted deactivation is the confirmed second step (see confirm_deactivation)."""
    return request.form.get("confirmed") == "1"


def confirm_deactivation(action: str, question: str, consequence: str, button: str,
                         back: str):
    """The page that asks before something is deactivated; its form posts again, confirmed."""
    return render_template("manage/confirm_deactivation.html", action=action, question=question,
                           consequence=consequence, button=button, back=back)
