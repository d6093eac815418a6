"""Signed-in devices: one row per login, so that logging out ends it on the server too.

The session and remember cookies carry a random token (Flask-Login's user id); the table
keeps only its SHA-256. A row ends at logout, when ended from a device list, and when the
account's password or role changes or the account is deactivated. A staff session also ends
after an idle time; a box office's remembered scanning device lasts its remember lifetime.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.database import begin_write
from app.extensions import db
from app.models import StaffSession, User, utcnow

# Only scanning devices stay signed in for long: the scanner works offline for days.
REMEMBERED_ROLES = frozenset({"boxoffice"})
# Browsers and systems by the User-Agent mark that tells them apart, most specific first.
BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("SamsungBrowser/", "Samsung Internet"),
            ("Firefox/", "Firefox"), ("FxiOS/", "Firefox"), ("CriOS/", "Chrome"),
            ("Chromium/", "Chromium"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("CrOS", "ChromeOS"),
           ("Windows", "Windows"), ("Macintosh", "macOS"), ("Linux", "Linux"))


@dataclass(frozen=True)
class Lifetimes:
    """How long a session lasts idle, how long a remembered device lasts, how often we note use."""

    idle: timedelta
    remember: timedelta
    seen_every: timedelta

    @classmethod
    def of(cls, config: Mapping) -> Lifetimes:
        """The lifetimes set in the app's configuration (app/config.py)."""
        idle = timedelta(minutes=config["IDLE_MINUTES"])
        return cls(idle=idle, remember=timedelta(days=config["REMEMBER_DAYS"]),
                   seen_every=min(timedelta(minutes=5), idle / 4))


class SessionNotFound(Exception):
    """No live session of this account has that id."""


def token_hash(token: str) -> str:
    """What the table keeps of a token: its SHA-256 (the token has 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


def device_label(user_agent: str | None) -> str | None:
    """A short name of the browser and system ("Chrome / Android"), or None if unknown."""
    text = user_agent or ""
    browser = next((name for mark, name in BROWSERS if mark in text), None)
    system = next((name for mark, name in SYSTEMS if mark in text), None)
    if browser is None and system is None:
        return None
    return re.sub(r"[^\w ./-]", "", " / ".join(p for p in (browser, system) if p))[:40]


def start(user: User, *, remember: bool, user_agent: str | None, lifetimes: Lifetimes) -> str:
    """Open a session for a device that has just logged in; its token is returned once."""
    token = secrets.token_urlsafe(32)
    begin_write()
    now = utcnow()
    # Rows over their longest lifetime are of no use any more: forget this account's.
    db.session.execute(sa.delete(StaffSession).where(
        StaffSession.user_id == user.id,
        sa.or_(StaffSession.ended_at < now - lifetimes.remember,
               StaffSession.last_seen_at < now - lifetimes.remember)))
    db.session.add(StaffSession(user_id=user.id, token_hash=token_hash(token), remember=remember,
                                device=device_label(user_agent), created_at=now, last_seen_at=now))
    db.session.commit()
    user.session_token = token
    return token


def remembers(user: User, asked: bool) -> bool:
    """Whether this login gets a remember cookie: asked for, and a scanning account."""
    return asked and user.role in REMEMBERED_ROLES


def signed_in_user(token: str, lifetimes: Lifetimes) -> User | None:
    """The account of a live session with this token (one indexed lookup), or None."""
    # Noting the time of use commits: only when nothing else has begun in this request yet.
    may_write = not db.session().in_transaction()
    row = db.session.execute(
        sa.select(StaffSession, User).join(User, StaffSession.user_id == User.id)
        .where(StaffSession.token_hash == token_hash(token))).first()
    if row is None:
        return None
    staff_session, user = row
    now = utcnow()
    if not user.active or not is_live(staff_session, now, lifetimes):
        return None
    if may_write and staff_session.last_seen_at < now - lifetimes.seen_every:
        _seen(staff_session.id, now)
    user.session_token = token
    user.staff_session_id = staff_session.id
    return user


def is_live(staff_session: StaffSession, now: datetime, lifetimes: Lifetimes) -> bool:
    """Not ended, and neither idle too long nor (a remembered device) past its lifetime."""
    if staff_session.ended_at is not None:
        return False
    if staff_session.remember:
        return staff_session.created_at > now - lifetimes.remember
    return staff_session.last_seen_at > now - lifetimes.idle


def _seen(session_id: int, now: datetime) -> None:
    # In a short transaction of its own, at most every few minutes per device.
    begin_write()
    db.session.execute(sa.update(StaffSession).where(StaffSession.id == session_id)
                       .values(last_seen_at=now))
    db.session.commit()


def live_sessions(user: User, lifetimes: Lifetimes) -> list[StaffSession]:
    """The account's signed-in devices, the most recently used first."""
    now = utcnow()
    rows = db.session.scalars(
        sa.select(StaffSession).where(StaffSession.user_id == user.id,
                                      StaffSession.ended_at.is_(None))
        .order_by(StaffSession.last_seen_at.desc(), StaffSession.id.desc()))
    return [row for row in rows if is_live(row, now, lifetimes)]


def end_device(user: User, session_id: int) -> None:
    """The account ends one of its own signed-in devices (from its list)."""
    begin_write()
    end(user, session_id, "ended")
    db.session.commit()


def end(user: User, session_id: int, reason: str) -> StaffSession:
    """End one open session of the account; the caller commits (and audits, if needed)."""
    staff_session = db.session.scalar(
        sa.select(StaffSession).where(StaffSession.id == session_id,
                                      StaffSession.user_id == user.id,
                                      StaffSession.ended_at.is_(None)).with_for_update())
    if staff_session is None:
        raise SessionNotFound(session_id)
    staff_session.ended_at, staff_session.ended_reason = utcnow(), reason
    return staff_session


def end_all(user: User, reason: str, keep: int | None = None) -> int:
    """End every open session of the account (but `keep`); how many were open. Caller commits."""
    query = sa.update(StaffSession).where(StaffSession.user_id == user.id,
                                          StaffSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(StaffSession.id != keep)
    return db.session.execute(query.values(ended_at=utcnow(), ended_reason=reason)).rowcount


def end_current(token: str, reason: str = "logout") -> None:
    """End the session of this token (logging out) in a transaction of its own."""
    begin_write()
    db.session.execute(sa.update(StaffSession).where(StaffSession.token_hash == token_hash(token),
                                                     StaffSession.ended_at.is_(None))
                       .values(ended_at=utcnow(), ended_reason=reason))
    db.session.commit()


def end_other_devices(user: User) -> int:
    """The account signs out every device but the one in hand; how many were ended."""
    begin_write()
    ended = end_all(user, "ended", keep=user.staff_session_id)
    db.session.commit()
    return ended
