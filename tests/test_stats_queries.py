"""The statistics queries (DESIGN §8) against a small world whose every figure is counted by hand.

The range is January–March 2024 in Finland. Visits sit on month edges: 23:30 UTC on 31 January
is already 1 February in Helsinki; 31 March is the first day of summer time (UTC+3).
"""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import aliased

from app.cardcodes import is_valid_number
from app.extensions import db
from app.models import AuditEvent, Card, IssuingSite, Municipality, Region, ScanAttempt, Venue, Visit
from app.rules import TZ
from app.stats import figures, queries, rollup, synthetic
from tests.support import factories

JAN, APR = date(2024, 1, 1), date(2024, 4, 1)
FIGURES = ("distinct_cards", "uses", "adults", "children", "assistants")


def utc(text: str) -> datetime:
    """An aware UTC moment from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def fi(text: str) -> datetime:
    """An aware Finnish moment from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


# name: (region, municipality?, site?, birth year, gender, life situation, issued_at, valid_until, status)
CARDS = {
    "c1": ("a", True, True, 2006, "female", "student", fi("2023-11-10 10:00"), "2024-11-09", "active"),
    "c2": ("a", True, True, 2000, "male", "employed", fi("2024-01-15 10:00"), "2025-01-14", "active"),
    "c3": ("a", True, True, 1990, "female", "unemployed", utc("2024-01-31 23:30"), "2025-01-31", "active"),
    "c4": ("a", True, True, 1970, None, None, fi("2023-06-01 10:00"), "2024-02-29", "active"),
    "c5": ("a", True, True, 1950, "female", "pensioner", fi("2023-12-01 10:00"), "2024-11-30", "replaced"),
    "c6": ("a", True, True, 1950, "female", "pensioner", fi("2024-02-20 12:00"), "2024-11-30", "active"),
    "c7": ("a", True, False, 1985, "male", "employed", fi("2023-09-01 10:00"), "2024-08-31", "deactivated"),
    "c8": ("a", False, True, 2007, "other", "student", fi("2024-03-05 10:00"), "2025-03-04", "active"),
    "c9": ("b", True, True, 1960, "male", "pensioner", fi("2023-10-01 10:00"), "2024-09-30", "active"),
    "c10": ("b", True, True, 2001, "female", "student", utc("2024-03-31 20:30"), "2025-03-30", "active"),
    "c11": ("b", True, True, 1980, "male", "unemployed", utc("2024-03-31 21:30"), "2025-03-30", "active"),
}

# (card, venue, occurred_at UTC, adults, children, assistants, status)
# T theatre (A, culture), C college (A, education), S science centre (A), H sports hall (B).
VISITS = [
    ("c1", "T", "2023-12-31 22:30", 1, 0, 0, "ok"),      # 00:30 on 1 January: January
    ("c1", "T", "2023-12-31 21:30", 1, 0, 0, "ok"),      # 23:30 on 31 December: outside
    ("c2", "T", "2024-01-20 16:00", 1, 2, 0, "ok"),
    ("c2", "C", "2024-01-31 21:30", 1, 0, 1, "ok"),      # 23:30 on 31 January
    ("c3", "T", "2024-01-31 23:30", 1, 1, 0, "ok"),      # 01:30 on 1 February
    ("c4", "S", "2024-02-10 10:00", 1, 0, 0, "ok"),
    ("c4", "S", "2024-02-11 10:00", 1, 3, 1, "annulled"),
    ("c5", "T", "2024-01-05 10:00", 1, 0, 0, "ok"),
    ("c5", "C", "2024-02-01 10:00", 1, 0, 0, "ok"),
    ("c6", "C", "2024-03-01 10:00", 1, 0, 0, "ok"),
    ("c8", "T", "2024-03-31 20:30", 1, 0, 0, "ok"),      # 23:30 summer time on 31 March
    ("c8", "T", "2024-03-31 21:30", 1, 0, 0, "ok"),      # 00:30 on 1 April: outside
    ("c9", "H", "2024-01-10 10:00", 1, 0, 0, "ok"),
    ("c9", "H", "2024-02-10 10:00", 1, 0, 1, "ok"),
    ("c9", "T", "2024-03-10 10:00", 1, 1, 0, "ok"),      # a card of B at a venue of A
    ("c10", "H", "2024-03-31 20:45", 1, 0, 0, "ok"),
    ("c2", "H", "2024-02-29 21:59", 1, 0, 0, "ok"),      # 23:59 on 29 February
    ("c3", "H", "2024-02-29 22:00", 0, 2, 0, "ok"),      # midnight: 1 March
    ("c7", "T", "2024-01-12 10:00", 1, 0, 0, "ok"),
]

