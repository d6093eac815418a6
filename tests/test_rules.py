"""Tests of app/rules.py: the shared vectors first, then the Python-only helpers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.rules import (
    MAX_CARD_CHILDREN,
    MAX_TICKET_CHILDREN,
    NEVER_ACCEPTED,
    REASONS,
    TZ,
    Allowed,
    CardState,
    EventState,
    InvalidTickets,
    PriorVisit,
    RegionRules,
    Tickets,
    VenueState,
    decide,
    history_since,
    min_birth_year_ok,
    never_accepted,
    valid_until_for,
)

VECTORS_PATH = Path(__file__).parent / "vectors" / "rules.json"
DOC: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
REGIONS = {key: RegionRules(**raw) for key, raw in DOC["regions"].items()}
VECTORS: list[dict[str, Any]] = DOC["vectors"]

NORTH = REGIONS["north"]
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=TZ)


def aware(text: str) -> datetime:
    """Parse an ISO 8601 datetime that must carry its offset."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, f"{text!r} has no offset"
    return moment


def build_card(raw: dict[str, Any] | None) -> CardState | None:
    """Build a CardState from a vector's card, resolving its region key."""
    if raw is None:
        return None
    valid_until = raw["valid_until"] and date.fromisoformat(raw["valid_until"])
    fields = {**raw, "region": REGIONS[raw["region"]], "valid_until": valid_until}
    return CardState(**fields)


def build_event(raw: dict[str, Any] | None) -> EventState | None:
    """Build an EventState from a vector's event, if any."""
    return None if raw is None else EventState(**raw)


def decide_inputs(vector: dict[str, Any]) -> dict[str, Any]:
    """Turn one JSON vector into keyword arguments for decide()."""
    venue = vector["venue"]
    history = [
        PriorVisit(v["venue_id"], v["event_id"], aware(v["occurred_at"]))
        for v in vector["history"]
    ]
    return {
        "card": build_card(vector["card"]),
        "venue": VenueState(venue["id"], venue["active"], REGIONS[venue["region"]]),
        "event": build_event(vector["event"]),
        "tickets": Tickets(**vector["tickets"]),
        "history": history,
        "now": aware(vector["now"]),
    }


def personal_card(**changes: Any) -> CardState:
    """Return an active personal card of the north region, with `changes`."""
    fields = {
        "number": "7KQD-3MZP-X",
        "kind": "personal",
        "status": "active",
        "region": NORTH,
        "valid_until": date(2026, 12, 31),
        "children": 2,
        **changes,
    }
    return CardState(**fields)


# --- the shared vectors --------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector_gives_the_expected_verdict(vector: dict[str, Any]) -> None:
    verdict = decide(**decide_inputs(vector))
    expect = vector["expect"]
    assert verdict.reason == expect["reason"]
    assert verdict.ok == (expect["reason"] == "ok")
    if "allowed" in expect:
        assert verdict.allowed == Allowed(**expect["allowed"])
    if "uses_in_period" in expect:
        assert verdict.uses_in_period == expect["uses_in_period"]
    if "places_left" in expect:
        assert verdict.places_left == expect["places_left"]
    if "earlier_visit" in expect:
        earlier = expect["earlier_visit"]
        assert verdict.earlier_visit == (earlier and PriorVisit(
            earlier["venue_id"], earlier["event_id"], aware(earlier["occurred_at"])))
    assert verdict.replaced_by == expect.get("replaced_by")


def test_every_reason_decide_can_give_has_a_vector() -> None:
    # bad_signature is decided by the code parser, before decide() is called.
    expected = {v["expect"]["reason"] for v in VECTORS}
    assert expected == set(REASONS) - {"bad_signature"}
    assert "bad_signature" in REASONS


def test_vector_names_are_unique() -> None:
    names = [v["name"] for v in VECTORS]
    assert len(names) == len(set(names))


def test_online_only_marks_the_vectors_only_the_server_can_decide() -> None:
    server_only = {"venue_inactive", "period_limit", "event_full"}
    for vector in VECTORS:
        flagged = vector.get("online_only", False)
        assert flagged == (vector["expect"]["reason"] in server_only), vector["name"]


