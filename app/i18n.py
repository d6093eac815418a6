"""Language choice: the person's pick, then the browser's Accept-Language, then Finnish."""
from __future__ import annotations

from datetime import date, datetime

from flask import Flask, request, session
from flask_babel import format_date, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.cardcodes import format_number
from app.config import LANGUAGES
from app.extensions import babel
from app.rules import local_date

LANGUAGE_NAMES = {"fi": "Suomeksi", "sv": "På svenska", "en": "In English"}
ROLE_NAMES = {
    "admin": _l("National administrator"),
    "coordinator": _l("Regional coordinator"),
    "issuer": _l("Card issuer"),
    "boxoffice": _l("Box office"),
}


STATUS_NAMES = {
    "unissued": _l("Not registered yet"), "active": _l("Active"),
    "deactivated": _l("Deactivated"), "lost": _l("Lost"), "replaced": _l("Replaced"),
}
KIND_NAMES = {"personal": _l("Personal card"), "community": _l("Community card")}
# What a card is today (app.rules.card_standing): an active card past its date has expired.
STANDING_NAMES = {
    "valid": _l("Valid"), "expired": _l("Expired"), "not_issued": _l("Not registered yet"),
    "deactivated": _l("Deactivated"), "lost": _l("Lost"), "replaced": _l("Replaced"),
}


def select_locale() -> str:
    """The language of this request."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if current_user and current_user.is_authenticated and current_user.locale in LANGUAGES:
        return current_user.locale
    return request.accept_languages.best_match(LANGUAGES) or "fi"


def init_app(app: Flask) -> None:
    """Bind Flask-Babel and give templates the current language."""
    babel.init_app(app, locale_selector=select_locale)

    @app.context_processor
    def language_context() -> dict:
        return {"current_lang": str(get_locale() or "fi"), "language_names": LANGUAGE_NAMES,
                "role_names": ROLE_NAMES, "status_names": STATUS_NAMES, "kind_names": KIND_NAMES,
                "standing_names": STANDING_NAMES}

    app.add_template_filter(format_number, "card_number")
    app.add_template_filter(local_date_text, "date_fi")


def local_date_text(value: date | datetime) -> str:
    """A date, or a moment as its Finnish local date, written the page's way."""
    if isinstance(value, datetime):
        value = local_date(value)
    return format_date(value, "short")