# (action, reason, venue, at UTC)
SCANS = [
    ("check", "expired", "T", "2024-01-10 10:00"),
    ("check", "expired", "H", "2024-02-10 10:00"),
    ("redeem", "event_full", "T", "2024-03-10 10:00"),
    ("check", "ok", "T", "2024-03-10 10:00"),
    ("check", "lost", "H", "2023-12-31 21:30"),          # December in Finland: outside
    ("check", "unknown_card", "H", "2023-12-31 22:30"),  # January in Finland
]


@pytest.fixture
def data(world):
    """The hand-counted world: cards c1…c11 and one blank, visits and scans."""
    science = factories.venue(world.a, "Tiedekeskus", "science", "museum")
    db.session.flush()
    regions = {"a": world.a, "b": world.b}
    sites = {"a": world.site_a, "b": world.site_b}
    towns = {m.region_id: m for m in db.session.scalars(sa.select(Municipality))}
    cards = {}
    for name, (key, town, site, born, gender, life, issued, valid, status) in CARDS.items():
        card = factories.card(regions[key], status=status, site=sites[key] if site else None,
                              valid_until=date.fromisoformat(valid))
        card.municipality = towns[regions[key].id] if town else None
        card.birth_year, card.gender, card.life_situation, card.issued_at = born, gender, life, issued
        cards[name] = card
    cards["c5"].replaced_by = cards["c6"]
    factories.card(world.b, status="unissued")
    venues = {"T": world.theatre, "C": world.college, "S": science, "H": world.hall_b}
    door = world.users["boxoffice"]
    db.session.flush()
    for name, place, at, adults, children, assistants, status in VISITS:
        db.session.add(Visit(card=cards[name], venue=venues[place], user_id=door.id,
                             adults=adults, children=children, assistants=assistants,
                             category=venues[place].category, occurred_at=utc(at),
                             nonce=str(uuid.uuid4()), source="camera", status=status))
    for action, reason, place, at in SCANS:
        db.session.add(ScanAttempt(action=action, card_number=cards["c1"].number,
                                   venue_id=venues[place].id, user_id=door.id, at=utc(at),
                                   reason=reason))
    db.session.commit()
    return SimpleNamespace(a=world.a.id, b=world.b.id, venues={k: v.id for k, v in venues.items()},
                           towns={k: towns[r.id].id for k, r in regions.items()},
                           sites={k: s.id for k, s in sites.items()})


def run(query) -> list[tuple]:
    """The rows of a statistics query as plain tuples."""
    return [tuple(row) for row in db.session.execute(query)]


def keyed(query, keys: int = 1) -> dict:
    """A split's rows as {key: figures}, so the order of NULL keys does not matter."""
    rows = run(query)
    return {(row[0] if keys == 1 else row[:keys]): row[keys:] for row in rows}


def scope(data, name: str | None) -> int | None:
    """The region id for 'a' or 'b', None for the whole country."""
    return None if name is None else getattr(data, name)


def test_months_are_cut_to_the_range():
    assert queries.months(date(2024, 1, 15), date(2024, 3, 2)) == [
        ("2024-01", date(2024, 1, 15), date(2024, 2, 1)),
        ("2024-02", date(2024, 2, 1), date(2024, 3, 1)),
        ("2024-03", date(2024, 3, 1), date(2024, 3, 2))]
    assert [m[0] for m in queries.months(date(2023, 12, 1), date(2024, 2, 1))] == ["2023-12", "2024-01"]
    with pytest.raises(ValueError):
        queries.months(JAN, JAN)


