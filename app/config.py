"""Configuration: defaults in code, secrets only from the environment or instance/."""
from __future__ import annotations

import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

LANGUAGES = ("fi", "sv", "en")
GENERATED_SECRET_ENVS = ("development", "testing")


class ConfigError(RuntimeError):
    """The environment does not give what a production instance needs."""


def database_url(environ: dict[str, str], instance_path: str) -> str:
    """The SQLAlchemy URL: DATABASE_URL, or SQLite in the instance folder."""
    url = environ.get("DATABASE_URL")
    if not url:
        # Built, not concatenated: '%', '?' or '#' in the folder's name stay part of the path.
        path = str(Path(instance_path) / "kaikukortti.db")
        return sa.engine.URL.create("sqlite", database=path).render_as_string(hide_password=False)
    # Hosting platforms hand out postgres:// URLs; psycopg 3 is the driver we ship.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def secret_key(environ: dict[str, str], instance_path: str, env_name: str) -> str:
    """SECRET_KEY from the environment; generated into instance/ only outside production."""
    key = environ.get("SECRET_KEY")
    if key:
        return key
    # Any other name (a typo, "staging") is treated as production: no key made up for it.
    if env_name not in GENERATED_SECRET_ENVS:
        raise ConfigError(f"SECRET_KEY must be set in the environment (KAIKU_ENV={env_name!r})")
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Created readable by the owner only from the first byte, and only once.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(32))
    return path.read_text().strip()


def trusted_proxy(environ: dict[str, str]) -> str | None:
    """KAIKU_TRUSTED_PROXY: the address the reverse proxy connects to waitress from, or None.

    HTTPS always means a proxy here (waitress has no TLS), so this one setting configures both
    waitress (`app.serve`: whose X-Forwarded-For and X-Forwarded-Proto to believe) and the app
    (Secure cookies, Strict-Transport-Security, https:// links). The settings it replaced are
    refused rather than ignored: ignoring them would quietly drop Secure or the client address.
    """
    for old in ("KAIKU_PROXY_COUNT", "KAIKU_HTTPS"):
        if old in environ:
            raise ConfigError(f"{old} is no longer read: behind a reverse proxy that terminates "
                              "HTTPS, set KAIKU_TRUSTED_PROXY to the address it connects from "
                              "(and start the server with `python -m app.serve`); without a "
                              f"proxy, unset {old}")
    value = environ.get("KAIKU_TRUSTED_PROXY", "").strip()
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ConfigError(f"KAIKU_TRUSTED_PROXY must be the proxy's IP address, such as 127.0.0.1 "
                          f"(one proxy, no names, no '*'); got {value!r}") from None


def positive_int(environ: dict[str, str], name: str, default: int) -> int:
    """A whole number of at least 1 from the environment, or a clear error at start-up."""
    text = environ.get(name, "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit() and int(text) >= 1):
        raise ConfigError(f"{name} must be a whole number of at least 1 (got {text!r})")
    return int(text)


def from_environment(instance_path: str, environ: dict[str, str] | None = None) -> dict:
    """Build the configuration mapping for one app instance."""
    environ = dict(os.environ if environ is None else environ)
    env_name = environ.get("KAIKU_ENV", "production")
    proxy = trusted_proxy(environ)
    https = proxy is not None
    remember_days = positive_int(environ, "KAIKU_REMEMBER_DAYS", 30)
    return {
        "KAIKU_ENV": env_name,
        "SECRET_KEY": secret_key(environ, instance_path, env_name),
        "SQLALCHEMY_DATABASE_URI": database_url(environ, instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SIGNING_KEY_DIR": environ.get("SIGNING_KEY_DIR", str(Path(instance_path) / "signing-keys")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "TRUSTED_PROXY": proxy,
        "HTTPS": https,  # behind the proxy's HTTPS: Secure cookies and Strict-Transport-Security
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": https,
        # Staff pages: a session ends after this long unused (app/auth/sessions.py).
        "IDLE_MINUTES": positive_int(environ, "KAIKU_IDLE_MINUTES", 60),
        # Only a box-office scanning device is remembered: it works offline for days.
        "REMEMBER_DAYS": remember_days,
        "REMEMBER_COOKIE_DURATION": timedelta(days=remember_days),
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "fi",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Helsinki",
        "SCAN_RATE_LIMIT": environ.get("KAIKU_SCAN_RATE_LIMIT", "300 per minute"),
        # Login posts per address, above the failure throttle: a ceiling on password hashing.
        "LOGIN_RATE_LIMIT": environ.get("KAIKU_LOGIN_RATE_LIMIT", "30 per minute"),
        "RATELIMIT_HEADERS_ENABLED": True,
        # Where the limits' counters live: the app's database, seen by every process.
        "RATELIMIT_STORAGE_URI": environ.get("KAIKU_RATELIMIT_STORAGE_URI", "kaiku-db://"),
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # Login throttling (README, "Login throttling"): failures are forgotten after the
        # window without a new one. Per account and address: a lock after LOGIN_MAX_FAILURES.
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCK_SECONDS": 300,
        "LOGIN_FAILURE_WINDOW_SECONDS": 900,
        # Per account from anywhere: after this many failures each attempt waits 1, 2, 4 … s.
        "LOGIN_DELAY_AFTER_FAILURES": 5,
        "LOGIN_MAX_DELAY_SECONDS": 60,
        # Per address over every account (password spraying): slowed the same way.
        "LOGIN_ADDRESS_MAX_FAILURES": 50,
    }
