"""Flask commands (DESIGN §10): accounts, demo data, signing keys."""
from __future__ import annotations

import json
import os
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from app import demo
from app.cardcodes import rotate_key
from app.extensions import db
from app.files import write_private
from app.maintenance import backup_command, purge_command, restore_command
from app.models import ROLES, IssuingSite, Region, User, Venue
from app.stats.rollup import stats_refresh
from app.stats.synthetic import seed_synthetic

keys_cli = AppGroup("keys", help="Manage the keys that sign card QR codes.")


@click.command("create-user")
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--region", "region_code", help="Region code (coordinator; optional otherwise).")
@click.option("--site", "site_id", type=int, help="Issuing site id (issuer).")
@click.option("--venue", "venue_ids", type=int, multiple=True, help="Venue id (boxoffice); repeatable.")
def create_user(username: str, password: str, role: str, region_code: str | None,
                site_id: int | None, venue_ids: tuple[int, ...]) -> None:
    """Create a staff account."""
    if db.session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise click.UsageError(f"username {username!r} is taken")
    if len(password) < 8:
        raise click.UsageError("the password must have at least 8 characters")
    region, site, venues = _scope(role, region_code, site_id, venue_ids)
    user = User(username=username, role=role, region=region, issuing_site=site, venues=venues)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    click.echo(f"created {role} {username} (id {user.id})")


def _scope(role: str, region_code: str | None, site_id: int | None,
           venue_ids: tuple[int, ...]) -> tuple[Region | None, IssuingSite | None, list[Venue]]:
    region = None
    if region_code:
        region = db.session.scalar(sa.select(Region).where(Region.code == region_code))
        if region is None:
            raise click.UsageError(f"no region with code {region_code!r}")
    site = db.session.get(IssuingSite, site_id) if site_id else None
    if site_id and site is None:
        raise click.UsageError(f"no issuing site with id {site_id}")
    venues = [db.session.get(Venue, v) for v in venue_ids]
    if None in venues:
        raise click.UsageError("no venue with one of the ids given")
    needs = {"coordinator": region, "issuer": site, "boxoffice": venues}
    if role in needs and not needs[role]:
        flag = {"coordinator": "--region", "issuer": "--site", "boxoffice": "--venue"}[role]
        raise click.UsageError(f"a {role} account needs {flag}")
    if role == "admin" and (region or site or venues):
        raise click.UsageError("an admin account covers every region; give no scope")
    owner = site.region if site else (venues[0].region if venues else None)
    if owner and region and owner.id != region.id:
        raise click.UsageError("the site or venue is not in the region given")
    if any(v.region_id != venues[0].region_id for v in venues):
        raise click.UsageError("the venues of one account must be in one region")
    return region or owner, site, venues


@click.command("seed-demo")
@click.option("--json", "as_json", is_flag=True, help="Print the demo data as one JSON document.")
@click.option("--base-url", default="http://127.0.0.1:8000", show_default=True)
def seed_demo(as_json: bool, base_url: str) -> None:
    """Seed demo data into an empty database; print its accounts and cards."""
    saved = Path(current_app.instance_path) / "demo.json"
    if demo.is_empty():
        document = demo.seed(base_url.rstrip("/"))
        write_private(saved, json.dumps(document, ensure_ascii=False, indent=2))
        note = "seeded demo data"
    elif saved.exists():
        document = json.loads(saved.read_text())
        note = "the database is not empty; showing the demo data seeded earlier"
    elif as_json:
        raise click.ClickException("the database is not empty and holds no demo data")
    else:
        click.echo("the database is not empty: no demo data was added")
        return
    if as_json:
        click.echo(json.dumps(document, ensure_ascii=False, indent=2))
        return
    click.echo(note)
    for account in document["accounts"]:
        click.echo(f"  {account['role']:<12} {account['username']:<16} {account['password']}")


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Start signing new card codes with a new key; old codes keep verifying."""
    if os.environ.get("CARD_SIGNING_KEYS"):
        raise click.ClickException(
            "keys come from CARD_SIGNING_KEYS: add a new key there (highest id signs)")
    key_id = rotate_key(current_app.config["SIGNING_KEY_DIR"])
    click.echo(f"new signing key {key_id}; restart the server processes to use it")


def init_app(app: Flask) -> None:
    """Register the commands."""
    for command in (create_user, seed_demo, keys_cli, seed_synthetic, stats_refresh, backup_command,
                    restore_command, purge_command):
        app.cli.add_command(command)
