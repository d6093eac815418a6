"""Signing in, with throttling shared by every process through the database.

The policy (README, "Login throttling"): failures are counted in three rows, each forgotten
after `window_seconds` without a new failure.

- per account and address (the pair): `max_failures` failures lock that pair for
  `lock_seconds`; the same account elsewhere and other accounts at that address are not held;
- per account, from anywhere: after `delay_after` failures each further attempt must wait
  1 s, 2 s, 4 s … (at most `max_delay_seconds`) after the last failure: slowed, never locked;
- per address, any account (password spraying): after `address_max_failures` failures the
  address is slowed the same way.

While a row holds an attempt back the password is not checked (a right password gets the
same 429 as a wrong one, so the wait is no oracle) and the attempt is not counted. A right
password clears the pair's and the account's failures, not the address's: one account of
one's own must not buy an address more guesses at everyone else's.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from app.database import begin_write, insert_missing
from app.extensions import db
from app.models import LoginThrottle, User, utcnow

SWEEP_SECONDS = 300.0  # how often a process deletes the throttle rows that hold nothing
_next_sweep = 0.0


class LoginThrottled(Exception):
    """Too many failures: the account or the address must wait until `until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__("login throttled")
        self.until = until


@dataclass(frozen=True)
class ThrottleKeys:
    """The rows one attempt is counted in: the account, the pair and the address."""

    account: str
    pair: str | None
    address: str | None

    def all(self) -> list[str]:
        """Every key that exists for this attempt."""
        return [k for k in (self.account, self.pair, self.address) if k]


def _digest(secret: str, text: str) -> str:
    return hashlib.sha256((secret + text).encode()).hexdigest()[:32]


def throttle_keys(username: str, address: str | None, secret: str) -> ThrottleKeys:
    """Throttle keys of an attempt; addresses are hashed with the secret, never stored plain."""
    name = username.strip().lower()[:64]
    if not address:
        return ThrottleKeys("user:" + name, None, None)
    return ThrottleKeys("user:" + name, _pair_prefix(name, secret) + _digest(secret, address),
                        "addr:" + _digest(secret, address))


def _pair_prefix(name: str, secret: str) -> str:
    return "pair:" + _digest(secret, "user:" + name)[:16] + ":"


def lift_account_throttle(username: str, secret: str) -> bool:
    """Forget the account's failures and its pairs' locks (a new password); whether any held."""
    name = username.strip().lower()[:64]
    account = throttle_keys(name, None, secret).account
    return db.session.execute(sa.delete(LoginThrottle).where(sa.or_(
        LoginThrottle.key == account,
        LoginThrottle.key.startswith(_pair_prefix(name, secret), autoescape=True)))).rowcount > 0


def growing_delay(failures: int, free: int, cap: int) -> int:
    """Seconds the next attempt waits after `failures` failures: none below `free`, then
    1, 2, 4 … up to `cap`."""
    if failures < free:
        return 0
    return min(2 ** min(failures - free, 30), cap)


def authenticate(username: str, password: str, address: str | None, *, secret: str,
                 max_failures: int, lock_seconds: int, window_seconds: int = 900,
                 delay_after: int | None = None, max_delay_seconds: int | None = None,
                 address_max_failures: int | None = None) -> User | None:
    """The active account these credentials open, or None; raises LoginThrottled.

    The slow-down settings not given come from the app's configuration
    (LOGIN_DELAY_AFTER_FAILURES, LOGIN_MAX_DELAY_SECONDS, LOGIN_ADDRESS_MAX_FAILURES).
    """
    config = current_app.config
    delay_after = config["LOGIN_DELAY_AFTER_FAILURES"] if delay_after is None else delay_after
    max_delay = config["LOGIN_MAX_DELAY_SECONDS"] if max_delay_seconds is None \
        else max_delay_seconds
    address_max = config["LOGIN_ADDRESS_MAX_FAILURES"] if address_max_failures is None \
        else address_max_failures
    if "\x00" in username:  # no account is named so, and PostgreSQL text cannot hold it
        _password_matches(None, password)
        return None
    begin_write()
    now = utcnow()
    keys = throttle_keys(username, address, secret)
    rows = _throttle_rows(keys.all(), now, window_seconds)
    locked = [r.locked_until for r in rows.values() if r.locked_until and r.locked_until > now]
    if locked:
        db.session.commit()
        raise LoginThrottled(max(locked))
    user = db.session.scalar(sa.select(User).where(User.username == username.strip()))
    if _password_matches(user, password) and user.active:
        for key in (keys.account, keys.pair):
            if key:
                rows[key].failures = 0
                rows[key].locked_until = None
        user.last_login_at = now
        db.session.commit()
        return user
    for key, row in rows.items():
        row.failures += 1
        row.updated_at = now
        if key == keys.pair:
            if row.failures >= max_failures:
                row.failures = 0
                row.locked_until = now + timedelta(seconds=lock_seconds)
            continue
        free = delay_after if key == keys.account else address_max
        wait = growing_delay(row.failures, free, max_delay)
        row.locked_until = now + timedelta(seconds=wait) if wait else None
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


def _throttle_rows(keys: list[str], now: datetime, window_seconds: int) -> dict[str, LoginThrottle]:
    # Insert-or-keep, then lock: two first failures at once must not both insert the row.
    _sweep(now, window_seconds)
    insert_missing(LoginThrottle, [{"key": k, "failures": 0, "updated_at": now} for k in keys])
    rows = {row.key: row for row in db.session.scalars(
        sa.select(LoginThrottle).where(LoginThrottle.key.in_(keys)).with_for_update())}
    quiet_since = now - timedelta(seconds=window_seconds)
    for row in rows.values():
        if row.updated_at < quiet_since and not (row.locked_until and row.locked_until > now):
            row.failures = 0  # failures older than the window are forgotten
            row.locked_until = None
    return rows


def _sweep(now: datetime, window_seconds: int) -> None:
    """Now and then, delete the rows that would be forgotten anyway (one a pair of account and
    address would otherwise pile up for good)."""
    global _next_sweep
    if time.monotonic() < _next_sweep:
        return
    _next_sweep = time.monotonic() + SWEEP_SECONDS
    db.session.execute(sa.delete(LoginThrottle).where(
        LoginThrottle.updated_at < now - timedelta(seconds=window_seconds),
        sa.or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now)))
