"""One check of the text every request brings, before any view reads it.

PostgreSQL cannot store or even compare a NUL character in text: a name, a title or an audit
filter holding one made the query fail (a 500). Every view reads its text from the path, the
query string or a form, so refusing NUL there, in one hook before the views, covers every form
and every `request.args` read, future ones included. JSON bodies are not refused whole: the scan
API reads each field through its own reader (`app/scan/api_views.py`), which refuses NUL per
field, so a sync answers each record on its own, and a scanned code (hashed, never stored) stays
an unknown card like any other unreadable code.
"""
from __future__ import annotations

from collections.abc import Iterator

from flask import Flask, request
from flask_babel import gettext as _

from app.errors import render_error

NUL = "\x00"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def request_texts() -> Iterator[str]:
    """The path, and every name and value of the query string and of a posted form."""
    yield request.path
    fields = [request.args] + ([request.form] if request.mimetype in FORM_TYPES else [])
    for multidict in fields:
        for name, value in multidict.items(multi=True):
            yield name
            yield value
    if request.mimetype == "multipart/form-data":
        for name, upload in request.files.items(multi=True):
            yield name
            yield upload.filename or ""


def nul_message() -> str:
    """What to tell whoever sent the NUL character."""
    return _("The text sent contains a character that is not allowed (NUL). "
             "Remove it and try again.")


def refuse_nul():
    """Answer 400 (in the API: reason code invalid_character) before a view sees a NUL."""
    if any(NUL in text for text in request_texts()):
        return render_error(400, "invalid_character", nul_message())
    return None


def init_app(app: Flask) -> None:
    """Check every request first."""
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_nul)

