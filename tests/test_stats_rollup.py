"""The statistics tables (app/stats/rollup.py) give the very figures the visits give.

The year-to-date reports read the tables; every other range reads the visits. Both must agree
on the hand-counted world and on synthetic data, after a full rebuild and after the changes a
live register sees: late offline records, annulments, conflicts resolved, new visits today.
"""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.cards import service as cards_service
from app.extensions import db
from app.models import Card, StatCardSpan, StatCardYear, StatState, Visit
from app.rules import local_date
from app.stats import figures, rollup, synthetic
from tests.support import factories
from tests.test_stats_queries import APR, JAN, data  # noqa: F401  (the hand-counted world)

TODAY = date(2025, 6, 15)


def normalised(result: dict) -> dict:
    """Figures with split rows in key order; venue-side splits carry no distinct cards."""
    for name, rows in result["splits"].items():
        for row in rows:
            if name not in rollup.STAT_DIMENSIONS:
                row["cards"] = None
        rows.sort(key=lambda r: (r["key"] is None, str(r["key"])))
    return result


def assert_same(region_id, start, end):
    raw = normalised(figures.collect_raw(region_id, start, end))
    fast = normalised(figures.collect_fast(region_id, start, end))
    for part in raw:
        assert fast[part] == raw[part], (region_id, start, end, part)


def test_a_year_to_date_range_is_read_from_the_tables_and_others_from_the_visits():
    assert figures.is_year_to_date(date(2024, 1, 1), date(2025, 1, 1))
    assert figures.is_year_to_date(date(2024, 1, 1), date(2024, 3, 17))
    assert not figures.is_year_to_date(date(2024, 2, 1), date(2024, 3, 1))
    assert not figures.is_year_to_date(date(2024, 1, 1), date(2025, 1, 2))
    with pytest.raises(ValueError):
        figures.collect_fast(None, date(2024, 2, 1), date(2024, 3, 1))


@pytest.mark.parametrize("region", [None, "a", "b"])
def test_tables_agree_with_the_hand_counted_world(data, region):  # noqa: F811
    rollup.refresh()
    region_id = None if region is None else getattr(data, region)
    for end in (APR, date(2024, 2, 1), date(2024, 3, 1), date(2025, 1, 1)):
        assert_same(region_id, JAN, end)


def test_the_hand_counted_world_through_the_tables_has_the_hand_counted_figures(data):  # noqa: F811
    """A spot check that does not lean on the raw queries: region A, January–March 2024."""
    rollup.refresh()
    result = figures.collect(data.a, JAN, APR)
    assert [m["uses"] for m in result["months"]] == [5, 3, 3]
    gender = {row["key"]: (row["cards"], row["uses"]) for row in result["splits"]["gender"]}
    assert gender == {"female": (4, 5), "male": (3, 4), "other": (1, 1), None: (1, 1)}


@pytest.fixture
def synthetic_world(app):
    synthetic.generate(cards=400, visits=4000, seed=3, today=TODAY)
    return app


def test_tables_agree_with_synthetic_data_after_a_full_rebuild(synthetic_world):
    counts = rollup.refresh()
    assert counts["stat_card_years"] > 0
    regions = [None, *db.session.scalars(sa.text("SELECT id FROM regions ORDER BY id"))]
    for region_id in regions:
        for start, end in ((date(2024, 1, 1), date(2025, 1, 1)), (date(2025, 1, 1), TODAY)):
            assert_same(region_id, start, end)


def _add_visit(card_id: int, venue_id: int, user_id: int, at: datetime, **extra) -> Visit:
    visit = Visit(card_id=card_id, venue_id=venue_id, user_id=user_id, adults=1, children=2,
                  assistants=0, category="culture", occurred_at=at, nonce=str(uuid.uuid4()),
                  source="offline", **extra)
    db.session.add(visit)
    return visit


