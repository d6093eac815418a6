"""Staff accounts: login, logout, roles, and the default-deny gate in front of every view."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import Flask, current_app, jsonify, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.digits import ascii_digits
from app.extensions import db, login
from app.models import User

F = TypeVar("F", bound=Callable)


def roles(*names: str) -> Callable[[F], F]:
    """Admit only these roles to a view; the gate enforces it before the view runs."""
    def mark(view: F) -> F:
        view.allowed_roles = frozenset(names)
        return view
    return mark


def public(view: F) -> F:
    """Admit everyone, signed in or not, to a view."""
    view.allowed_roles = None
    view.is_public = True
    return view


def wants_json() -> bool:
    """Whether this request is an API call that should be answered in JSON."""
    return request.path.startswith("/api/")


def gate():
    """Deny by default: a view is reachable only if it is public or admits the user's role."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if view is None or request.endpoint == "static" or getattr(view, "is_public", False):
        return None
    if not current_user.is_authenticated:
        if wants_json():
            return jsonify(error={"code": "login_required",
                                  "message": str(_l("Please log in."))}), 401
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    allowed = getattr(view, "allowed_roles", frozenset())
    if current_user.role not in allowed:
        from flask import abort
        abort(403)
    return None


@login.user_loader
def load_user(session_id: str) -> User | None:
    """The signed-in account, if it still exists, is active and has the same password."""
    user_id, _, _stamp = session_id.partition(".")
    if not ascii_digits(user_id):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.get_id() != session_id:
        return None
    return user


def init_app(app: Flask) -> None:
    """Register the login manager, the gate and the auth views."""
    from app.auth.views import bp

    login.init_app(app)
    login.login_view = "auth.login"
    login.login_message = None
    login.session_protection = "basic"
    app.before_request(gate)
    app.register_blueprint(bp)
