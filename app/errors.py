"""One place that turns errors into pages, or into JSON for API callers."""
from __future__ import annotations

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.auth import wants_json
from app.extensions import db


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: ("bad_request", _("The request could not be understood.")),
        401: ("login_required", _("Please log in.")),
        403: ("forbidden", _("You do not have access to this page.")),
        404: ("not_found", _("The page was not found.")),
        405: ("method_not_allowed", _("This address does not accept that method.")),
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
        db.session.rollback()
        app.logger.exception("unhandled error")
        return render_error(InternalServerError.code)