@pytest.mark.parametrize("region, expected", [
    (None, [("2024-01", 5, 6, 6, 2, 1), ("2024-02", 5, 5, 5, 1, 1), ("2024-03", 5, 5, 4, 3, 0)]),
    ("a", [("2024-01", 4, 5, 5, 2, 1), ("2024-02", 3, 3, 3, 1, 0), ("2024-03", 3, 3, 3, 1, 0)]),
    ("b", [("2024-01", 1, 1, 1, 0, 0), ("2024-02", 2, 2, 2, 0, 1), ("2024-03", 2, 2, 1, 2, 0)]),
])
def test_uses_by_month_count_ok_visits_by_finnish_month_at_the_venues_in_scope(data, region, expected):
    assert run(queries.uses_by_month(scope(data, region), JAN, APR)) == expected


@pytest.mark.parametrize("region, expected", [
    (None, [("2024-01", 1, 0), ("2024-02", 2, 1), ("2024-03", 2, 0)]),
    ("a", [("2024-01", 1, 0), ("2024-02", 2, 1), ("2024-03", 1, 0)]),
    ("b", [("2024-03", 1, 0)]),
])
def test_cards_registered_by_month_count_issued_cards_and_replacements(data, region, expected):
    assert run(queries.cards_registered_by_month(scope(data, region), JAN, APR)) == expected


@pytest.mark.parametrize("region, expected", [
    (None, [("2024-01", 5), ("2024-02", 2), ("2024-03", 3)]),
    ("a", [("2024-01", 4), ("2024-02", 2), ("2024-03", 2)]),
    ("b", [("2024-01", 1), ("2024-03", 1)]),
])
def test_cards_taken_into_use_count_each_card_in_the_month_of_its_first_use(data, region, expected):
    assert run(queries.cards_taken_into_use_by_month(scope(data, region), JAN, APR)) == expected


@pytest.mark.parametrize("region, expected", [
    (None, [("2024-01", 5), ("2024-02", 6), ("2024-03", 7)]),
    ("a", [("2024-01", 4), ("2024-02", 5), ("2024-03", 5)]),
    ("b", [("2024-01", 1), ("2024-02", 1), ("2024-03", 2)]),
])
def test_cards_in_force_at_each_month_end_follow_the_documented_rule(data, region, expected):
    assert run(queries.cards_in_force_by_month(scope(data, region), JAN, APR)) == expected


def test_a_range_ending_mid_month_counts_cards_in_force_on_its_last_day(data):
    # c4 is valid until 29 February: in force on the 28th, not after.
    assert run(queries.cards_in_force_by_month(data.a, JAN, date(2024, 2, 29))) == [
        ("2024-01", 4), ("2024-02", 5)]
    assert run(queries.cards_in_force_by_month(data.a, date(2024, 3, 1), date(2024, 3, 2))) == [
        ("2024-03", 4)]


def test_a_deactivated_card_is_in_force_until_the_audit_log_has_it_deactivated(data):
    c7 = db.session.scalar(sa.select(Card).where(Card.status == "deactivated"))
    db.session.add(AuditEvent(action="card.deactivate", object_type="cards", object_id=c7.id,
                              region_id=data.a, at=fi("2024-02-10 09:00")))
    db.session.commit()
    # c7 counts at the end of January (4 + 1), no longer at the end of February.
    expected = [("2024-01", 5), ("2024-02", 5), ("2024-03", 5)]
    assert run(queries.cards_in_force_by_month(data.a, JAN, APR)) == expected
    rollup.refresh()  # the statistics tables follow the same rule
    fast = figures.collect_fast(data.a, JAN, APR)["months"]
    assert [(m["month"], m["in_force"]) for m in fast] == expected


CULTURE, EDUCATION, SCIENCE, SPORTS = (7, 7, 7, 4, 0), (3, 3, 3, 0, 1), (1, 1, 1, 0, 0), (4, 5, 4, 2, 1)


