"""The verdict at the door (DESIGN §4): pure, no Flask, no database, no I/O.

`decide` first rejects a malformed request with `InvalidTickets`, then answers
`unknown_card` when there is no card, and otherwise reports the first refusal in
this fixed order:

 1. venue_inactive            the venue is switched off; nothing can pass there
 2. not_issued                a pre-printed blank that was never registered
 3. deactivated, lost, replaced
                              the card's status (replaced names the new card)
 4. expired                   the local date of `now` is after valid_until
 5. wrong_region              not the same region, and not both in the national network
 6. already_used              an ok visit for this event; without an event, any ok visit
                              at this venue on the same local day
 7. period_limit              ok visits in the current local period >= the limit of
                              the card's region
 8. event_full                the event's quota, counted in persons, has no place left
 9. no_children_for_courses   child tickets on a course (personal cards)
10. too_many_children         more children, or an assistant, than the card allows
11. too_few_places            more persons than the places the event has left

The order goes from facts about the place and the card, which no other request
could change, to facts about this request, which staff can fix by asking for fewer
tickets; the staff thus always see the reason that matters most.

Every verdict for a known card carries what the card allows, capped by the places the
event has left (`allowed.persons` is the most persons in all), how many places are left
(`places_left`, None without a quota), the card's ok uses so far in the current period,
and for `already_used` the earlier visit, so the UI can show them even on a refusal.

A community card admits its worker (the adult) and up to `community_group_size`
group members, who are recorded as "children" tickets; it has no assistant. An
assistant asked for on a community card is refused as `too_many_children`, the
code for "more companions than the card admits", since it is a request a user
can fix, not a malformed one.

"Today", "this month" and "this year" are local dates in Finland (`TZ`), whatever
the offset of the datetimes passed in; a naive datetime is a programming error.
`bad_signature` is decided by the code parser before `decide` is called.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

REASONS: tuple[str, ...] = (
    "ok",
    "unknown_card",
    "bad_signature",
    "not_issued",
    "deactivated",
    "lost",
    "replaced",
    "expired",
    "wrong_region",
    "already_used",
    "event_full",
    "too_few_places",
    "too_many_children",
    "no_children_for_courses",
    "period_limit",
    "venue_inactive",
)

# Offline records the server refuses outright instead of keeping them as conflicts: reasons
# that depend only on the card and the venue together, which no stale bundle, slow clock or
# later change at the venue can explain. A device that read the card's QR decides
# wrong_region itself (the QR carries the region), so a record that says otherwise was typed
# unverified or forged; kept, it would let any box office write into the history of any card
# in the country. The other refusals stay conflicts for a coordinator: a card's status and
# validity change after a device fetched its bundle (a lost card in use is news to its
# region), venue_inactive is the venue's own affair, and already_used, period_limit, the
# places and the tickets depend on other records or on the request, where two offline
# devices can each have been right. unknown_card and bad_signature name no card to record.
NEVER_ACCEPTED: tuple[str, ...] = ("wrong_region",)

TZ = ZoneInfo("Europe/Helsinki")

_STATUS_REASONS: dict[str, str | None] = {
    "unissued": "not_issued",
    "active": None,
    "deactivated": "deactivated",
    "lost": "lost",
    "replaced": "replaced",
}


def _require(value: str, choices: Sequence[str], field: str) -> None:
    # Rules read these strings in comparisons; a typo must fail loudly, not pass.
    if value not in choices:
        raise ValueError(f"{field} must be one of {tuple(choices)}, not {value!r}")


@dataclass(frozen=True)
class RegionRules:
    id: int
    national_network: bool = False
    validity: str = "months"  # "months" | "calendar_year"
    validity_months: int = 12
    min_age: int = 16
    child_max_age: int = 17
    period_limit: int | None = None  # max ok uses per period; None = no limit
    period: str = "month"  # "month" | "year"
    community_group_size: int = 10

    def __post_init__(self) -> None:
        _require(self.validity, ("months", "calendar_year"), "validity")
        _require(self.period, ("month", "year"), "period")
        if self.validity == "months" and self.validity_months < 1:
            raise ValueError("validity_months must be at least 1")


@dataclass(frozen=True)
class CardState:
    number: str
    kind: str  # "personal" | "community"
    status: str  # "unissued" | "active" | "deactivated" | "lost" | "replaced"
    region: RegionRules
    valid_until: date | None  # None only for unissued
    children: int
    replaced_by: str | None = None

    def __post_init__(self) -> None:
        _require(self.kind, ("personal", "community"), "kind")
        _require(self.status, tuple(_STATUS_REASONS), "status")


@dataclass(frozen=True)
class VenueState:
    id: int
    active: bool
    region: RegionRules


@dataclass(frozen=True)
class EventState:
    id: int
    kind: str  # "event" | "course"
    quota: int | None  # Kaikukortti persons; None = unlimited
    persons_taken: int = 0  # persons in ok visits already recorded for this event

    def __post_init__(self) -> None:
        _require(self.kind, ("event", "course"), "kind")


@dataclass(frozen=True)
class Tickets:
    adults: int = 1
    children: int = 0
    assistants: int = 0

    @property
    def persons(self) -> int:
        """Return how many people these tickets admit."""
        return self.adults + self.children + self.assistants


@dataclass(frozen=True)
class PriorVisit:
    """An earlier visit of this card that counts: ok, and not a conflict nobody kept yet."""

    venue_id: int
    event_id: int | None
    occurred_at: datetime  # aware


@dataclass(frozen=True)
class Allowed:
    adults: int
    children: int
    assistants: int
    persons: int | None = None  # the most persons in all; None: the three added up

    def __post_init__(self) -> None:
        if self.persons is None:
            object.__setattr__(self, "persons", self.adults + self.children + self.assistants)


@dataclass(frozen=True)
class Verdict:
    reason: str  # "ok" or a reason code
    allowed: Allowed
    uses_in_period: int = 0
    replaced_by: str | None = None
    places_left: int | None = None  # the event's quota persons left; None: no quota
    earlier_visit: PriorVisit | None = None  # the visit that makes it already_used

    @property
    def ok(self) -> bool:
        """Return True when the card may be used for the requested tickets."""
        return self.reason == "ok"


class InvalidTickets(ValueError):
    """The request itself is malformed, whatever the card."""


def decide(
    card: CardState | None,
    venue: VenueState,
    event: EventState | None,
    tickets: Tickets,
    history: Sequence[PriorVisit],
    now: datetime,
) -> Verdict:
    """Return the verdict on `card` for `tickets` at `venue` (and `event`) at `now`."""
    check_tickets(tickets)
    if card is None:
        return Verdict("unknown_card", Allowed(0, 0, 0))
    allowed = allowed_for(card, event)
    left = places_left(event)
    today = local_date(now)
    uses = sum(
        _same_period(card.region, local_date(v.occurred_at), today) for v in history
    )
    earlier = _earlier_visit(venue, event, history, today)
    reason = (
        _card_refusal(card, venue, today)
        or _history_refusal(card, earlier, uses)
        or ("event_full" if left == 0 else None)
        or _request_refusal(card, event, tickets, allowed, left)
        or "ok"
    )
    replaced_by = card.replaced_by if reason == "replaced" else None
    return Verdict(reason, cap_allowed(allowed, left), uses, replaced_by, left,
                   earlier if reason == "already_used" else None)


def places_left(event: EventState | None) -> int | None:
    """Return the persons the event's quota still admits, or None without a quota."""
    if event is None or event.quota is None:
        return None
    return max(event.quota - event.persons_taken, 0)


