"""Signing in, with throttling shared by every process through the database."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from werkzeug.security import check_password_hash, generate_password_hash

from app.database import begin_write, insert_missing
from app.extensions import db
from app.models import LoginThrottle, User, utcnow


class LoginThrottled(Exception):
    """Too many failures: the account or the address must wait until `until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__("login throttled")
        self.until = until


def throttle_keys(username: str, address: str | None, secret: str) -> list[str]:
    """Throttle keys for the account and for the (hashed, never stored plain) address."""
    keys = ["user:" + username.strip().lower()[:64]]
    if address:
        digest = hashlib.sha256((secret + address).encode()).hexdigest()[:32]
        keys.append("addr:" + digest)
    return keys


def authenticate(username: str, password: str, address: str | None, *, secret: str,
                 max_failures: int, lock_seconds: int,
                 window_seconds: int = 900) -> User | None:
    """The active account these credentials open, or None; raises LoginThrottled.

    Failures older than `window_seconds` are forgotten, so occasional typos spread over
    days never add up to a lock.
    """
    if "\x00" in username:  # no account is named so, and PostgreSQL text cannot hold it
        _password_matches(None, password)
        return None
    begin_write()
    now = utcnow()
    keys = throttle_keys(username, address, secret)
    rows = _throttle_rows(keys, now)
    locked = [r.locked_until for r in rows.values() if r.locked_until and r.locked_until > now]
    if locked:
        db.session.commit()
        raise LoginThrottled(max(locked))
    user = db.session.scalar(sa.select(User).where(User.username == username.strip()))
    if _password_matches(user, password) and user.active:
        rows[keys[0]].failures = 0
        rows[keys[0]].locked_until = None
        user.last_login_at = now
        db.session.commit()
        return user
    for row in rows.values():
        if row.updated_at < now - timedelta(seconds=window_seconds):
            row.failures = 0
        row.failures += 1
        row.updated_at = now
        if row.failures >= max_failures:
            row.failures = 0
            row.locked_until = now + timedelta(seconds=lock_seconds)
    db.session.commit()
    return None


@cache
def _dummy_hash() -> str:
    return generate_password_hash("not a password of anyone")


def _password_matches(user: User | None, password: str) -> bool:
    # Hash even for unknown accounts, so the answer time does not tell which names exist.
    if user is None:
        check_password_hash(_dummy_hash(), password)
        return False
    return user.check_password(password)


def _throttle_rows(keys: list[str], now: datetime) -> dict[str, LoginThrottle]:
    # Insert-or-keep, then lock: two first failures at once must not both insert the row.
    insert_missing(LoginThrottle, [{"key": k, "failures": 0, "updated_at": now} for k in keys])
    rows = db.session.scalars(
        sa.select(LoginThrottle).where(LoginThrottle.key.in_(keys)).with_for_update())
    return {row.key: row for row in rows}