@pytest.mark.parametrize("region, expected", [
    (None, {"culture": CULTURE, "education": EDUCATION, "science": SCIENCE, "sports": SPORTS}),
    ("a", {"culture": CULTURE, "education": EDUCATION, "science": SCIENCE}),
    ("b", {"sports": SPORTS}),
])
def test_uses_by_category(data, region, expected):
    assert keyed(queries.uses_by_category(scope(data, region), JAN, APR)) == expected


def test_uses_by_art_form(data):
    assert keyed(queries.uses_by_art_form(None, JAN, APR)) == {
        "theatre": CULTURE, "course": EDUCATION, "museum": SCIENCE, "sports": SPORTS}


@pytest.mark.parametrize("region, places", [
    (None, {"T": CULTURE, "C": EDUCATION, "S": SCIENCE, "H": SPORTS}),
    ("a", {"T": CULTURE, "C": EDUCATION, "S": SCIENCE}),
    ("b", {"H": SPORTS}),
])
def test_uses_by_venue(data, region, places):
    rows = keyed(queries.uses_by_venue(scope(data, region), JAN, APR), keys=2)
    assert {venue_id: figures for (venue_id, _), figures in rows.items()} == {
        data.venues[k]: v for k, v in places.items()}


@pytest.mark.parametrize("region, expected", [
    (None, {"a": (7, 11, 10, 5, 1), None: (1, 1, 1, 0, 0), "b": (2, 4, 4, 1, 1)}),
    ("a", {"a": (7, 9, 9, 3, 1), None: (1, 1, 1, 0, 0), "b": (1, 1, 1, 1, 0)}),
    ("b", {"a": (2, 2, 1, 2, 0), "b": (2, 3, 3, 0, 1)}),
])
def test_uses_by_the_cards_home_municipality(data, region, expected):
    rows = keyed(queries.uses_by_municipality(scope(data, region), JAN, APR), keys=2)
    assert {town: figures for (town, _), figures in rows.items()} == {
        data.towns[k] if k else None: v for k, v in expected.items()}


def test_uses_by_the_site_that_issued_the_card(data):
    rows = keyed(queries.uses_by_issuing_site(None, JAN, APR), keys=2)
    names = {s.id: s.name for s in db.session.scalars(sa.select(IssuingSite))}
    assert {key: figures for key, figures in rows.items()} == {
        (data.sites["a"], names[data.sites["a"]]): (7, 11, 10, 5, 1),
        (None, None): (1, 1, 1, 0, 0),
        (data.sites["b"], names[data.sites["b"]]): (2, 4, 4, 1, 1)}


def test_uses_by_age_group_count_age_in_the_year_of_the_visit(data):
    assert keyed(queries.uses_by_age_group(None, JAN, APR)) == {
        "16-17": (1, 1, 1, 0, 0), "18-29": (3, 5, 5, 2, 1), "30-44": (2, 3, 2, 3, 0),
        "45-64": (2, 4, 4, 1, 1), "65+": (2, 3, 3, 0, 0)}


def test_age_group_changes_with_the_finnish_new_year(data):
    # c1, born 2006, is 17 at 23:30 on 31 December 2023 and 18 an hour later.
    assert keyed(queries.uses_by_age_group(data.a, date(2023, 12, 1), date(2024, 1, 2))) == {
        "16-17": (1, 1, 1, 0, 0), "18-29": (1, 1, 1, 0, 0)}


@pytest.mark.parametrize("region, expected", [
    (None, {"female": (5, 7, 6, 3, 0), "male": (3, 7, 7, 3, 2), "other": (1, 1, 1, 0, 0),
            None: (1, 1, 1, 0, 0)}),
    ("a", {"female": (4, 5, 5, 1, 0), "male": (3, 4, 4, 3, 1), "other": (1, 1, 1, 0, 0),
           None: (1, 1, 1, 0, 0)}),
    ("b", {"female": (2, 2, 1, 2, 0), "male": (2, 3, 3, 0, 1)}),
])
def test_uses_by_gender(data, region, expected):
    assert keyed(queries.uses_by_gender(scope(data, region), JAN, APR)) == expected


