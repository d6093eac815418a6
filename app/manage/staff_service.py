"""Staff-account transactions: create, change role and scope, reset password, (de)activate,
end signed-in devices.

An account's scope follows its role, as `flask create-user` checks it: an issuer belongs to
one issuing site, a box office to one or more venues of one region, a coordinator to a
region, an administrator to none. Passwords are stored only as salted hashes; a generated
one is returned to the caller once and never kept. A new password, a new role and
deactivation end the account's signed-in devices (app/auth/sessions.py).
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app import audit
from app.auth import sessions
from app.auth.service import lift_account_throttle
from app.extensions import db
from app.manage.scope import manages_region
from app.models import ROLES, IssuingSite, Region, User, Venue

USERNAME = re.compile(r"[a-z0-9._-]{3,64}")
MIN_PASSWORD, MAX_PASSWORD = 10, 256
# No look-alikes (0/o, 1/l/i), so a password read aloud or from paper is typed right.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # noqa: S105 - an alphabet


class StaffError(Exception):
    """An account change that cannot be made: a stable code and the form field it concerns."""

    def __init__(self, code: str, field: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.field = field


@dataclass(frozen=True)
class Account:
    """What the coordinator fills in for an account."""

    username: str
    role: str
    region_id: int | None = None
    site_id: int | None = None
    venue_ids: tuple[int, ...] = field(default_factory=tuple)


def new_password() -> str:
    """A random password of four groups of four characters (about 79 bits)."""
    chars = "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(16))
    return "-".join(chars[i:i + 4] for i in range(0, 16, 4))


def create_account(actor: User, account: Account, password: str | None) -> tuple[User, str | None]:
    """Create an account; without a typed password one is generated and returned once."""
    region, site, venues = checked_scope(actor, account)
    _check_username(account.username)
    generated = new_password() if password is None else None
    if password is not None:
        _check_password(password, account.username)
    user = User(username=account.username, role=account.role, region=region,
                issuing_site=site, venues=venues, active=True)
    user.set_password(password or generated)
    db.session.add(user)
    _flush_unique()
    audit.record(actor, "user.create", user, region_id=user.region_id, **_scope_details(user),
                 generated_password=generated is not None)
    db.session.commit()
    return user, generated


def update_account(actor: User, user: User, account: Account) -> User:
    """Change an account's username, role or scope."""
    _check_may_change(actor, user)
    if user.id == actor.id and account.role != user.role:
        raise StaffError("own_role", "role")
    region, site, venues = checked_scope(actor, account, user)
    if account.username != user.username:
        _check_username(account.username)
    before = _snapshot(user)
    user.username, user.role = account.username, account.role
    user.region, user.issuing_site, user.venues = region, site, venues
    _flush_unique()
    changed = sorted(name for name, value in _snapshot(user).items() if before[name] != value)
    # A new role ends the account's sessions: a remembered scanning device must not carry
    # over to a role that gets none. A new scope applies on the next request anyway.
    ended = sessions.end_all(user, "role") if "role" in changed else 0
    if changed:
        audit.record(actor, "user.update", user, region_id=user.region_id,
                     changed=",".join(changed), **_scope_details(user),
                     **({"devices_ended": ended} if ended else {}))
    db.session.commit()
    return user


def reset_password(actor: User, user: User, password: str | None) -> str | None:
    """Set a typed password, or generate one and return it once; lifts a login lock."""
    _check_may_change(actor, user)
    generated = new_password() if password is None else None
    if password is not None:
        _check_password(password, user.username)
    user.set_password(password or generated)
    unlocked = lift_account_throttle(user.username, current_app.config["SECRET_KEY"])
    # Changing one's own password keeps the device in hand signed in, and only that one.
    ended = sessions.end_all(user, "password",
                             keep=actor.staff_session_id if user.id == actor.id else None)
    audit.record(actor, "user.password_reset", user, region_id=user.region_id,
                 generated_password=generated is not None, unlocked=unlocked,
                 devices_ended=ended)
    db.session.commit()
    return generated


def set_account_active(actor: User, user: User, active: bool) -> User:
    """Deactivate an account (it can no longer log in; its records stay) or reactivate it."""
    _check_may_change(actor, user)
    if user.id == actor.id and not active:
        raise StaffError("own_account")
    if user.active != active:
        user.active = active
        # Reactivating never revives a session: the account logs in again.
        ended = 0 if active else sessions.end_all(user, "deactivated")
        audit.record(actor, "user.reactivate" if active else "user.deactivate", user,
                     region_id=user.region_id, role=user.role,
                     **({} if active else {"devices_ended": ended}))
    db.session.commit()
    return user


