"""Configuration: secrets only from the environment or instance/, the database URL, SQLite's mode."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest
import sqlalchemy as sa
from waitress.adjustments import Adjustments

from app import config, create_app, serve
from app.config import ConfigError
from app.extensions import db
from app.models import Municipality
from tests.conftest import ON_POSTGRES
from tests.support.servers import ROOT

sqlite_only = pytest.mark.skipif(ON_POSTGRES, reason="a property of SQLite connections")


# SECRET_KEY


@pytest.mark.parametrize("environ", [
    {},
    {"KAIKU_ENV": "production"},
    {"KAIKU_ENV": "production", "SECRET_KEY": ""},
    {"KAIKU_ENV": "staging"},
    {"KAIKU_ENV": "prod"},
    {"KAIKU_ENV": ""},
])
def test_production_without_secret_key_refuses_to_start(tmp_path, environ):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        config.from_environment(str(tmp_path), environ)
    assert not (tmp_path / "secret_key").exists()


def test_create_app_refuses_production_without_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("KAIKU_ENV", "production")
    monkeypatch.setenv("KAIKU_INSTANCE", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        create_app()


@pytest.mark.parametrize("env_name", ["production", "development", "testing"])
def test_secret_key_from_the_environment_is_used_as_given(tmp_path, env_name):
    settings = config.from_environment(str(tmp_path), {"KAIKU_ENV": env_name,
                                                       "SECRET_KEY": "from-the-environment"})
    assert settings["SECRET_KEY"] == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("env_name", ["development", "testing"])
def test_development_generates_a_secret_key_into_instance_once_and_reuses_it(tmp_path,
                                                                             env_name):
    environ = {"KAIKU_ENV": env_name}
    first = config.from_environment(str(tmp_path), environ)["SECRET_KEY"]
    again = config.from_environment(str(tmp_path), environ)["SECRET_KEY"]
    elsewhere = config.from_environment(str(tmp_path / "other"), environ)["SECRET_KEY"]
    assert first == again == (tmp_path / "secret_key").read_text().strip()
    assert len(first) >= 64
    assert elsewhere != first


def test_generated_secret_key_is_readable_by_its_owner_only(tmp_path):
    config.from_environment(str(tmp_path), {"KAIKU_ENV": "development"})
    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode == 0o600


# DATABASE_URL


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://kaiku:pw@db.example:5432/kaiku", "postgresql+psycopg://kaiku:pw@db.example:5432/kaiku"),
    ("postgresql://kaiku@db.example/kaiku", "postgresql+psycopg://kaiku@db.example/kaiku"),
    ("postgresql+psycopg://kaiku@db.example/kaiku", "postgresql+psycopg://kaiku@db.example/kaiku"),
    ("sqlite:////srv/kaiku/kaiku.db", "sqlite:////srv/kaiku/kaiku.db"),
])
def test_database_url_comes_from_the_environment(tmp_path, given, expected):
    settings = config.from_environment(str(tmp_path), {"KAIKU_ENV": "testing",
                                                       "DATABASE_URL": given})
    assert settings["SQLALCHEMY_DATABASE_URI"] == expected


def test_without_database_url_sqlite_lives_in_the_instance_folder(tmp_path):
    settings = config.from_environment(str(tmp_path), {"KAIKU_ENV": "testing"})
    assert settings["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'kaikukortti.db'}"


# Behind a reverse proxy: KAIKU_TRUSTED_PROXY configures waitress and the app together


def test_the_trusted_proxy_makes_waitress_believe_its_forwarded_headers_and_nobody_elses():
    assert serve.waitress_options({"KAIKU_TRUSTED_PROXY": "10.0.0.2"}) == {
        "trusted_proxy": "10.0.0.2", "trusted_proxy_count": 1,
        "trusted_proxy_headers": {"x-forwarded-for", "x-forwarded-proto"},
        "clear_untrusted_proxy_headers": True}
    # Without a proxy waitress trusts no one and drops every forwarded header.
    assert serve.waitress_options({}) == {"clear_untrusted_proxy_headers": True}


def test_waitress_accepts_the_options_the_launcher_gives_it():
    adjustments = Adjustments(**serve.waitress_options({"KAIKU_TRUSTED_PROXY": "::1"}))
    assert adjustments.trusted_proxy == "::1"
    assert adjustments.trusted_proxy_headers == {"x-forwarded-for", "x-forwarded-proto"}


@pytest.mark.parametrize(("proxy", "trusted"), [(None, None), ("", None), ("127.0.0.2", "127.0.0.2"),
                                               (" 10.0.0.2 ", "10.0.0.2"), ("0:0::1", "::1")])
def test_behind_the_trusted_proxy_the_app_is_https(tmp_path, proxy, trusted):
    environ = {"KAIKU_ENV": "testing", "SECRET_KEY": "s"}
    if proxy is not None:
        environ["KAIKU_TRUSTED_PROXY"] = proxy
    settings = config.from_environment(str(tmp_path), environ)
    https = trusted is not None
    assert settings["TRUSTED_PROXY"] == trusted  # as waitress will compare it with REMOTE_ADDR
    assert settings["HTTPS"] is settings["SESSION_COOKIE_SECURE"] is \
        settings["REMEMBER_COOKIE_SECURE"] is https
    assert settings["PREFERRED_URL_SCHEME"] == ("https" if https else "http")


@pytest.mark.parametrize("proxy", ["*", "proxy.example.org", "10.0.0.0/8", "10.0.0.2,10.0.0.3"])
def test_a_trusted_proxy_that_is_not_one_address_is_refused(tmp_path, proxy):
    with pytest.raises(ConfigError, match="KAIKU_TRUSTED_PROXY must be the proxy's IP address"):
        config.from_environment(str(tmp_path), {"KAIKU_ENV": "testing", "SECRET_KEY": "s",
                                                "KAIKU_TRUSTED_PROXY": proxy})


@pytest.mark.parametrize("old", ["KAIKU_PROXY_COUNT", "KAIKU_HTTPS"])
def test_the_settings_the_trusted_proxy_replaced_are_refused_not_ignored(tmp_path, old):
    with pytest.raises(ConfigError, match=f"{old} is no longer read.*KAIKU_TRUSTED_PROXY"):
        config.from_environment(str(tmp_path), {"KAIKU_ENV": "testing", "SECRET_KEY": "s",
                                                old: "1"})
    started = subprocess.run([sys.executable, "-m", "app.serve", "--port", "0"],
                             cwd=ROOT, env={**os.environ, old: "1"}, capture_output=True,
                             text=True, timeout=60)
    assert started.returncode == 1
    assert f"app.serve: {old} is no longer read" in started.stderr


# Cookies


@pytest.mark.parametrize(("proxy", "secure"), [(None, False), ("127.0.0.1", True)])
def test_session_cookie_is_http_only_same_site_and_secure_behind_the_proxy(tmp_path, proxy,
                                                                           secure):
    environ = {"KAIKU_ENV": "production", "SECRET_KEY": "s"}
    if proxy:
        environ["KAIKU_TRUSTED_PROXY"] = proxy
    settings = config.from_environment(str(tmp_path), environ)
    assert settings["SESSION_COOKIE_HTTPONLY"] is True
    assert settings["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert settings["SESSION_COOKIE_SECURE"] is secure


def test_session_cookie_sent_at_login_page_is_http_only(client):
    client.get("/login")
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert cookie.http_only
    assert cookie.same_site == "Lax"


# SQLite


@sqlite_only
def test_sqlite_runs_in_wal_mode(app):
    assert db.session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


@sqlite_only
def test_sqlite_enforces_foreign_keys(app):
    assert db.session.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1


def test_a_row_pointing_at_a_missing_parent_is_refused(app):
    db.session.add(Municipality(region_id=999, name="Ei aluetta"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