def test_uses_by_life_situation(data):
    assert keyed(queries.uses_by_life_situation(None, JAN, APR)) == {
        "student": (3, 3, 3, 0, 0), "employed": (2, 4, 4, 2, 1), "unemployed": (1, 2, 1, 3, 0),
        "pensioner": (3, 6, 6, 1, 1), None: (1, 1, 1, 0, 0)}


@pytest.mark.parametrize("name", sorted(queries.SPLITS))
def test_every_split_adds_up_to_the_monthly_uses(data, name):
    query, key_fields = queries.SPLITS[name]
    rows = [row._mapping for row in db.session.execute(query(None, JAN, APR))]
    assert tuple(rows[0])[:len(key_fields)] == key_fields
    assert [sum(r[f] for r in rows) for f in FIGURES[1:]] == [16, 15, 6, 2]


@pytest.mark.parametrize("region, actions, expected", [
    (None, ("check", "redeem"), [("event_full", 1), ("expired", 2), ("unknown_card", 1)]),
    (None, ("check",), [("expired", 2), ("unknown_card", 1)]),
    ("a", ("check", "redeem"), [("event_full", 1), ("expired", 1)]),
    ("b", ("check", "redeem"), [("expired", 1), ("unknown_card", 1)]),
])
def test_refused_scans_by_reason(data, region, actions, expected):
    assert run(queries.refused_scans_by_reason(scope(data, region), JAN, APR, actions)) == expected


def test_suppress_small_hides_the_figures_of_cells_under_five_cards(data):
    gender = queries.suppress_small(
        db.session.execute(queries.uses_by_gender(None, JAN, APR)), ["gender"])
    by_gender = {row["gender"]: row for row in gender}
    assert by_gender["female"] == {"gender": "female", "distinct_cards": 5, "uses": 7,
                                   "adults": 6, "children": 3, "assistants": 0}
    assert by_gender["male"] == {"gender": "male", **dict.fromkeys(FIGURES, "<5")}
    category = queries.suppress_small(
        db.session.execute(queries.uses_by_category(None, JAN, APR)), ["category"])
    assert {row["category"]: row["uses"] for row in category} == {
        "culture": 7, "education": "<5", "science": "<5", "sports": "<5"}


@pytest.mark.parametrize("cards, shown", [(4, "<5"), (5, 5), (0, "<5")])
def test_suppress_small_on_plain_rows(cards, shown):
    row = {"venue_id": 3, "venue_name": "Sali", "distinct_cards": cards, "uses": 9, "adults": 9,
           "children": 0, "assistants": 1}
    [result] = queries.suppress_small([row], ("venue_id", "venue_name"))
    assert result["venue_id"] == 3 and result["venue_name"] == "Sali"
    assert result["distinct_cards"] == shown
    assert result["uses"] == (9 if shown == 5 else "<5")


def test_a_range_with_no_data_gives_no_rows(data):
    empty = date(2022, 1, 1), date(2022, 2, 1)
    assert run(queries.uses_by_month(None, *empty)) == []
    assert run(queries.cards_taken_into_use_by_month(None, *empty)) == []
    assert run(queries.cards_in_force_by_month(None, *empty)) == [("2022-01", 0)]


def test_cards_table_holds_the_hand_counted_cards(data):
    # Guard for the fixture itself: eleven issued cards and one blank.
    statuses = db.session.scalars(sa.select(Card.status)).all()
    assert len(statuses) == 12 and statuses.count("unissued") == 1


# --- flask seed-synthetic ------------------------------------------------------------------

SYNTH_TODAY = date(2024, 6, 15)


def synthetic_figures() -> dict:
    """The figures a synthetic run should reproduce for its seed."""
    by_category = dict(db.session.execute(
        sa.select(Visit.category, sa.func.count()).group_by(Visit.category)).all())
    by_status = dict(db.session.execute(
        sa.select(Card.status, sa.func.count()).group_by(Card.status)).all())
    tickets = db.session.execute(sa.select(sa.func.sum(Visit.children),
                                           sa.func.sum(Visit.assistants))).one()
    return {"categories": by_category, "statuses": by_status, "tickets": tuple(tickets)}