def cap_allowed(allowed: Allowed, left: int | None) -> Allowed:
    """Return `allowed` capped by the places left: no kind, and not all together, above it."""
    if left is None:
        return allowed
    return Allowed(min(allowed.adults, left), min(allowed.children, left),
                   min(allowed.assistants, left), min(allowed.persons, left))


def allowed_for(card: CardState, event: EventState | None) -> Allowed:
    """Return the most tickets of each kind the card admits, here for `event`."""
    if card.kind == "community":
        return Allowed(
            adults=1, children=card.region.community_group_size, assistants=0
        )
    on_course = event is not None and event.kind == "course"
    return Allowed(adults=1, children=0 if on_course else card.children, assistants=1)


def history_since(region: RegionRules, now: datetime) -> datetime:
    """Return the earliest occurred_at of the visits `decide` needs (Helsinki)."""
    # The period always contains today, so its start also covers the same-day
    # check. Visits for the chosen event must be loaded whatever their date.
    today = local_date(now)
    month = today.month if region.period == "month" else 1
    return datetime(today.year, month, 1, tzinfo=TZ)


def valid_until_for(issued_on: date, region: RegionRules) -> date:
    """Return the last valid day of a card issued (or renewed) on `issued_on`."""
    if region.validity == "calendar_year":
        return date(issued_on.year, 12, 31)
    # N months from the issue day, the issue day counting as the first: 15 Mar to
    # 14 Mar. When the target month lacks the issue day (29 Feb, 31 Jan), the
    # anniversary is the 1st of the next month, so the card runs to month end.
    months = issued_on.year * 12 + issued_on.month - 1 + region.validity_months
    year, month = divmod(months, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    if issued_on.day > last_day:
        return date(year, month + 1, last_day)
    return date(year, month + 1, issued_on.day) - timedelta(days=1)


def years_after(day: date, years: int) -> date:
    """The same day `years` later (earlier when negative); 29 February becomes 1 March."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


# The registration form's ranges, and how long an issuer may take a deactivation back.
EARLIEST_BIRTH_YEAR = 1900
MAX_CARD_CHILDREN = 20
# A region's community card group, and so the most children any one request can carry: a
# request above it is malformed (a synced record with 101 children is refused, not stored).
MAX_GROUP_SIZE = 100
MAX_TICKET_CHILDREN = max(MAX_CARD_CHILDREN, MAX_GROUP_SIZE)
DEACTIVATION_UNDO_MINUTES = 15


def latest_birth_year(today: date, region: RegionRules) -> int:
    """The last year of birth old enough for a card of the region."""
    # Only the birth year is stored (DESIGN §3), so age counts by calendar year.
    return today.year - region.min_age


def min_birth_year_ok(birth_year: int, today: date, region: RegionRules) -> bool:
    """Return True when someone born in `birth_year` is old enough for a card."""
    return birth_year <= latest_birth_year(today, region)


def deactivation_undoable(deactivated_at: datetime, now: datetime) -> bool:
    """Whether a deactivation made at `deactivated_at` may still be taken back at `now`."""
    return timedelta(0) <= now - deactivated_at <= timedelta(minutes=DEACTIVATION_UNDO_MINUTES)


def local_date(moment: datetime) -> date:
    """Return the Finnish calendar date of an aware datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("an aware datetime is required")
    return moment.astimezone(TZ).date()


def local_day_bounds(day: date) -> tuple[datetime, datetime]:
    """The start and end of a Finnish calendar day, as aware datetimes."""
    start = datetime.combine(day, time(), tzinfo=TZ)
    return start, datetime.combine(day + timedelta(days=1), time(), tzinfo=TZ)


def check_tickets(tickets: Tickets) -> None:
    """Raise InvalidTickets when the request itself is malformed, whatever the card."""
    if tickets.adults not in (0, 1):
        raise InvalidTickets("adults must be 0 or 1")
    if tickets.assistants not in (0, 1):
        raise InvalidTickets("assistants must be 0 or 1")
    if tickets.children < 0:
        raise InvalidTickets("children must not be negative")
    if tickets.children > MAX_TICKET_CHILDREN:
        raise InvalidTickets(f"no card holds more than {MAX_TICKET_CHILDREN} children")
    if tickets.persons < 1:
        raise InvalidTickets("at least one person is required")


def _same_period(region: RegionRules, day: date, today: date) -> bool:
    if region.period == "year":
        return day.year == today.year
    return (day.year, day.month) == (today.year, today.month)


def _accepts(venue_region: RegionRules, card_region: RegionRules) -> bool:
    if venue_region.id == card_region.id:
        return True
    return venue_region.national_network and card_region.national_network


def card_standing(status: str, valid_until: date | None, today: date) -> str | None:
    """Why the card itself is not valid today (status first, then expiry), or None if it is."""
    status_reason = _STATUS_REASONS[status]
    if status_reason is not None:
        return status_reason
    # An active card without an end date breaks an invariant: refuse, never admit.
    if valid_until is None or today > valid_until:
        return "expired"
    return None


def printable(status: str, valid_until: date | None, today: date) -> bool:
    """Whether a card may be printed: a blank before it is registered, or a card in force."""
    return status == "unissued" or card_standing(status, valid_until, today) is None


def never_accepted(card: CardState, venue: VenueState) -> str | None:
    """The reason of NEVER_ACCEPTED for which `venue` refuses `card` whatever else holds, or None."""
    return None if _accepts(venue.region, card.region) else "wrong_region"


def _card_refusal(card: CardState, venue: VenueState, today: date) -> str | None:
    if not venue.active:
        return "venue_inactive"
    standing = card_standing(card.status, card.valid_until, today)
    if standing is not None:
        return standing
    if not _accepts(venue.region, card.region):
        return "wrong_region"
    return None


def _earlier_visit(
    venue: VenueState,
    event: EventState | None,
    history: Sequence[PriorVisit],
    today: date,
) -> PriorVisit | None:
    """The latest visit that makes this one a repeat, if any."""
    if event is not None:
        repeats = [v for v in history if v.event_id == event.id]
    else:
        # Any visit here today counts, with or without an event, so that
        # forgetting to pick the event cannot admit the same card twice.
        repeats = [
            v for v in history
            if v.venue_id == venue.id and local_date(v.occurred_at) == today
        ]
    return max(repeats, key=lambda v: v.occurred_at, default=None)


def _history_refusal(
    card: CardState, earlier: PriorVisit | None, uses: int
) -> str | None:
    if earlier is not None:
        return "already_used"
    limit = card.region.period_limit
    if limit is not None and uses >= limit:
        return "period_limit"
    return None


def _request_refusal(
    card: CardState,
    event: EventState | None,
    tickets: Tickets,
    allowed: Allowed,
    left: int | None,
) -> str | None:
    on_course = event is not None and event.kind == "course"
    if card.kind == "personal" and on_course and tickets.children > 0:
        return "no_children_for_courses"
    if tickets.children > allowed.children or tickets.assistants > allowed.assistants:
        return "too_many_children"
    if left is not None and tickets.persons > left:
        return "too_few_places"
    return None
