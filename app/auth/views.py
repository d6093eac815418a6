"""Login and logout."""
from __future__ import annotations

import math
from datetime import datetime
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user, logout_user

from app.auth import public, roles
from app.auth.forms import LoginForm
from app.auth.service import LoginThrottled, authenticate
from app.extensions import limiter
from app.i18n import local_datetime_text
from app.models import ROLES, utcnow

bp = Blueprint("auth", __name__)
SECONDS_SHOWN_BELOW = 120  # a shorter wait is told in seconds, a longer one as a time of day


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
            login_user(user, remember=bool(form.remember.data))
            return redirect(safe_next(request.args.get("next")))
        flash(_("Wrong username or password."), "error")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@roles(*ROLES)
def logout():
    """Sign out and return to the login page."""
    logout_user()
    session.pop("handover", None)
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))
