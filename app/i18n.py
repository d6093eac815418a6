"""Language choice: the person's pick, then the browser's Accept-Language, then Finnish."""
from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date, format_datetime, format_time
from flask import Flask, request, session
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.cardcodes import format_number
from app.config import LANGUAGES
from app.extensions import babel
from app.rules import TZ, local_date

# Dates and times are written as in Finland, in every language: Finland-Swedish writes
# 2.12.2026 18.05, not the 2026-12-02 18:05 of Sweden; English 02/12/2026, 18.05.
# Every page uses the helpers below, never a format of its own.
DATE_LOCALES = {"fi": "fi_FI", "sv": "sv_FI", "en": "en_FI"}
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
    app.add_template_filter(local_datetime_text, "datetime_fi")
    app.add_template_filter(local_weekday_text, "weekday_fi")


def date_locale() -> str:
    """The Babel locale dates and times are written in on this page."""
    return DATE_LOCALES.get(str(get_locale() or "fi"), "fi_FI")


def local_date_text(value: date | datetime) -> str:
    """A date, or a moment as its Finnish local date, in the page's one short date format."""
    if isinstance(value, datetime):
        value = local_date(value)
    return format_date(value, "short", locale=date_locale())


def local_datetime_text(value: datetime) -> str:
    """A moment in Finnish time, in the page's one short date-and-time format."""
    return format_datetime(value, "short", tzinfo=TZ, locale=date_locale())


def local_time_text(value: datetime) -> str:
    """A moment's time of day in Finnish time, in the page's one short time format ("18.05")."""
    return format_time(value, "short", tzinfo=TZ, locale=date_locale())


def local_weekday_text(value: datetime) -> str:
    """The short weekday name of a moment in Finnish time ("ke", "ons", "Wed")."""
    return format_datetime(value, "EEE", tzinfo=TZ, locale=date_locale())
