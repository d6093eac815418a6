"""Looking after the data: `flask backup` / `flask restore` and `flask purge` (DESIGN §10)."""
from __future__ import annotations

import sqlite3
import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.maintenance import purge
from app.models import AuditEvent, Card, ScanAttempt, StatCardYear, Visit
from app.stats import figures, rollup
from tests.support import factories

TODAY = date(2031, 6, 15)


def sqlite_only(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("backup and restore are for SQLite; PostgreSQL uses pg_dump")


def visit(card: Card | None, venue, user, at: datetime, **extra) -> Visit:
    row = Visit(card=card, venue=venue, user_id=user.id, adults=1, children=0, assistants=0,
                category=venue.category, occurred_at=at, nonce=str(uuid.uuid4()),
                **{"source": "camera", "recorded_at": at, **extra})
    db.session.add(row)
    return row


def test_backup_is_a_consistent_copy_taken_while_the_server_writes(app, world, runner, tmp_path):
    """A writer adds a visit and its scan attempt in one transaction, over and over: in the
    copy every visit has its attempt (a torn copy would show one without the other)."""
    sqlite_only(app)
    card, door = factories.card(world.a), world.users["boxoffice"]
    db.session.commit()
    card_id, venue_id, door_id = card.id, world.theatre.id, door.id
    stop = threading.Event()

    def write() -> None:
        with app.app_context():
            while not stop.is_set():
                row = Visit(card_id=card_id, venue_id=venue_id, user_id=door_id, adults=1,
                            category="culture", occurred_at=datetime.now(UTC),
                            nonce=str(uuid.uuid4()), source="camera")
                db.session.add(row)
                db.session.flush()
                db.session.add(ScanAttempt(action="redeem", card_number=None, code_hash="x" * 64,
                                           venue_id=venue_id, user_id=door_id, reason="ok",
                                           visit_id=row.id))
                db.session.commit()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        target = tmp_path / "copy" / "kaiku-backup.db"
        result = runner.invoke(args=["backup", str(target)])
    finally:
        stop.set()
        writer.join()
    assert result.exit_code == 0, result.output
    assert "integrity ok" in result.output
    copy = sqlite3.connect(target)
    visits = copy.execute("SELECT count(*) FROM visits").fetchone()[0]
    attempts = copy.execute("SELECT count(*) FROM scan_attempts WHERE visit_id IS NOT NULL").fetchone()[0]
    assert visits == attempts
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    copy.close()
    again = runner.invoke(args=["backup", str(target)])
    assert again.exit_code != 0 and "exists" in again.output  # never overwrites a backup


def test_restore_puts_the_backup_back_and_the_app_reads_it(app, world, runner, tmp_path):
    sqlite_only(app)
    kept = factories.card(world.a)
    db.session.commit()
    kept_number = kept.number
    target = tmp_path / "before.db"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    # After the backup: a card is lost to a mistake and another is added.
    db.session.delete(db.session.get(Card, kept.id))
    later = factories.card(world.a)
    db.session.commit()
    later_number = later.number
    refused = runner.invoke(args=["restore", str(target)], input="n\n")
    assert refused.exit_code != 0 and db.session.scalar(
        sa.select(Card.id).where(Card.number == kept_number)) is None  # asked, said no: unchanged
    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    numbers = set(db.session.scalars(sa.select(Card.number)))
    assert kept_number in numbers and later_number not in numbers
    client = app.test_client()
    assert client.get("/healthz").status_code == 200


def test_restore_refuses_a_file_that_is_not_a_kaikukortti_database(app, runner, tmp_path):
    sqlite_only(app)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    result = runner.invoke(args=["restore", str(other), "--yes"])
    assert result.exit_code != 0 and "not a Kaikukortti database" in result.output


def test_backup_on_postgresql_says_to_use_pg_dump(app, runner, tmp_path):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the PostgreSQL answer")
    result = runner.invoke(args=["backup", str(tmp_path / "x.db")])
    assert result.exit_code != 0 and "pg_dump" in result.output


def test_restore_on_postgresql_says_to_use_pg_restore_and_changes_nothing(app, world, runner,
                                                                         tmp_path):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the PostgreSQL answer")
    other = tmp_path / "other.db"
    other.write_bytes(b"")
    cards = db.session.scalar(sa.select(sa.func.count(Card.id)))
    result = runner.invoke(args=["restore", str(other), "--yes"])
    assert result.exit_code != 0 and "pg_restore" in result.output
    assert not (tmp_path / "x.db").exists()
    assert db.session.scalar(sa.select(sa.func.count(Card.id))) == cards


# Paths: the file named is the file opened, never through a link; what is written is 0600


def backup_holding(runner, world, path, count: int) -> None:
    """A backup at `path` taken when the database held `count` cards (more are added first)."""
    while db.session.scalar(sa.select(sa.func.count(Card.id))) < count:
        factories.card(world.a)
        db.session.commit()
    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output


def card_count() -> int:
    """How many cards the live database holds now."""
    db.session.remove()
    return db.session.scalar(sa.select(sa.func.count(Card.id)))


@pytest.mark.parametrize("name, decoy", [("odd#intended.db", "odd"), ("x%41.db", "xA.db"),
                                         ("why?mode=rw.db", "why")])
def test_restore_opens_the_file_named_whatever_characters_its_name_has(app, world, runner,
                                                                       tmp_path, name, decoy):
    sqlite_only(app)
    backup_holding(runner, world, tmp_path / decoy, 1)  # what a file: URI would have opened
    backup_holding(runner, world, tmp_path / name, 3)  # the backup meant
    factories.card(world.a)
    db.session.commit()
    result = runner.invoke(args=["restore", str(tmp_path / name), "--yes"])
    assert result.exit_code == 0, result.output
    assert card_count() == 3


def test_restore_refuses_a_backup_that_is_a_symbolic_link(app, world, runner, tmp_path):
    sqlite_only(app)
    backup_holding(runner, world, tmp_path / "real.db", 1)
    (tmp_path / "link.db").symlink_to(tmp_path / "real.db")
    factories.card(world.a)
    db.session.commit()
    result = runner.invoke(args=["restore", str(tmp_path / "link.db"), "--yes"])
    assert result.exit_code != 0 and "symbolic link" in result.output
    assert card_count() == 2


@pytest.mark.parametrize("dangling", [True, False])
def test_backup_refuses_to_write_through_a_symbolic_link(app, world, runner, tmp_path, dangling):
    sqlite_only(app)
    victim = tmp_path / "elsewhere.db"
    if not dangling:
        victim.write_bytes(b"precious")
    (tmp_path / "backup.db").symlink_to(victim)
    result = runner.invoke(args=["backup", str(tmp_path / "backup.db")])
    assert result.exit_code != 0 and "symbolic link" in result.output
    assert (not victim.exists()) if dangling else victim.read_bytes() == b"precious"


def mode_of(path) -> int:
    """The permission bits of a file."""
    return path.stat().st_mode & 0o777


def test_a_backup_is_readable_by_its_owner_only(app, world, runner, tmp_path):
    sqlite_only(app)
    target = tmp_path / "new-folder" / "backup.db"
    backup_holding(runner, world, target, 1)
    assert mode_of(target) == 0o600
    assert mode_of(target.parent) == 0o700


def test_the_database_and_the_instance_folder_are_created_for_their_owner_only(
        tmp_path, monkeypatch):
    from app import create_app

    instance = tmp_path / "odd%41#instance"
    monkeypatch.setenv("KAIKU_INSTANCE", str(instance))
    fresh = create_app({"TESTING": True, "SIGNING_KEY_DIR": str(tmp_path / "keys")})
    with fresh.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()
    database = instance / "kaikukortti.db"  # the folder's own name, '%41' and '#' included
    assert mode_of(database) == 0o600
    assert all(mode_of(p) == 0o600 for p in instance.glob("kaikukortti.db*"))
    assert mode_of(instance) == 0o700


@pytest.fixture
def old_and_new(world):
    """Cards of 2023–2025 (expired long before TODAY) and 2030 (valid), with uses."""
    door, theatre, hall = world.users["boxoffice"], world.theatre, world.hall_b
    cards = {}
    for name, region, issued, valid, gender in (
            ("old1", world.a, datetime(2024, 3, 1, 10, tzinfo=UTC), date(2025, 2, 28), "female"),
            ("old2", world.a, datetime(2024, 5, 1, 10, tzinfo=UTC), date(2025, 4, 30), "male"),
            ("old3", world.b, datetime(2023, 9, 1, 10, tzinfo=UTC), date(2024, 8, 31), "female"),
            ("new", world.a, datetime(2030, 1, 10, 10, tzinfo=UTC), date(2031, 12, 31), "female")):
        card = factories.card(region, valid_until=valid)
        card.issued_at, card.gender = issued, gender
        cards[name] = card
    db.session.flush()
    for name, venue, at in (("old1", theatre, "2024-03-05"), ("old1", hall, "2024-07-01"),
                            ("old2", theatre, "2024-06-01"), ("old3", hall, "2024-01-15"),
                            ("old3", hall, "2023-12-01"), ("new", theatre, "2030-02-02")):
        visit(cards[name], venue, door, datetime.fromisoformat(at + "T12:00").replace(tzinfo=UTC))
    # A card that names a purged one as its successor keeps existing without the link.
    cards["new"].replaced_by = None
    cards["old3"].replaced_by = cards["old1"]
    db.session.commit()
    return {name: card.id for name, card in cards.items()}


def figures_of(region_ids, years):
    rollup.refresh()
    return {(r, y): figures.collect(r, date(y, 1, 1), date(y + 1, 1, 1)) for r in region_ids for y in years}


def test_purge_deletes_expired_cards_keeps_their_uses_and_every_statistic(app, world, old_and_new):
    regions, years = (None, world.a.id, world.b.id), (2023, 2024, 2025, 2030)
    before = figures_of(regions, years)
    assert before[(None, 2024)]["months"][2]["uses"] == 1  # old1 in March 2024
    counts = purge(5, TODAY)  # validity ended before 15 June 2026
    assert counts == {"cards": 3, "visits": 5}
    remaining = set(db.session.scalars(sa.select(Card.id)))
    assert old_and_new["new"] in remaining
    assert not remaining & {old_and_new[n] for n in ("old1", "old2", "old3")}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Visit)) == 6
    assert db.session.scalar(sa.select(sa.func.count()).where(Visit.card_id.is_(None))) == 5
    assert db.session.scalar(sa.select(AuditEvent.details).where(AuditEvent.action == "cards.purge")) \
        == {"cutoff": "2026-06-15", "cards": 3, "visits": 5}
    after = figures_of(regions, years)
    for key in before:
        for part in before[key]:
            assert after[key][part] == before[key][part], (key, part)
    # The statistics tables still count the purged cards as distinct cards of their year.
    assert db.session.scalar(sa.select(sa.func.count()).where(
        StatCardYear.year == 2024, StatCardYear.scope == rollup.ANYWHERE)) == 3


