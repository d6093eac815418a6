"""Looking after the data (DESIGN §10): backups of the SQLite database, and purging cards past
their retention time.

`flask backup PATH` copies the live SQLite database with SQLite's online backup API: a
consistent snapshot while the server keeps running (WAL readers and writers are not stopped).
`flask restore PATH` puts such a copy back (stop the servers first). PostgreSQL deployments use
pg_dump / pg_restore; both commands say so and change nothing.

`flask purge [--years N]` deletes the cards whose validity ended more than N years ago
(KAIKU_RETENTION_YEARS, default 5). Their visits stay as anonymous uses (venue, day, tickets,
category) with no card; the statistics tables keep every figure they had, distinct cards and
the holders' facts included, because a purge changes no visit's change stamp and the tables
carry no foreign key to cards. A full rebuild (`flask stats-refresh --full`) after a purge
counts the purged cards' uses under "not known" and no longer as distinct cards.
"""
from __future__ import annotations

import os
import sqlite3
from datetime import date, datetime
from pathlib import Path

import click
import sqlalchemy as sa

from app.extensions import db
from app.files import UnsafePath, create_private, private_folder, regular_file, sqlite_read_only_uri
from app.models import AuditEvent, Card, Visit
from app.rules import TZ, years_after

DEFAULT_RETENTION_YEARS = 5
CHUNK = 1_000


def _sqlite_path() -> Path:
    """The SQLite database file, or a usage error on any other database."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise click.UsageError("backup and restore work on a SQLite database file; "
                               "for PostgreSQL use pg_dump and pg_restore")
    return Path(url.database)


def backup_to(target: Path) -> int:
    """Copy the live database into `target`, a new file 0600 (never through a link); its size."""
    source_path = _sqlite_path()
    private_folder(target.parent)
    try:
        create_private(target)
    except UnsafePath as exc:
        raise click.UsageError(str(exc)) from None
    except FileExistsError:
        raise click.UsageError(f"{target} exists: choose a new file") from None
    source = sqlite3.connect(source_path)
    copy = sqlite3.connect(target)
    try:
        with copy:
            source.backup(copy)
        problems = copy.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        copy.close()
        source.close()
    if problems != "ok":
        target.unlink()
        raise click.ClickException(f"the copy failed its integrity check: {problems}")
    return target.stat().st_size


def restore_from(source_path: Path) -> None:
    """Replace the live database's contents with a backup's (servers must be stopped)."""
    target_path = _sqlite_path()
    try:
        regular_file(source_path)
        regular_file(target_path)  # the live database is written in place, not through a link
    except UnsafePath as exc:
        raise click.UsageError(str(exc)) from None
    source = sqlite3.connect(sqlite_read_only_uri(source_path), uri=True)
    try:
        if source.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise click.ClickException(f"{source_path} fails SQLite's integrity check")
        tables = source.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                "AND name IN ('cards', 'visits', 'regions')")
        if tables.fetchone()[0] != 3:
            raise click.ClickException(f"{source_path} is not a Kaikukortti database")
        db.session.remove()
        db.engine.dispose()
        target = sqlite3.connect(target_path)
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


def purge(years: int, today: date) -> dict[str, int]:
    """Delete cards whose validity ended more than `years` years before `today`."""
    cutoff = years_after(today, -years)
    expired = db.session.scalars(sa.select(Card.id).where(Card.valid_until < cutoff)
                                 .order_by(Card.id)).all()
    counts = {"cards": 0, "visits": 0}
    for start in range(0, len(expired), CHUNK):
        chunk = expired[start:start + CHUNK]
        counts["visits"] += db.session.execute(
            sa.update(Visit).where(Visit.card_id.in_(chunk)).values(card_id=None)
            .execution_options(synchronize_session=False)).rowcount
        # A remaining card that names a purged one as its successor no longer does.
        db.session.execute(sa.update(Card).where(Card.replaced_by_id.in_(chunk))
                           .values(replaced_by_id=None).execution_options(synchronize_session=False))
        counts["cards"] += db.session.execute(
            sa.delete(Card).where(Card.id.in_(chunk)).execution_options(synchronize_session=False)).rowcount
    db.session.add(AuditEvent(actor_id=None, action="cards.purge", object_type="cards",
                              details={"cutoff": cutoff.isoformat(), **counts}))
    db.session.commit()
    return counts


@click.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(target: Path) -> None:
    """Copy the SQLite database to TARGET while it runs (SQLite's online backup)."""
    size = backup_to(target)
    click.echo(f"backed up to {target} ({size:,} bytes, integrity ok)")


@click.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask: the current data is replaced.")
def restore_command(source: Path, yes: bool) -> None:
    """Replace the SQLite database with the backup SOURCE (stop the servers first)."""
    if not yes:
        click.confirm(f"Replace every row of {_sqlite_path()} with {source}?", abort=True)
    restore_from(source)
    click.echo(f"restored from {source}; run `flask db upgrade` if the backup is older than the code")


@click.command("purge")
@click.option("--years", type=click.IntRange(min=1),
              help="Retention in years after a card's validity ends (default KAIKU_RETENTION_YEARS or 5).")
@click.option("--yes", is_flag=True, help="Do not ask before deleting.")
def purge_command(years: int | None, yes: bool) -> None:
    """Delete cards whose validity ended more than the retention time ago; keep their uses."""
    years = years or int(os.environ.get("KAIKU_RETENTION_YEARS", DEFAULT_RETENTION_YEARS))
    if not yes:
        click.confirm(f"Delete the cards whose validity ended more than {years} years ago?", abort=True)
    counts = purge(years, datetime.now(TZ).date())
    click.echo(f"purged {counts['cards']} cards; {counts['visits']} visits kept without a card")