def test_synthetic_data_has_the_promised_proportions(app):
    counts = synthetic.generate(2_000, 10_000, seed=11, today=SYNTH_TODAY)
    assert counts["cards"] == 2_000 and counts["visits"] == 10_000
    ok = sa.and_(Visit.status == "ok")
    uses = db.session.scalar(sa.select(sa.func.count()).where(ok))
    used = db.session.scalar(sa.select(sa.func.count(sa.distinct(Visit.card_id))).where(ok))
    children = db.session.scalar(sa.select(sa.func.sum(Visit.children)).where(ok))
    assert abs(used / 2_000 - 0.30) <= 0.05
    assert abs(children / uses - 0.20) <= 0.05
    shares = {c: n / uses for c, n in db.session.execute(
        sa.select(Visit.category, sa.func.count()).where(ok).group_by(Visit.category))}
    for category, share in synthetic.CATEGORY_WEIGHTS.items():
        assert abs(shares[category] - share) <= 0.05, category
    assert max(shares, key=shares.get) == "culture"


def test_synthetic_culture_thins_out_in_summer_and_sports_do_not(app):
    synthetic.generate(2_000, 10_000, seed=3, today=SYNTH_TODAY)
    july = db.session.scalar(_category_uses("culture", date(2023, 7, 1), date(2023, 8, 1)))
    march = db.session.scalar(_category_uses("culture", date(2023, 3, 1), date(2023, 4, 1)))
    sports_july = db.session.scalar(_category_uses("sports", date(2023, 7, 1), date(2023, 8, 1)))
    sports_march = db.session.scalar(_category_uses("sports", date(2023, 3, 1), date(2023, 4, 1)))
    assert july < 0.6 * march
    assert sports_july > 0.7 * sports_march


def _category_uses(category: str, start: date, end: date):
    """A select of one category's ok uses in a range."""
    rows = queries.uses_by_category(None, start, end).subquery()
    return sa.select(rows.c.uses).where(rows.c.category == category)


def empty_schema() -> None:
    """Start again from empty tables (the session's open read ends first)."""
    db.session.remove()
    db.drop_all()
    db.create_all()


def test_synthetic_data_is_the_same_for_the_same_seed(app):
    synthetic.generate(300, 1_500, seed=5, today=SYNTH_TODAY)
    first = synthetic_figures()
    empty_schema()
    synthetic.generate(300, 1_500, seed=5, today=SYNTH_TODAY)
    assert synthetic_figures() == first
    empty_schema()
    synthetic.generate(300, 1_500, seed=6, today=SYNTH_TODAY)
    assert synthetic_figures() != first


def test_synthetic_cards_have_valid_unique_numbers_and_replacements_point_at_real_cards(app):
    synthetic.generate(500, 1_000, seed=2, today=SYNTH_TODAY)
    numbers = db.session.scalars(sa.select(Card.number)).all()
    assert len(set(numbers)) == len(numbers) == 500
    assert all(is_valid_number(n) for n in numbers)
    successor = aliased(Card)
    pairs = db.session.execute(sa.select(Card.status, Card.region_id, successor.region_id,
                                         Card.valid_until, successor.valid_until)
                               .join(successor, successor.id == Card.replaced_by_id)).all()
    assert pairs and all(s in ("lost", "replaced") and r1 == r2 and v1 == v2
                         for s, r1, r2, v1, v2 in pairs)


def test_seed_synthetic_command_prints_counts_and_time(runner, world):
    result = runner.invoke(args=["seed-synthetic", "--cards", "200", "--visits", "600",
                                 "--seed", "4"])
    assert result.exit_code == 0, result.output
    assert "200 cards" in result.output and "600 visits" in result.output
    assert result.output.rstrip().endswith(" s")
    # Existing regions are reused: the world's two regions now have venues of every category.
    assert db.session.scalar(sa.select(sa.func.count(Region.id))) == 2
    categories = db.session.execute(sa.select(Venue.region_id, Venue.category).distinct()).all()
    assert len(categories) == 8
    assert db.session.scalar(sa.select(sa.func.count(Visit.id))) == 600
