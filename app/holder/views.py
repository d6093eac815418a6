"""Views of the digital card: the page behind the private link, its manifest, its service worker."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from flask import abort, current_app, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from app.auth import public
from app.cardcodes import format_number
from app.cards.service import qr_payload
from app.holder import bp, service
from app.i18n import local_date_text
from app.models import Card
from app.printing.qr import qr_svg
from app.rules import local_date

# What the service worker keeps for offline use besides the card page and its manifest.
OFFLINE_ASSETS = ("css/app.css", "css/holder.css", "holder/register.js", "holder/live.js",
                  "holder/icon-192.png", "holder/icon-512.png")
THEME_COLOUR = "#5b2a86"


@bp.after_request
def private_link_headers(response):
    """Keep the private link out of referrers, shared caches and search engines."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers.setdefault("Cache-Control", "private, no-cache")
    return response


@bp.route("/c/sw.js")
@public
def service_worker():
    """The service worker that keeps opened cards available offline (scope /c/)."""
    assets = [url_for("static", filename=name) for name in OFFLINE_ASSETS]
    body = render_template("holder/sw.js", assets=assets, version=_assets_version())
    return body, 200, {"Content-Type": "text/javascript; charset=utf-8",
                       "Cache-Control": "no-cache"}


@bp.route("/c/<token>")
@public
def card(token: str):
    """The holder's digital card: the QR to show at the door and the card's facts."""
    found = service.card_for_token(token)
    if found is None:
        return not_in_use()
    now = datetime.now(UTC)
    state = service.card_state(found, local_date(now))
    label = _("QR code of Kaikukortti %(number)s", number=format_number(found.number))
    return render_template(
        "holder/card.html", card=found, token=token, state=state,
        number=format_number(found.number),
        qr=qr_svg(qr_payload(found), label) if state == "valid" else None,
        valid_until=local_date_text(found.valid_until),
        region=found.region.name(str(get_locale())),
        uses=service.uses_this_year(found, now),
        updated=local_date_text(now))


@bp.route("/c/<token>/manifest.webmanifest")
@public
def manifest(token: str):
    """The web app manifest that lets the holder add this card to the home screen."""
    _card_or_404(token)
    start = url_for("holder.card", token=token)
    body = {
        "id": start,
        "name": _("Kaikukortti"),
        "short_name": _("Kaikukortti"),
        "description": _("Your Kaikukortti to show at the door."),
        "lang": str(get_locale()),
        "start_url": start,
        "scope": start,
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOUR,
        "background_color": "#ffffff",
        "icons": [
            {"src": url_for("static", filename="holder/icon-192.png"), "sizes": "192x192",
             "type": "image/png", "purpose": "any"},
            {"src": url_for("static", filename="holder/icon-512.png"), "sizes": "512x512",
             "type": "image/png", "purpose": "any"},
            {"src": url_for("static", filename="holder/icon-512.png"), "sizes": "512x512",
             "type": "image/png", "purpose": "maskable"},
        ],
    }
    response = current_app.json.response(body)
    response.mimetype = "application/manifest+json"
    return response


@bp.route("/c/")
@bp.route("/c/<token>/<path:rest>")
@public
def not_in_use(token: str = "", rest: str = ""):
    """Any link under /c/ that opens no card: one holder's page, the same whatever the cause."""
    body = render_template("holder/not_in_use.html", state="not_in_use")
    return body, 404, {"Cache-Control": "no-store"}


def _card_or_404(token: str) -> Card:
    """The card of the link, or the plain 404 page that says nothing about cards."""
    found = service.card_for_token(token)
    if found is None:
        abort(404)
    return found


def _assets_version() -> str:
    """A fingerprint of the offline assets: a change makes a new service worker re-cache them."""
    digest = hashlib.sha256()
    static = Path(current_app.static_folder)
    for name in OFFLINE_ASSETS:
        digest.update((static / name).read_bytes())
    return digest.hexdigest()[:12]
