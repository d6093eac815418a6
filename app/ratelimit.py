"""Request limits counted in the database, so that every server process shares them.

Flask-Limiter keeps its counters in a `limits` storage named by `RATELIMIT_STORAGE_URI`.
`kaiku-db://` (the default) is this one: fixed-window counters in the table
`rate_limit_counters` of the app's own database. Each hit is one upsert-increment (INSERT …
ON CONFLICT DO UPDATE … RETURNING, on SQLite and PostgreSQL alike) in a short transaction on a
connection of its own, never inside the request's session transaction; a counter whose
window has ended starts again from the hit. The count the hit returned answers the
X-RateLimit headers of the same request without another query. Once a minute a process
deletes the counters whose window has ended, so the table holds only live windows.

Other storages stay one setting away: `memory://` (each process its own counters) or
`redis://host:6379` (with the `redis` package installed).
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from flask import g, has_request_context
from limits.storage import Storage

from app.extensions import db

SCHEME = "kaiku-db"
MAX_KEY = 255
_CACHE = "_kaiku_rate_limit_counts"


def _counters() -> sa.Table:
    from app.models import RateLimitCounter

    return RateLimitCounter.__table__


# One statement, the same on SQLite (3.35+) and PostgreSQL, built once: composing it with the
# SQLAlchemy expression API on every hit cost more than running it.
_UPSERT = sa.text("""
INSERT INTO rate_limit_counters (key, hits, expires_at) VALUES (:key, :amount, :expires)
ON CONFLICT (key) DO UPDATE SET
  hits = CASE WHEN rate_limit_counters.expires_at <= :now THEN excluded.hits
              ELSE rate_limit_counters.hits + excluded.hits END,
  expires_at = CASE WHEN rate_limit_counters.expires_at <= :now THEN excluded.expires_at
                    ELSE rate_limit_counters.expires_at END
RETURNING hits, expires_at""")
_SWEEP = sa.text("DELETE FROM rate_limit_counters WHERE expires_at <= :now")


def _key(key: str) -> str:
    # Flask-Limiter's keys hold the limit, the scope and the client's key; a longer one (an
    # odd key function) is hashed rather than refused by the column.
    return key if len(key) <= MAX_KEY else "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class DatabaseStorage(Storage):
    """`limits` storage for the fixed-window strategy, in the app's database."""

    STORAGE_SCHEME = [SCHEME]  # noqa: RUF012 (the base class declares it so)
    SWEEP_SECONDS = 60.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 **options: float | str | bool) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.next_sweep = 0.0

    @property
    def base_exceptions(self) -> type[Exception]:
        return sa.exc.SQLAlchemyError

    @contextmanager
    def _transaction(self) -> Iterator[sa.Connection]:
        """A short write transaction on a pooled connection of its own.

        SQLite: BEGIN IMMEDIATE, queued behind this process's other writers (app/database.py).
        PostgreSQL: the commit does not wait for the WAL to reach the disk; a counter lost in a
        crash costs nothing.
        """
        with db.engine.connect() as conn:
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                yield conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Count `amount` hits in the key's window (a new window if none is running)."""
        key, now = _key(key), time.time()
        with self._transaction() as conn:
            hits, expires_at = conn.execute(_UPSERT, {
                "key": key, "amount": amount, "now": now, "expires": now + expiry}).one()
            if now >= self.next_sweep:
                self.next_sweep = now + self.SWEEP_SECONDS
                conn.execute(_SWEEP, {"now": now})
        self._remember(key, hits, expires_at)
        return hits

    def _window(self, key: str) -> tuple[int, float]:
        """(hits, end of the window) of a running window; (0, now) when none runs."""
        key, now = _key(key), time.time()
        cached = g.get(_CACHE, {}).get(key) if has_request_context() else None
        if cached and cached[1] > now:
            return cached
        table = _counters()
        with db.engine.connect() as conn:
            row = conn.execute(sa.select(table.c.hits, table.c.expires_at).where(
                table.c.key == key, table.c.expires_at > now)).one_or_none()
        return (row.hits, row.expires_at) if row else (0, now)

    def get(self, key: str) -> int:
        """Hits in the key's running window."""
        return self._window(key)[0]

    def get_expiry(self, key: str) -> float:
        """When the key's window ends (seconds since the epoch)."""
        return self._window(key)[1]

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            with db.engine.connect() as conn:
                conn.execute(sa.select(1))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        """Forget every counter."""
        self._forget()
        with self._transaction() as conn:
            return conn.execute(sa.delete(_counters())).rowcount

    def clear(self, key: str) -> None:
        """Forget one key's counter."""
        self._forget()
        with self._transaction() as conn:
            conn.execute(sa.delete(_counters()).where(_counters().c.key == _key(key)))

    @staticmethod
    def _remember(key: str, hits: int, expires_at: float) -> None:
        # Flask-Limiter reads the window back for the headers of this very request.
        if has_request_context():
            g.setdefault(_CACHE, {})[key] = (hits, expires_at)

    @staticmethod
    def _forget() -> None:
        if has_request_context():
            g.pop(_CACHE, None)
