"""Shared fixtures: an app on SQLite (a file per test) or on a throwaway PostgreSQL cluster."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from tests.support.servers import OPERATOR_SETTINGS  # before the app is imported

_instance = tempfile.mkdtemp(prefix="kaiku-instance-")
os.environ.update(KAIKU_ENV="testing", KAIKU_INSTANCE=_instance,
                  SECRET_KEY="tests-only-secret-key")
for _name in ("DATABASE_URL", *OPERATOR_SETTINGS):  # the tests set these themselves
    os.environ.pop(_name, None)

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from tests.support import factories  # noqa: E402

ON_POSTGRES = os.environ.get("KAIKU_TEST_DB") == "postgresql"


@pytest.fixture(scope="session")
def postgres_url():
    """The URL of a PostgreSQL cluster started for this run, or None on SQLite runs."""
    if not ON_POSTGRES:
        yield None
        return
    from tests.support import pgcluster

    cluster = pgcluster.start(os.environ.get("KAIKU_PG_BIN", "/usr/lib/postgresql/15/bin"))
    try:
        yield cluster.url
    finally:
        cluster.stop()


@pytest.fixture
def database_url(postgres_url, tmp_path):
    """Where this test's database lives."""
    return postgres_url or f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file with the empty schema, built once: each test gets a copy of it."""
    import app.models  # noqa: F401 (the models fill the metadata)

    path = tmp_path_factory.mktemp("schema") / "template.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        db.metadata.create_all(engine)
    finally:
        engine.dispose()
    return path


@pytest.fixture
def app(database_url, tmp_path, monkeypatch, request):
    """An application with its own instance folder and an empty schema built from the models."""
    monkeypatch.setenv("KAIKU_INSTANCE", str(tmp_path / "instance"))
    if not ON_POSTGRES:
        # Copying the empty schema costs a millisecond; building it costs a tenth of a second.
        shutil.copyfile(request.getfixturevalue("sqlite_template"), tmp_path / "test.db")
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SIGNING_KEY_DIR": str(tmp_path / "keys"),
        "LOGIN_LOCK_SECONDS": 60,
    })
    with app.app_context():
        if ON_POSTGRES:
            empty_postgres_schema()
        yield app
        db.session.remove()
        db.engine.dispose()


# The shape of the schema on the test cluster (columns, indexes, constraints), as one digest.
SCHEMA_DIGEST = sa.text("""
    SELECT md5(coalesce(string_agg(part, '|' ORDER BY part), '')) FROM (
      SELECT 'c ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
             || ' ' || coalesce(column_default, '')
        FROM information_schema.columns WHERE table_schema = 'public'
      UNION ALL SELECT 'i ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
      UNION ALL SELECT 'k ' || conrelid::regclass || ' ' || pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace
    ) AS parts(part)""")
_clean: dict[str, str] = {}  # the digest right after the models built the schema, and its emptying


def empty_postgres_schema() -> None:
    """Empty tables of the models' schema: emptied when the schema is intact, else rebuilt.

    Deleting the few rows a test made and restarting the ids takes a tenth of the time of
    dropping and creating every table (TRUNCATE is slower still on small tables). A test that
    changed the schema (migrations, a dropped table) leaves another digest behind, and the
    next test gets the schema built afresh.
    """
    with db.engine.begin() as conn:
        if _clean and conn.execute(SCHEMA_DIGEST).scalar_one() == _clean["digest"]:
            conn.exec_driver_sql(_clean["empty"])
            return
    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    db.create_all()
    with db.engine.connect() as conn:
        quote = conn.dialect.identifier_preparer.quote
        sequences = conn.execute(sa.text(
            "SELECT sequence_name FROM information_schema.sequences"
            " WHERE sequence_schema = 'public'")).scalars()
        _clean["empty"] = "; ".join(
            [f"DELETE FROM {quote(t.name)}"  # noqa: S608 (the models' own table names)
             for t in reversed(db.metadata.sorted_tables)]
            + [f"ALTER SEQUENCE {quote(name)} RESTART" for name in sequences])
        _clean["digest"] = conn.execute(SCHEMA_DIGEST).scalar_one()


class ServerLikeClient(FlaskClient):
    """Each request gets its own application context, `g` and database session, as on a server.

    Without this, requests would share the test's pushed context: Flask-Login's cached user
    and Flask-Babel's cached language would outlive a request, and so would session state.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    """A test client; CSRF stays on, so tests send tokens like a browser does."""
    app.test_client_class = ServerLikeClient
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner for flask commands."""
    return app.test_cli_runner()


@pytest.fixture
def world(app):
    """Two regions (one in the national network) with places, events and staff."""
    return factories.World.build()


def csrf_token(client, path: str = "/login") -> str:
    """Read the CSRF token from a page's meta tag, as the PWA does."""
    html = client.get(path, follow_redirects=True).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


class Auth:
    """Log staff in and out through the real login form."""

    def __init__(self, client) -> None:
        self.client = client

    def login(self, username: str, password: str = factories.PASSWORD, **kwargs):
        """Post the login form with its CSRF token."""
        token = csrf_token(self.client)
        return self.client.post("/login", data={"username": username, "password": password,
                                                "csrf_token": token}, **kwargs)

    def logout(self):
        """Post the logout form."""
        return self.client.post("/logout", data={"csrf_token": csrf_token(self.client, "/")})


@pytest.fixture
def auth(client) -> Auth:
    """The login helper."""
    return Auth(client)


@pytest.fixture
def english(client):
    """Pages in English, so that texts compare to their source."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def today() -> date:
    """Today in Finland."""
    from app.rules import TZ
    return datetime.now(TZ).date()


@pytest.fixture
def now() -> datetime:
    """Now, aware."""
    return datetime.now(UTC)


def days(n: int) -> timedelta:
    """A readable time delta."""
    return timedelta(days=n)


__all__ = ["Auth", "csrf_token", "days", "sa"]
