"""Security headers on every answer: a strict Content-Security-Policy and its companions."""
from __future__ import annotations

from flask import Flask, Response, current_app

# What the pages load, and nothing more (no inline script or style anywhere in templates/):
PAGE_POLICY = "; ".join([
    "default-src 'none'",
    # ES modules from static/; the scanner compiles zxing-wasm's .wasm (no eval of JavaScript).
    "script-src 'self' 'wasm-unsafe-eval'",
    "style-src 'self'",
    "img-src 'self'",  # icons; QR codes and charts are inline SVG elements, not images
    "connect-src 'self'",  # the JSON API, i18n.json, the .wasm, the service workers' caching
    "worker-src 'self'",  # the service workers of /scan and /c/
    "manifest-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])
# A browser shows a PDF through a plugin in a page it makes up with inline styles; Chromium
# has applied the document's object-src and style-src to that page (crbug.com/271452), which
# leaves an inline card PDF blocked or blank. A PDF runs no script of ours.
PDF_POLICY = "; ".join([
    "default-src 'none'",
    "object-src 'self'",
    "style-src 'unsafe-inline'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])
HSTS_SECONDS = 365 * 24 * 3600


def policy_for(response: Response) -> str:
    """The Content-Security-Policy for this answer."""
    return PDF_POLICY if response.mimetype == "application/pdf" else PAGE_POLICY


def add_headers(response: Response) -> Response:
    """Set the security headers a view has not set itself."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", policy_for(response))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for browsers without CSP 2
    # Same-origin requests keep their Referer: Flask-WTF checks it on HTTPS form posts.
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
    if current_app.config["HTTPS"]:
        # Not includeSubDomains: the host's other names are not this application's to decide.
        headers.setdefault("Strict-Transport-Security", f"max-age={HSTS_SECONDS}")
    return response


def init_app(app: Flask) -> None:
    """Add the headers to every answer, error pages and static files included."""
    app.after_request(add_headers)