def test_a_late_change_on_a_day_with_purged_uses_keeps_those_uses_in_the_sums(app, world, old_and_new):
    figures_of((None,), (2024,))
    purge(5, TODAY)
    # A record of 5 March 2024 synced only now: that day is summed again from its visits.
    visit(db.session.get(Card, old_and_new["new"]), world.theatre, world.users["boxoffice"],
          datetime(2024, 3, 5, 15, tzinfo=UTC), source="offline", recorded_at=datetime.now(UTC))
    db.session.commit()
    after = figures_of((None,), (2024,))[(None, 2024)]
    assert after["months"][2]["uses"] == 2  # old1's purged use and the late one


def test_purge_command_asks_first_and_uses_the_retention_setting(app, world, old_and_new, runner,
                                                                 monkeypatch):
    monkeypatch.setenv("KAIKU_RETENTION_YEARS", "1")
    refused = runner.invoke(args=["purge"], input="n\n")
    assert refused.exit_code != 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Card)) >= 4
    result = runner.invoke(args=["purge", "--yes"])
    assert result.exit_code == 0, result.output
    cutoff = datetime.now(UTC).date() - timedelta(days=366)
    expected = sum(1 for v in (date(2025, 2, 28), date(2025, 4, 30), date(2024, 8, 31)) if v < cutoff)
    assert f"purged {expected} cards" in result.output
