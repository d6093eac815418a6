"""Pages that belong to no feature: the home page, the language switch, the health check."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from app.auth import public, roles
from app.auth.views import safe_next
from app.config import LANGUAGES
from app.extensions import db
from app.models import ROLES

bp = Blueprint("site", __name__)


@bp.route("/")
@roles(*ROLES)
def index():
    """The signed-in person's start page; the box office goes straight to its scanner."""
    if current_user.role == "boxoffice":
        return redirect(url_for("scan.scanner"))
    return render_template("site/index.html", user=current_user)


@bp.route("/lang/<code>")
@public
def set_language(code: str):
    """Remember a language choice for this browser and go back where the person was."""
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")))


@bp.route("/healthz")
@public
def healthz():
    """Liveness for load balancers: 200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="unavailable", reason="database_unavailable"), 503
    return jsonify(status="ok")
