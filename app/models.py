"""The tables of DESIGN §3. The register is anonymous: no names, identity codes or contacts."""
from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app import rules
from app.extensions import db

ROLES = ("admin", "coordinator", "issuer", "boxoffice")
SITE_KINDS = ("social_services", "youth_work", "health", "ngo", "other")
VENUE_CATEGORIES = ("culture", "education", "science", "sports")
ART_FORMS = ("theatre", "music", "museum", "dance", "cinema", "library", "visual_arts",
             "festival", "course", "sports", "other")
EVENT_KINDS = ("event", "course")
CARD_KINDS = ("personal", "community")
CARD_STATUSES = ("unissued", "active", "deactivated", "lost", "replaced")
GENDERS = ("female", "male", "other")
LIFE_SITUATIONS = ("employed", "unemployed", "student", "pensioner", "family_leave",
                   "rehabilitation", "other")
VALIDITY_MODES = ("months", "calendar_year")
PERIODS = ("month", "year")
VISIT_SOURCES = ("camera", "barcode", "manual", "offline")
VISIT_STATUSES = ("ok", "annulled")
ANNUL_REASONS = ("mistake", "wrong_card", "wrong_tickets", "conflict", "other")
CONFLICT_RESOLUTIONS = ("keep", "annul")
SCAN_ACTIONS = ("check", "redeem")
# Why a signed-in device was ended: logged out, ended from a device list (own or a manager's),
# or a change to the account (new password, deactivated, new role).
SESSION_END_REASONS = ("logout", "ended", "ended_by_manager", "password", "deactivated", "role")
STAT_DIMENSIONS = ("municipality", "issuing_site", "age_group", "gender", "life_situation")


def utcnow() -> datetime:
    """The current time, aware, in UTC (a function, so each row gets its own)."""
    return datetime.now(UTC)


def one_of(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    """A CHECK constraint that keeps a text column within a fixed vocabulary."""
    quoted = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=f"{column}_allowed")


class UTCDateTime(sa.TypeDecorator):
    """An aware datetime stored as UTC; SQLite hands back naive values, we make them aware."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


Stamp = UTCDateTime()


class Region(db.Model):
    """A municipality or welfare area that runs Kaikukortti, with its rules (DESIGN §4)."""

    __tablename__ = "regions"
    __table_args__ = (
        one_of("validity", VALIDITY_MODES),
        one_of("period", PERIODS),
        sa.CheckConstraint("validity_months BETWEEN 1 AND 60", name="validity_months_range"),
        sa.CheckConstraint("min_age BETWEEN 0 AND 120", name="min_age_range"),
        sa.CheckConstraint("child_max_age BETWEEN 0 AND 17", name="child_max_age_range"),
        sa.CheckConstraint("period_limit IS NULL OR period_limit >= 1", name="period_limit_positive"),
        sa.CheckConstraint("community_group_size BETWEEN 1 AND 100", name="group_size_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    name_fi: Mapped[str] = mapped_column(sa.String(120))
    name_sv: Mapped[str] = mapped_column(sa.String(120))
    name_en: Mapped[str] = mapped_column(sa.String(120))
    national_network: Mapped[bool] = mapped_column(default=True)
    validity: Mapped[str] = mapped_column(sa.String(16), default="months")
    validity_months: Mapped[int] = mapped_column(default=12)
    min_age: Mapped[int] = mapped_column(default=16)
    child_max_age: Mapped[int] = mapped_column(default=17)
    period_limit: Mapped[int | None]
    period: Mapped[str] = mapped_column(sa.String(8), default="month")
    community_group_size: Mapped[int] = mapped_column(default=10)
    active: Mapped[bool] = mapped_column(default=True)

    def name(self, locale: str) -> str:
        """The region's name in the given language, Finnish when there is none."""
        return getattr(self, f"name_{locale}", None) or self.name_fi

    def names(self) -> dict[str, str]:
        """The region's name in each language of the product (fi, sv, en)."""
        return {locale: self.name(locale) for locale in ("fi", "sv", "en")}

    def rules(self) -> rules.RegionRules:
        """The rule function's view of this region."""
        return rules.RegionRules(
            id=self.id, national_network=self.national_network, validity=self.validity,
            validity_months=self.validity_months, min_age=self.min_age,
            child_max_age=self.child_max_age, period_limit=self.period_limit,
            period=self.period, community_group_size=self.community_group_size)


