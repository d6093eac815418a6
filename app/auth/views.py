"""Login and logout, and the signed-in devices of one's own account."""
from __future__ import annotations

import math
from datetime import datetime
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from app.auth import public, roles, sessions
from app.auth.forms import LoginForm
from app.auth.service import LoginThrottled, authenticate
from app.extensions import limiter
from app.i18n import local_datetime_text
from app.models import ROLES, utcnow

bp = Blueprint("auth", __name__)
SECONDS_SHOWN_BELOW = 120  # a shorter wait is told in seconds, a longer one as a time of day
# What a session keeps across login and logout: only the chosen language.
KEPT_AT_LOGIN = ("lang",)


def safe_next(target: str | None) -> str:
    """A redirect target on this site only: a local path, never another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("site.index")
    # Browsers drop tabs and newlines from URLs, and a newline cannot go into a header.
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return url_for("site.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("site.index")
    return target


def login_rate_limit() -> str:
    """Login posts per client address (configurable); failures are throttled besides."""
    return current_app.config["LOGIN_RATE_LIMIT"]


def throttled_message(until: datetime) -> str:
    """When a held-back login may be tried again: in seconds for a short wait, else a time."""
    seconds = max(1, math.ceil((until - utcnow()).total_seconds()))
    if seconds < SECONDS_SHOWN_BELOW:
        return ngettext("Too many failed attempts. Try again in %(num)d second.",
                        "Too many failed attempts. Try again in %(num)d seconds.", seconds)
    return _("Too many failed attempts. Try again after %(time)s.",
             time=local_datetime_text(until))


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(login_rate_limit, methods=["POST"])
def login():
    """Show the login form and sign a staff member in."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(form.username.data, form.password.data, request.remote_addr,
                                secret=current_app.config["SECRET_KEY"],
                                max_failures=current_app.config["LOGIN_MAX_FAILURES"],
                                lock_seconds=current_app.config["LOGIN_LOCK_SECONDS"],
                                window_seconds=current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"])
        except LoginThrottled as exc:
            flash(throttled_message(exc.until), "error")
            return render_template("auth/login.html", form=form), 429
        if user is not None:
            sign_in(user, remember=bool(form.remember.data))
            return redirect(safe_next(request.args.get("next")))
        flash(_("Wrong username or password."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


def sign_in(user, remember: bool) -> None:
    """Open a signed-in device for the account in a fresh session (no pre-login CSRF token)."""
    remember = sessions.remembers(user, remember)
    sessions.start(user, remember=remember, user_agent=request.headers.get("User-Agent"),
                   lifetimes=sessions.Lifetimes.of(current_app.config))
    kept = {key: session[key] for key in KEPT_AT_LOGIN if key in session}
    session.clear()
    session.update(kept)
    login_user(user, remember=remember)


@bp.route("/logout", methods=["POST"])
@roles(*ROLES)
def logout():
    """Sign out: this device's session ends on the server too, and its cookies go."""
    sessions.end_current(current_user.get_id())
    sign_out()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


def sign_out() -> None:
    """Forget everything of the session here; Flask-Login then clears the remember cookie."""
    kept = {key: session[key] for key in KEPT_AT_LOGIN if key in session}
    session.clear()
    logout_user()
    session.update(kept)


def remember_until(device):
    """When a remembered device's session runs out."""
    return device.created_at + sessions.Lifetimes.of(current_app.config).remember


@bp.route("/account/devices")
@roles(*ROLES)
def devices():
    """The devices this account is signed in on, this one marked, each with an end button."""
    listed = sessions.live_sessions(current_user, sessions.Lifetimes.of(current_app.config))
    return render_template("auth/devices.html", devices=listed, remember_until=remember_until,
                           end_url=lambda d: url_for("auth.end_device", session_id=d.id))


@bp.route("/account/devices/<int:session_id>/end", methods=["POST"])
@roles(*ROLES)
def end_device(session_id: int):
    """End one of the account's own signed-in devices; ending this one signs out here."""
    if session_id == current_user.staff_session_id:
        return logout()
    try:
        sessions.end_device(current_user, session_id)
    except sessions.SessionNotFound:
        abort(404)
    flash(_("The device was signed out."), "info")
    return redirect(url_for("auth.devices"))


@bp.route("/account/devices/end-others", methods=["POST"])
@roles(*ROLES)
def end_other_devices():
    """End every signed-in device of the account but this one."""
    sessions.end_other_devices(current_user)
    flash(_("The other devices were signed out."), "info")
    return redirect(url_for("auth.devices"))