# --- malformed requests --------------------------------------------------------------

MALFORMED = [
    pytest.param(Tickets(adults=2), id="two adults"),
    pytest.param(Tickets(adults=-1, assistants=1), id="negative adults"),
    pytest.param(Tickets(assistants=2), id="two assistants"),
    pytest.param(Tickets(children=-1), id="negative children"),
    pytest.param(Tickets(adults=0, children=0, assistants=0), id="nobody"),
    # Shared with the offline checker: what no card could ever hold.
    *(pytest.param(Tickets(**m["tickets"]), id=m["name"]) for m in DOC["malformed"]),
]


@pytest.mark.parametrize("tickets", MALFORMED)
@pytest.mark.parametrize("card", [personal_card(), None], ids=["known card", "no card"])
def test_malformed_tickets_raise_before_any_verdict(
    tickets: Tickets, card: CardState | None
) -> None:
    inactive = VenueState(10, active=False, region=NORTH)
    with pytest.raises(InvalidTickets):
        decide(card, inactive, None, tickets, [], NOW)


def test_the_vectors_carry_the_rule_functions_own_limits() -> None:
    assert DOC["limits"] == {"max_ticket_children": MAX_TICKET_CHILDREN}
    assert MAX_TICKET_CHILDREN >= MAX_CARD_CHILDREN


def test_the_most_children_any_card_holds_is_still_a_request_not_a_malformed_one() -> None:
    venue = VenueState(10, True, NORTH)
    verdict = decide(personal_card(), venue, None, Tickets(children=MAX_TICKET_CHILDREN), [], NOW)
    assert verdict.reason == "too_many_children"


def test_a_naive_now_is_refused() -> None:
    venue = VenueState(10, True, NORTH)
    with pytest.raises(ValueError, match="aware"):
        decide(personal_card(), venue, None, Tickets(), [], datetime(2026, 3, 15, 12))


@pytest.mark.parametrize(
    "build",
    [
        lambda: RegionRules(1, validity="weeks"),
        lambda: RegionRules(1, period="week"),
        lambda: RegionRules(1, validity_months=0),
        lambda: personal_card(status="stolen"),
        lambda: personal_card(kind="family"),
        lambda: EventState(1, "concert", None),
    ],
    ids=["validity", "period", "validity_months", "status", "kind", "event kind"],
)
def test_unknown_rule_values_are_rejected(build: Any) -> None:
    with pytest.raises(ValueError):
        build()


# --- valid_until_for -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("issued_on", "months", "expected"),
    [
        (date(2026, 3, 15), 12, date(2027, 3, 14)),
        (date(2026, 1, 1), 12, date(2026, 12, 31)),
        (date(2026, 3, 1), 12, date(2027, 2, 28)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 2, 29), 48, date(2028, 2, 28)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 1, 29), 1, date(2026, 2, 28)),
        (date(2026, 1, 28), 1, date(2026, 2, 27)),
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 12, 15), 6, date(2027, 6, 14)),
    ],
)
def test_months_validity_ends_the_day_before_the_anniversary(
    issued_on: date, months: int, expected: date
) -> None:
    region = RegionRules(1, validity="months", validity_months=months)
    assert valid_until_for(issued_on, region) == expected


@pytest.mark.parametrize(
    "issued_on", [date(2026, 1, 1), date(2024, 2, 29), date(2026, 12, 31)]
)
def test_calendar_year_validity_ends_on_31_december_of_the_issue_year(
    issued_on: date,
) -> None:
    region = RegionRules(1, validity="calendar_year")
    assert valid_until_for(issued_on, region) == date(issued_on.year, 12, 31)


