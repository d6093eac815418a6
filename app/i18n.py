"""Language choice: the person's pick, then the browser's Accept-Language, then Finnish."""
from __future__ import annotations

from flask import Flask, request, session
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.config import LANGUAGES
from app.extensions import babel

LANGUAGE_NAMES = {"fi": "Suomeksi", "sv": "På svenska", "en": "In English"}
ROLE_NAMES = {
    "admin": _l("National administrator"),
    "coordinator": _l("Regional coordinator"),
    "issuer": _l("Card issuer"),
    "boxoffice": _l("Box office"),
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
                "role_names": ROLE_NAMES}
