"""Engine settings that the models cannot express: SQLite pragmas and write locks."""
from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from app.extensions import db
from app.files import ensure_private

_configured = False
# SQLite lets one writer in at a time and makes the others sleep and retry (busy_timeout, in
# steps of up to 100 ms). Writers of this process queue on this lock instead and go in the
# moment the previous one ends; other processes still meet SQLite's own lock.
_sqlite_writer = threading.Lock()
_WRITER_WAIT_SECONDS = 10
_HOLDS_WRITER = "kaiku_holds_sqlite_writer"
log = logging.getLogger(__name__)


def create_sqlite_file(url: str | sa.engine.URL) -> None:
    """Create a SQLite database file 0600 before SQLite does (it would make it 0644), and
    refuse one that is a symbolic link. Other databases are left to their server."""
    url = sa.engine.make_url(url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return
    if url.database.startswith("file:"):  # a URI the operator wrote: theirs to make
        return
    path = Path(url.database)
    if not path.parent.is_dir():
        # A folder that is not there is a mistyped DATABASE_URL to report (the health check
        # answers 503), not one to make: a new empty register would hide the real one.
        return
    ensure_private(path)


def configure_engines() -> None:
    """Install the SQLite connection hooks once per process."""
    global _configured
    if _configured:
        return
    sa.event.listen(Engine, "connect", _on_connect)
    sa.event.listen(Engine, "begin", _on_begin)
    sa.event.listen(Engine, "commit", _release_writer)
    sa.event.listen(Engine, "rollback", _release_writer)
    sa.event.listen(sa.pool.Pool, "checkin", _release_writer_on_checkin)
    _configured = True


def _on_connect(dbapi_connection, _record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # We issue BEGIN ourselves (below) so that a writer can ask for BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _on_begin(conn) -> None:
    if conn.dialect.name != "sqlite":
        return
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    if mode == "IMMEDIATE" and not conn.info.get(_HOLDS_WRITER):
        if _sqlite_writer.acquire(timeout=_WRITER_WAIT_SECONDS):
            conn.info[_HOLDS_WRITER] = True
        else:  # SQLite's own lock still guards the write; only the queueing is lost
            log.warning("waited %s s for this process's SQLite writer lock", _WRITER_WAIT_SECONDS)
    try:
        conn.exec_driver_sql(f"BEGIN {mode}")
    except Exception:
        _release_writer(conn)
        raise


def _release_writer(conn) -> None:
    if conn.info.pop(_HOLDS_WRITER, False):
        _sqlite_writer.release()


def _release_writer_on_checkin(_dbapi_connection, record) -> None:
    """A connection back in the pool holds no transaction: never keep the lock with it."""
    if record is not None and record.info.pop(_HOLDS_WRITER, False):
        _sqlite_writer.release()


def begin_write() -> None:
    """Start the session's transaction as a writer.

    On SQLite this takes the database write lock up front (BEGIN IMMEDIATE), so a
    read-then-write transaction cannot lose a race; on PostgreSQL the caller locks rows.
    A read-only transaction already open (e.g. the one that loaded the user) is ended first.
    """
    session = db.session()
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("begin_write() called with unsaved changes in the session")
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})


def database_unreachable(exc: Exception) -> bool:
    """Whether a database error means "not there right now" rather than a bug in a query."""
    if isinstance(exc, sa.exc.DBAPIError):
        return exc.connection_invalidated or isinstance(
            exc, sa.exc.OperationalError | sa.exc.InterfaceError)
    return isinstance(exc, sa.exc.TimeoutError)  # no pooled connection came free in time


def lost_database(exc: BaseException | None) -> BaseException | None:
    """The error, or one it was raised from or while handling, that means the database is away."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if database_unreachable(exc):  # e.g. "the session was rolled back" after it died
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def insert_missing(model: type, rows: list[dict]) -> None:
    """Insert rows whose primary or unique key is not taken yet; leave existing ones alone."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    db.session.execute(insert(model).values(rows).on_conflict_do_nothing())


def render_item(type_: str, obj, autogen_context) -> str | bool:
    """Write our UTC column type into migrations as the plain type it stores."""
    from app.models import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False