def end_devices(actor: User, user: User, session_id: int | None = None) -> int:
    """A manager ends one signed-in device of an account it manages (a lost phone), or all."""
    _check_may_change(actor, user)
    if session_id is None:
        ended = sessions.end_all(user, "ended_by_manager")
    else:
        sessions.end(user, session_id, "ended_by_manager")
        ended = 1
    if ended:
        audit.record(actor, "user.devices_end", user, region_id=user.region_id,
                     devices_ended=ended)
    db.session.commit()
    return ended


def checked_scope(actor: User, account: Account, user: User | None = None
                  ) -> tuple[Region | None, IssuingSite | None, list[Venue]]:
    """The region, site and venues of the account, checked against its role and the actor."""
    if account.role not in ROLES:
        raise StaffError("bad_role", "role")
    if account.role == "admin" and actor.role != "admin":
        raise StaffError("admin_only", "role")
    region, site, venues = _scope_objects(account, user)
    _check_role_scope(account.role, region, site, venues)
    owner = site.region if site else (venues[0].region if venues else None)
    if owner and region and owner.id != region.id:
        raise StaffError("outside_region", "issuing_site" if site else "venues")
    if any(v.region_id != venues[0].region_id for v in venues):
        raise StaffError("venues_of_two_regions", "venues")
    region = region or owner
    if account.role != "admin" and not manages_region(actor, region.id):
        raise StaffError("other_region", "region")
    return region, site, venues


def staff_list(role: str | None = None, region_id: int | None = None) -> sa.Select:
    """Accounts, active ones first, by username; narrowed by role and region."""
    query = sa.select(User).order_by(User.active.desc(), User.username)
    if role:
        query = query.where(User.role == role)
    if region_id:
        query = query.where(User.region_id == region_id)
    return query


def _scope_objects(account: Account, user: User | None
                   ) -> tuple[Region | None, IssuingSite | None, list[Venue]]:
    region = db.session.get(Region, account.region_id) if account.region_id else None
    if account.region_id and region is None:
        raise StaffError("unknown_region", "region")
    site = db.session.get(IssuingSite, account.site_id) if account.site_id else None
    kept_site = user.issuing_site_id if user else None
    if account.site_id and (site is None or (not site.active and site.id != kept_site)):
        raise StaffError("unknown_site", "issuing_site")
    kept_venues = {v.id for v in user.venues} if user else set()
    venues = [db.session.get(Venue, v) for v in dict.fromkeys(account.venue_ids)]
    if any(v is None or (not v.active and v.id not in kept_venues) for v in venues):
        raise StaffError("unknown_venue", "venues")
    return region, site, venues


def _check_role_scope(role: str, region: Region | None, site: IssuingSite | None,
                      venues: list[Venue]) -> None:
    """Each role has exactly its own kind of scope and no other."""
    given = {"region": region, "issuing_site": site, "venues": venues}
    needs = {"admin": None, "coordinator": "region", "issuer": "issuing_site", "boxoffice": "venues"}
    needed = needs[role]
    if needed and not given[needed]:
        raise StaffError(f"needs_{needed}", needed)
    for name, value in given.items():
        # An issuer's or box office's region may be named too, as long as it matches.
        if value and name != needed and (name != "region" or role == "admin"):
            raise StaffError("not_for_role", name)


def _check_username(username: str) -> None:
    if not USERNAME.fullmatch(username or ""):
        raise StaffError("bad_username", "username")
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise StaffError("username_taken", "username")


def _check_password(password: str, username: str) -> None:
    """A typed password: long enough, and not the username in disguise."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise StaffError("bad_password", "password")
    if username in password.lower():
        raise StaffError("password_has_username", "password")


def _check_may_change(actor: User, user: User) -> None:
    if user.role == "admin" and actor.role != "admin":
        raise StaffError("admin_only")
    if user.role != "admin" and not manages_region(actor, user.region_id):
        raise StaffError("other_region")


def _flush_unique() -> None:
    # Two coordinators may pick the same new name at once; the unique index decides.
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise StaffError("username_taken", "username") from None


def _snapshot(user: User) -> dict:
    return {"username": user.username, "role": user.role, "region_id": user.region_id,
            "issuing_site_id": user.issuing_site_id,
            "venues": sorted(v.id for v in user.venues)}


def _scope_details(user: User) -> dict:
    return {"role": user.role, "site_id": user.issuing_site_id,
            "venue_ids": ",".join(str(v.id) for v in sorted(user.venues, key=lambda v: v.id))}