class Municipality(db.Model):
    """A municipality; cards name their holder's home municipality."""

    __tablename__ = "municipalities"
    __table_args__ = (sa.UniqueConstraint("region_id", "name", name="uq_municipalities_region_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    active: Mapped[bool] = mapped_column(default=True)

    region: Mapped[Region] = relationship()


class IssuingSite(db.Model):
    """A service that hands cards out: a social office, youth work, an NGO…"""

    __tablename__ = "issuing_sites"
    __table_args__ = (one_of("kind", SITE_KINDS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(160))
    kind: Mapped[str] = mapped_column(sa.String(20))
    active: Mapped[bool] = mapped_column(default=True)

    region: Mapped[Region] = relationship()


class Venue(db.Model):
    """A place that admits card holders: a theatre, museum, course centre, sports hall…"""

    __tablename__ = "venues"
    __table_args__ = (
        one_of("category", VENUE_CATEGORIES),
        one_of("art_form", ART_FORMS),
        sa.CheckConstraint("default_quota IS NULL OR default_quota >= 0", name="default_quota_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(160))
    category: Mapped[str] = mapped_column(sa.String(16))
    art_form: Mapped[str] = mapped_column(sa.String(16))
    active: Mapped[bool] = mapped_column(default=True)
    default_quota: Mapped[int | None]

    region: Mapped[Region] = relationship()


class Event(db.Model):
    """One performance or course at a venue, with an optional Kaikukortti quota in persons."""

    __tablename__ = "events"
    __table_args__ = (
        one_of("kind", EVENT_KINDS),
        sa.CheckConstraint("quota IS NULL OR quota >= 0", name="quota_positive"),
        sa.Index("ix_events_venue_starts", "venue_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    venue_id: Mapped[int] = mapped_column(sa.ForeignKey("venues.id"))
    title: Mapped[str] = mapped_column(sa.String(200))
    starts_at: Mapped[datetime] = mapped_column(Stamp)
    kind: Mapped[str] = mapped_column(sa.String(8), default="event")
    quota: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)

    venue: Mapped[Venue] = relationship()


user_venues = sa.Table(
    "user_venues",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("venue_id", sa.ForeignKey("venues.id"), primary_key=True),
)


class User(UserMixin, db.Model):
    """A staff account: belongs to a region, an issuing site, or one or more venues."""

    __tablename__ = "users"
    __table_args__ = (one_of("role", ROLES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[str] = mapped_column(sa.String(16))
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    issuing_site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issuing_sites.id"))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(sa.String(5))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(Stamp)

    region: Mapped[Region | None] = relationship()
    issuing_site: Mapped[IssuingSite | None] = relationship()
    venues: Mapped[list[Venue]] = relationship(secondary=user_venues)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    # The token of the signed-in device this object was loaded for (app/auth/sessions.py).
    session_token = None
    staff_session_id = None

    def get_id(self) -> str:
        """Flask-Login's id of this login: its device's token, found again in staff_sessions."""
        if self.session_token is None:
            raise RuntimeError("a staff account is signed in only through app.auth.sessions")
        return self.session_token

    def set_password(self, password: str) -> None:
        """Store a salted hash of the password, never the password."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        """Whether the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)


class StaffSession(db.Model):
    """A signed-in device of a staff account: the cookies carry a token, the table its hash."""

    __tablename__ = "staff_sessions"
    __table_args__ = (one_of("ended_reason", SESSION_END_REASONS),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    remember: Mapped[bool] = mapped_column(default=False)
    device: Mapped[str | None] = mapped_column(sa.String(40))
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(Stamp)
    ended_reason: Mapped[str | None] = mapped_column(sa.String(16))

    user: Mapped[User] = relationship()


class LoginThrottle(db.Model):
    """Failed logins per account or per (hashed) address, shared by every process."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(Stamp)
    updated_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)


class RateLimitCounter(db.Model):
    """One fixed-window counter of the request limits (app/ratelimit.py), shared by every
    process; a row whose window has ended is counted afresh or swept away."""

    __tablename__ = "rate_limit_counters"

    key: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    hits: Mapped[int] = mapped_column(sa.Integer)
    expires_at: Mapped[float] = mapped_column(sa.Float, index=True)  # seconds since the epoch


class Card(db.Model):
    """A Kaikukortti: a number and what the rules need, nothing that names the holder."""

    __tablename__ = "cards"
    __table_args__ = (
        one_of("kind", CARD_KINDS),
        one_of("status", CARD_STATUSES),
        sa.CheckConstraint("gender IS NULL OR gender IN ('female', 'male', 'other')",
                           name="gender_allowed"),
        sa.CheckConstraint("children BETWEEN 0 AND 20", name="children_range"),
        sa.CheckConstraint("birth_year IS NULL OR birth_year BETWEEN 1900 AND 2100",
                           name="birth_year_range"),
        sa.CheckConstraint("status = 'unissued' OR valid_until IS NOT NULL",
                           name="issued_card_has_validity"),
        sa.Index("ix_cards_region_status", "region_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(10), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(10), default="personal")
    status: Mapped[str] = mapped_column(sa.String(12), default="unissued")
    status_reason: Mapped[str | None] = mapped_column(sa.String(32))
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    municipality_id: Mapped[int | None] = mapped_column(sa.ForeignKey("municipalities.id"))
    postcode: Mapped[str | None] = mapped_column(sa.String(5))
    birth_year: Mapped[int | None]
    children: Mapped[int] = mapped_column(default=0)
    gender: Mapped[str | None] = mapped_column(sa.String(8))
    life_situation: Mapped[str | None] = mapped_column(sa.String(16))
    issued_at: Mapped[datetime | None] = mapped_column(Stamp, index=True)
    valid_until: Mapped[date | None] = mapped_column(sa.Date)
    replaced_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cards.id"), index=True)
    issuing_site_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issuing_sites.id"), index=True)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    link_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    # Any change to the row: the statistics tables look for cards changed since they were
    # last brought up to date (app/stats/rollup.py).
    changed_at: Mapped[datetime | None] = mapped_column(Stamp, default=utcnow, onupdate=utcnow, index=True)

    region: Mapped[Region] = relationship()
    municipality: Mapped[Municipality | None] = relationship()
    issuing_site: Mapped[IssuingSite | None] = relationship()
    replaced_by: Mapped[Card | None] = relationship(remote_side=[id])


class Visit(db.Model):
    """One recorded use of a card at a venue (optionally for an event)."""

    __tablename__ = "visits"
    __table_args__ = (
        one_of("source", VISIT_SOURCES),
        one_of("status", VISIT_STATUSES),
        sa.CheckConstraint("annul_reason IS NULL OR annul_reason IN "
                           "('mistake', 'wrong_card', 'wrong_tickets', 'conflict', 'other')",
                           name="annul_reason_allowed"),
        sa.CheckConstraint("conflict_resolution IS NULL OR conflict_resolution IN ('keep', 'annul')",
                           name="conflict_resolution_allowed"),
        sa.CheckConstraint("adults BETWEEN 0 AND 1", name="adults_range"),
        sa.CheckConstraint("children BETWEEN 0 AND 100", name="children_range"),
        sa.CheckConstraint("assistants BETWEEN 0 AND 1", name="assistants_range"),
        sa.CheckConstraint("adults + children + assistants >= 1", name="at_least_one_person"),
        sa.Index("ix_visits_card_occurred", "card_id", "occurred_at"),
        sa.Index("ix_visits_event_status", "event_id", "status"),
        sa.Index("ix_visits_venue_occurred", "venue_id", "occurred_at"),
        # What changed since the statistics were last brought up to date (app/stats/rollup.py).
        sa.Index("ix_visits_recorded_at", "recorded_at"),
        sa.Index("ix_visits_annulled_at", "annulled_at",
                 sqlite_where=sa.text("annulled_at IS NOT NULL"),
                 postgresql_where=sa.text("annulled_at IS NOT NULL")),
        sa.Index("ix_visits_conflict_resolved_at", "conflict_resolved_at",
                 sqlite_where=sa.text("conflict_resolved_at IS NOT NULL"),
                 postgresql_where=sa.text("conflict_resolved_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None once the card was purged after its retention time (`flask purge`): the use stays
    # in the statistics, no longer tied to a card.
    card_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cards.id"))
    venue_id: Mapped[int] = mapped_column(sa.ForeignKey("venues.id"))
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("events.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    adults: Mapped[int] = mapped_column(default=1)
    children: Mapped[int] = mapped_column(default=0)
    assistants: Mapped[int] = mapped_column(default=0)
    category: Mapped[str] = mapped_column(sa.String(16))
    occurred_at: Mapped[datetime] = mapped_column(Stamp)
    recorded_at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    nonce: Mapped[str] = mapped_column(sa.String(36), unique=True)
    source: Mapped[str] = mapped_column(sa.String(8))
    status: Mapped[str] = mapped_column(sa.String(8), default="ok")
    annulled_at: Mapped[datetime | None] = mapped_column(Stamp)
    annulled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    annul_reason: Mapped[str | None] = mapped_column(sa.String(32))
    # An offline record the server would have refused (e.g. two devices admitted one card to
    # one event): kept, since the person was admitted, and flagged for the coordinator.
    conflict: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    conflict_resolution: Mapped[str | None] = mapped_column(sa.String(8))
    conflict_resolved_at: Mapped[datetime | None] = mapped_column(Stamp)
    conflict_resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    verified: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    card: Mapped[Card | None] = relationship()
    venue: Mapped[Venue] = relationship()
    event: Mapped[Event | None] = relationship()

    @property
    def persons(self) -> int:
        """Everyone this visit admitted."""
        return self.adults + self.children + self.assistants


class ScanAttempt(db.Model):
    """Every check or redeem at the door, refused ones too: the door's audit trail."""

    __tablename__ = "scan_attempts"
    __table_args__ = (
        one_of("action", SCAN_ACTIONS),
        sa.CheckConstraint("card_number IS NOT NULL OR code_hash IS NOT NULL",
                           name="names_card_or_code"),
        sa.Index("ix_scan_attempts_venue_at", "venue_id", "at"),
        # Refused scans by reason without reading the (many) accepted ones.
        sa.Index("ix_scan_attempts_reason_at", "reason", "at", "venue_id"),
        # The refused offline records, newest first, without reading the door's other attempts.
        sa.Index("ix_scan_attempts_refused_offline", "venue_id", "at",
                 postgresql_where=sa.text("offline AND visit_id IS NULL"),
                 sqlite_where=sa.text("offline AND visit_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(sa.String(8))
    card_number: Mapped[str | None] = mapped_column(sa.String(10), index=True)
    code_hash: Mapped[str | None] = mapped_column(sa.String(64))
    venue_id: Mapped[int] = mapped_column(sa.ForeignKey("venues.id"))
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("events.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(Stamp, default=utcnow)
    reason: Mapped[str] = mapped_column(sa.String(32))
    # A redeem's client nonce: a repeated nonce is answered from here, not decided again.
    nonce: Mapped[str | None] = mapped_column(sa.String(36), unique=True)
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"))
    # A record synced from a device that was offline; with no visit and a refusing reason it
    # is in the coordinator's list of refused offline records.
    offline: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # A redeem's whole answer as first given, for a repeated nonce (app/scan/answers.py); a
    # record refused for good at sync keeps {"error": {"code", "status"}}.
    answer: Mapped[dict | None] = mapped_column(sa.JSON)

    venue: Mapped[Venue] = relationship()
    event: Mapped[Event | None] = relationship()


class AuditEvent(db.Model):
    """Who changed what and when. Details hold codes and ids only, never free text."""

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    region_id: Mapped[int | None] = mapped_column(sa.ForeignKey("regions.id"), index=True)
    action: Mapped[str] = mapped_column(sa.String(40))
    object_type: Mapped[str] = mapped_column(sa.String(24))
    object_id: Mapped[int | None]
    at: Mapped[datetime] = mapped_column(Stamp, default=utcnow, index=True)
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)


# Statistics kept up to date from the visits (app/stats/rollup.py): sums by day, and each
# card's first use of a year, so a year's figures never read millions of visits. A local
# (Finnish) calendar day; "value" of an unknown voluntary fact is ''.
class StatVenueDay(db.Model):
    """Ok visits of one venue on one day, by the category recorded on the visit."""

    __tablename__ = "stat_venue_days"

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    venue_id: Mapped[int] = mapped_column(sa.ForeignKey("venues.id"), primary_key=True)
    category: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    uses: Mapped[int]
    adults: Mapped[int]
    children: Mapped[int]
    assistants: Mapped[int]


class StatRegionDay(db.Model):
    """Ok visits at one region's venues on one day, by one fact of the holder's card."""

    __tablename__ = "stat_region_days"
    __table_args__ = (one_of("dim", STAT_DIMENSIONS),
                      sa.PrimaryKeyConstraint("dim", "region_id", "day", "value"))

    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), primary_key=True)
    dim: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    value: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    uses: Mapped[int]
    adults: Mapped[int]
    children: Mapped[int]
    assistants: Mapped[int]


class StatCardYear(db.Model):
    """A card's first ok use in a calendar year, at one region's venues (scope) or anywhere (0).

    With the card's facts copied in (age group as of that year), so distinct cards of any
    split are counted from this table alone.
    """

    __tablename__ = "stat_card_years"
    __table_args__ = (
        sa.Index("ix_stat_card_years_card", "card_id", "year"),
        # Everything a year's report reads, so it never visits the table's rows.
        sa.Index("ix_stat_card_years_report", "year", "scope", "first_day", "card_region_id",
                 "municipality", "issuing_site", "age_group", "gender", "life_situation"),
    )

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    scope: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    # No foreign key: the row outlives a card purged after its retention time.
    card_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    first_day: Mapped[date] = mapped_column(sa.Date)
    card_region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    municipality: Mapped[str] = mapped_column(sa.String(16))
    issuing_site: Mapped[str] = mapped_column(sa.String(16))
    age_group: Mapped[str] = mapped_column(sa.String(16))
    gender: Mapped[str] = mapped_column(sa.String(16))
    life_situation: Mapped[str] = mapped_column(sa.String(16))


class StatCardSpan(db.Model):
    """The days a card is in force: [start_day, end_day) (cards never in force have none)."""

    __tablename__ = "stat_card_spans"
    __table_args__ = (sa.Index("ix_stat_card_spans_start", "region_id", "start_day"),
                      sa.Index("ix_stat_card_spans_end", "region_id", "end_day"))

    card_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)  # outlives a purge
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    start_day: Mapped[date] = mapped_column(sa.Date)
    end_day: Mapped[date] = mapped_column(sa.Date)


class StatCardDay(db.Model):
    """A region's cards issued on a day, and cards coming into and going out of force."""

    __tablename__ = "stat_card_days"

    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    registered: Mapped[int]
    starts: Mapped[int]
    ends: Mapped[int]


class StatState(db.Model):
    """How far the statistics tables are up to date: changes at or after `since` are not in."""

    __tablename__ = "stat_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    since: Mapped[datetime] = mapped_column(Stamp)
    refreshed_at: Mapped[datetime] = mapped_column(Stamp)
