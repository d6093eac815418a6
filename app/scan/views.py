"""Pages of the scanner PWA: the app shell, its manifest and its service worker (DESIGN §6)."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from flask import current_app, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from app.auth import public, roles
from app.scan import bp

SCANNING_ROLES = ("boxoffice", "coordinator", "admin")
SCOPE = "/scan"
THEME_COLOUR = "#5b2a86"
# Besides every module in static/scan/, what the app shell needs to open without a network.
SHELL_FILES = ("css/app.css", "css/scan.css", "scan/i18n.json",
               "scan/icon-192.png", "scan/icon-512.png",
               "vendor/noble-ed25519/index.js",
               "vendor/zxing-wasm/es/reader/index.js", "vendor/zxing-wasm/es/share.js",
               "vendor/zxing-wasm/reader/zxing_reader.wasm")


@bp.route(SCOPE)
@roles(*SCANNING_ROLES)
def scanner():
    """The scanner app shell; the screens are drawn by static/scan/app.js."""
    return render_template("scan/index.html", scope=SCOPE,
                           wasm=url_for("static", filename="vendor/zxing-wasm/reader/zxing_reader.wasm"))


@bp.route(f"{SCOPE}/manifest.webmanifest")
@public
def manifest():
    """The web app manifest (public: browsers fetch it without cookies)."""
    body = {
        "id": SCOPE,
        "name": f"{_('Kaikukortti')} – {_('Box office')}",
        "short_name": _("Box office"),
        "lang": str(get_locale()),
        "start_url": SCOPE,
        "scope": SCOPE,
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOUR,
        "background_color": THEME_COLOUR,
        "icons": [
            _icon(192, "any"), _icon(512, "any"), _icon(512, "maskable"),
        ],
    }
    response = current_app.json.response(body)
    response.mimetype = "application/manifest+json"
    return response


@bp.route(f"{SCOPE}/sw.js")
@public
def service_worker():
    """The service worker that keeps the app shell for offline use; its scope is /scan."""
    files = shell_files(Path(current_app.static_folder))
    body = render_template("scan/sw.js", scope=SCOPE, page=SCOPE,
                           manifest=url_for("scan.manifest"),
                           assets=[url_for("static", filename=name) for name in files],
                           version=_version(Path(current_app.static_folder), files))
    # The worker lives at /scan/sw.js but must also control /scan itself, which is
    # outside its default scope /scan/.
    return body, 200, {"Content-Type": "text/javascript; charset=utf-8",
                       "Cache-Control": "no-cache", "Service-Worker-Allowed": SCOPE}


def shell_files(static: Path) -> list[str]:
    """Static files of the app shell, relative to the static folder."""
    modules = sorted(f"scan/{path.name}" for path in (static / "scan").glob("*.js"))
    return [*modules, *SHELL_FILES]


def _icon(size: int, purpose: str) -> dict:
    return {"src": url_for("static", filename=f"scan/icon-{size}.png"),
            "sizes": f"{size}x{size}", "type": "image/png", "purpose": purpose}


def _version(static: Path, files: list[str]) -> str:
    """A fingerprint of the shell: any change makes browsers install a new worker."""
    stamps = tuple((name, (static / name).stat().st_mtime_ns, (static / name).stat().st_size)
                   for name in files)
    return _digest(static, stamps)


@lru_cache(maxsize=8)
def _digest(static: Path, stamps: tuple) -> str:
    digest = hashlib.sha256()
    for name, *_stamp in stamps:
        digest.update(name.encode())
        digest.update((static / name).read_bytes())
    return digest.hexdigest()[:12]
