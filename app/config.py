"""Configuration: defaults in code, secrets only from the environment or instance/."""
from __future__ import annotations

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


def from_environment(instance_path: str, environ: dict[str, str] | None = None) -> dict:
    """Build the configuration mapping for one app instance."""
    environ = dict(os.environ if environ is None else environ)
    env_name = environ.get("KAIKU_ENV", "production")
    https = environ.get("KAIKU_HTTPS") == "1"
    return {
        "KAIKU_ENV": env_name,
        "SECRET_KEY": secret_key(environ, instance_path, env_name),
        "SQLALCHEMY_DATABASE_URI": database_url(environ, instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "SIGNING_KEY_DIR": environ.get("SIGNING_KEY_DIR", str(Path(instance_path) / "signing-keys")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "HTTPS": https,  # behind HTTPS: Secure cookies and Strict-Transport-Security
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SECURE": https,
        # A box-office phone stays signed in for a season of scanning, offline days included.
        "REMEMBER_COOKIE_DURATION": timedelta(days=30),
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": "fi",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Helsinki",
        "PROXY_COUNT": int(environ.get("KAIKU_PROXY_COUNT", "0")),
        "SCAN_RATE_LIMIT": environ.get("KAIKU_SCAN_RATE_LIMIT", "300 per minute"),
        # Login posts per address, above the failure throttle: a ceiling on password hashing.
        "LOGIN_RATE_LIMIT": environ.get("KAIKU_LOGIN_RATE_LIMIT", "30 per minute"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_LOCK_SECONDS": 300,
        "LOGIN_FAILURE_WINDOW_SECONDS": 900,
    }