def test_changes_after_a_refresh_are_taken_in_by_the_next_one(synthetic_world):
    rollup.refresh()
    assert rollup.refresh() == {}  # nothing changed (the margin rereads only recent changes)
    now = datetime.now(UTC)
    ok = sa.select(Visit).where(Visit.status == "ok")
    first = db.session.scalars(ok.order_by(Visit.occurred_at)).first()
    last = db.session.scalars(ok.order_by(Visit.occurred_at.desc())).first()
    middle = db.session.scalars(ok.order_by(Visit.occurred_at).offset(1000)).first()
    old = [first, last, middle]
    # The first visit of all (its card's first use that year) annulled, the last one annulled
    # by a coordinator resolving a conflict, an offline record of last March synced only now,
    # and a new card's first use today.
    old[0].status, old[0].annulled_at = "annulled", now
    old[1].status, old[1].conflict_resolution, old[1].conflict_resolved_at = "annulled", "annul", now
    _add_visit(old[2].card_id, old[2].venue_id, old[2].user_id, datetime(2024, 3, 3, 12, tzinfo=UTC),
               recorded_at=now)
    unused = db.session.scalar(sa.select(sa.text("id FROM cards WHERE id NOT IN "
                                                 "(SELECT card_id FROM visits) ORDER BY id")))
    _add_visit(unused, old[2].venue_id, old[2].user_id, now - timedelta(minutes=1), recorded_at=now)
    db.session.commit()
    counts = rollup.refresh()
    assert 0 < counts["stat_venue_days"] < 50
    years = {v.occurred_at.year for v in old} | {2024, now.year}
    for region_id in (None, *db.session.scalars(sa.text("SELECT id FROM regions"))):
        for year in years:
            assert_same(region_id, date(year, 1, 1), date(year + 1, 1, 1))
    assert db.session.scalar(sa.select(sa.func.count()).where(
        StatCardYear.card_id == unused, StatCardYear.year == now.year)) == 2  # its region + anywhere


def test_a_change_recorded_before_the_refresh_mark_but_committed_after_is_still_taken(synthetic_world):
    """A transaction still open while a refresh reads: its recorded_at is just before the
    refresh began; the margin makes the next refresh look at it."""
    before = datetime.now(UTC) - timedelta(seconds=30)
    rollup.refresh()
    state = db.session.get(StatState, 1)
    assert state.since <= before
    visit = db.session.scalars(sa.select(Visit).where(Visit.status == "ok")).first()
    _add_visit(visit.card_id, visit.venue_id, visit.user_id, datetime(2024, 5, 5, 9, tzinfo=UTC),
               recorded_at=before)
    db.session.commit()
    rollup.refresh()
    assert_same(None, date(2024, 1, 1), date(2025, 1, 1))


def test_cards_renewed_replaced_deactivated_and_registered_after_a_refresh_are_taken_in(world):
    """Cards in force and registered, through the card service, as issuers change cards."""
    synthetic.generate(cards=300, visits=1000, seed=5, today=TODAY)
    rollup.refresh()
    issuer = world.users["issuer"]
    active = db.session.scalars(sa.select(Card).where(Card.status == "active", Card.region_id == world.a.id)
                                .order_by(Card.issued_at)).all()
    assert len(active) >= 4
    now_year = datetime.now(UTC).year
    # A card that had lapsed long ago renewed today, one replaced, one deactivated.
    cards_service.renew(issuer, active[0])
    new, _token = cards_service.replace(issuer, active[1], "lost")
    cards_service.deactivate(issuer, active[2], "holder_request")
    counts = rollup.refresh()
    # Spans stored anew: the renewed card, the lost one and the deactivated one (in force until
    # today, when the audit log has it deactivated). The successor took over a validity that
    # had already run out.
    assert counts["stat_card_spans"] == 3
    assert db.session.get(StatCardSpan, new.id) is None
    assert db.session.get(StatCardSpan, active[2].id).end_day <= local_date(datetime.now(UTC))
    for region_id in (None, world.a.id, world.b.id):
        for year in sorted({TODAY.year - 2, TODAY.year - 1, TODAY.year, now_year}):
            assert_same(region_id, date(year, 1, 1), date(year + 1, 1, 1))
    result = figures.collect(world.a.id, date(now_year, 1, 1), date(now_year + 1, 1, 1))
    month = result["months"][datetime.now(UTC).month - 1]
    assert month["registered"] >= 1  # the replacement card


def test_a_refresh_after_only_blank_cards_were_printed_counts_nothing_and_fails_not(world):
    """Blank cards printed for later issuing change no day of the statistics: the next
    refresh (and the dashboard that runs it) must still work."""
    card = factories.card(world.a)
    card.issued_at = card.changed_at = datetime.now(UTC) - timedelta(days=2)
    db.session.commit()
    rollup.refresh()
    blank = factories.card(world.a, status="unissued")
    blank.changed_at = datetime.now(UTC)
    db.session.commit()
    counts = rollup.refresh()
    assert counts["stat_card_spans"] == counts["stat_card_days"] == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StatCardSpan)) == 1
