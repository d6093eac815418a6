"""One place that turns errors into pages, or into JSON for API callers."""
from __future__ import annotations

from contextlib import suppress

from flask import Flask, make_response, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from app.auth import wants_json
from app.database import database_unreachable, lost_database
from app.extensions import db, login

# Seconds a client should wait before trying again when the database is away.
RETRY_AFTER = 5


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: ("bad_request", _("The request could not be understood.")),
        401: ("login_required", _("Please log in.")),
        403: ("forbidden", _("You do not have access to this page.")),
        404: ("not_found", _("The page was not found.")),
        405: ("method_not_allowed", _("This address does not accept that method.")),
        413: ("too_large", _("The request is too large.")),
        429: ("rate_limited", _("Too many requests. Wait a moment and try again.")),
        500: ("server_error", _("Something went wrong on our side. Please try again.")),
    }


def render_error(status: int, code: str | None = None, message: str | None = None):
    """Answer an error as JSON under /api/, otherwise as a friendly page."""
    default_code, default_message = _messages().get(status, ("error", _("Error")))
    code, message = code or default_code, message or default_message
    if wants_json():
        return {"error": {"code": code, "message": message}}, status
    return render_template("errors/error.html", status=status, message=message), status


def _one_line(exc: Exception) -> str:
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        return render_error(400, "csrf_failed",
                            _("The form had expired. Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return render_error(exc.code or 500)

    @app.errorhandler(Exception)
    def unexpected_error(exc: Exception):
        lost = lost_database(exc)
        if lost is not None:  # e.g. "the session was rolled back" after the connection died
            return database_error(lost)
        with suppress(sa_exc.SQLAlchemyError):
            db.session.rollback()
        app.logger.exception("unhandled error")
        try:
            return render_error(InternalServerError.code)
        except sa_exc.SQLAlchemyError:  # the page's language needs the account: answer without it
            login._update_request_context_with_user()
            return render_error(InternalServerError.code)

    @app.errorhandler(sa_exc.DBAPIError)
    @app.errorhandler(sa_exc.TimeoutError)
    def database_error(exc: sa_exc.SQLAlchemyError):
        if not database_unreachable(exc):
            return unexpected_error(exc)
        with suppress(sa_exc.SQLAlchemyError):  # the connection is gone; the pool drops it
            db.session.rollback()
        # The signed-in account cannot be read now (nor its language), and one loaded before
        # the failure was expired by the rollback: answer as to a visitor, without logging out.
        login._update_request_context_with_user()
        app.logger.warning("database unavailable: %s", _one_line(exc))
        response = make_response(render_error(
            ServiceUnavailable.code, "database_unavailable",
            _("The database cannot be reached right now. Please try again in a moment.")))
        response.headers["Retry-After"] = str(RETRY_AFTER)
        return response