@given(st.dates(date(2000, 1, 1), date(2100, 12, 31)), st.integers(1, 60))
def test_months_validity_always_lasts_until_the_anniversary(
    issued_on: date, months: int
) -> None:
    valid_until = valid_until_for(issued_on, RegionRules(1, validity_months=months))
    first_invalid = valid_until + timedelta(days=1)
    anniversary_month = issued_on.year * 12 + issued_on.month - 1 + months
    month_of_first_invalid = first_invalid.year * 12 + first_invalid.month - 1
    if first_invalid.day == issued_on.day:
        assert month_of_first_invalid == anniversary_month
    else:  # the issue day does not exist in the anniversary month
        assert (month_of_first_invalid, first_invalid.day) == (anniversary_month + 1, 1)


# --- history_since -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("period", "now", "expected"),
    [
        ("month", "2026-03-15T12:00:00+02:00", "2026-03-01T00:00:00+02:00"),
        ("month", "2026-03-31T22:30:00+00:00", "2026-04-01T00:00:00+03:00"),
        ("month", "2026-03-31T20:30:00+00:00", "2026-03-01T00:00:00+02:00"),
        ("year", "2026-07-15T12:00:00+03:00", "2026-01-01T00:00:00+02:00"),
        ("year", "2025-12-31T22:30:00+00:00", "2026-01-01T00:00:00+02:00"),
    ],
)
def test_history_starts_at_the_local_start_of_the_period(
    period: str, now: str, expected: str
) -> None:
    since = history_since(RegionRules(1, period=period), aware(now))
    assert since == aware(expected)
    assert since.utcoffset() == aware(expected).utcoffset()
    assert since.tzinfo == TZ


@given(
    st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1), timezones=st.just(UTC)),
    st.sampled_from(["month", "year"]),
)
def test_history_always_covers_local_today(now: datetime, period: str) -> None:
    since = history_since(RegionRules(1, period=period), now)
    start_of_today = datetime.combine(
        now.astimezone(TZ).date(), datetime.min.time(), TZ
    )
    assert since <= start_of_today <= now


# --- min_birth_year_ok ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth_year", "min_age", "expected"),
    [
        (2010, 16, True),
        (2011, 16, False),
        (1940, 16, True),
        (2008, 18, True),
        (2009, 18, False),
    ],
)
def test_minimum_age_counts_by_birth_year(
    birth_year: int, min_age: int, expected: bool
) -> None:
    region = RegionRules(1, min_age=min_age)
    assert min_birth_year_ok(birth_year, date(2026, 3, 15), region) is expected


def test_a_deactivation_may_be_undone_for_fifteen_minutes_and_not_after():
    from app.rules import DEACTIVATION_UNDO_MINUTES, deactivation_undoable

    done = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    window = timedelta(minutes=DEACTIVATION_UNDO_MINUTES)
    assert DEACTIVATION_UNDO_MINUTES == 15
    assert deactivation_undoable(done, done) and deactivation_undoable(done, done + window)
    assert not deactivation_undoable(done, done + window + timedelta(seconds=1))
    assert not deactivation_undoable(done, done - timedelta(seconds=1))  # a clock gone back


def test_the_latest_birth_year_follows_the_regions_minimum_age():
    from app.rules import latest_birth_year

    assert latest_birth_year(date(2026, 1, 1), RegionRules(id=1, min_age=16)) == 2010
    assert latest_birth_year(date(2026, 12, 31), RegionRules(id=1, min_age=18)) == 2008


# --- offline records the venue could never accept -------------------------------------


@pytest.mark.parametrize(("card_region", "venue_region", "expected"), [
    ("north", "north", None),  # the same region
    ("south", "north", None),  # both in the national network
    ("island", "island", None),  # a local-only region at home
    ("island", "north", "wrong_region"),  # a local-only card elsewhere
    ("north", "island", "wrong_region"),  # a national card at a local-only venue
])
def test_never_accepted_is_wrong_region_whatever_the_cards_state(card_region, venue_region,
                                                                 expected) -> None:
    for card in (personal_card(region=REGIONS[card_region]),
                 personal_card(region=REGIONS[card_region], status="lost"),
                 personal_card(region=REGIONS[card_region], valid_until=date(2020, 1, 1))):
        for active in (True, False):
            venue = VenueState(9, active, REGIONS[venue_region])
            assert never_accepted(card, venue) == expected
    assert expected is None or expected in NEVER_ACCEPTED
