"""Kaikukortti card check: the application factory."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from werkzeug.routing import IntegerConverter

from app import config, timing
from app.files import private_folder

MAX_ID = 2**31 - 1


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure one instance of the application."""
    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_path=os.environ.get("KAIKU_INSTANCE") or None)
    private_folder(Path(app.instance_path))
    app.config.update(config.from_environment(app.instance_path))
    if test_config:
        app.config.update(test_config)
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True
    register_extensions(app)
    register_blueprints(app)
    register_cli(app)
    timing.init_app(app)  # Server-Timing for the benchmarks, only with KAIKU_SERVER_TIMING=1
    return app


def register_extensions(app: Flask) -> None:
    """Bind the database, migrations, CSRF, login, languages and the signing keys."""
    from app import database, i18n, ratelimit  # noqa: F401 (ratelimit registers its storage)
    from app.cardcodes import load_keyring
    from app.extensions import csrf, db, limiter, migrate

    database.create_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])
    db.init_app(app)
    database.configure_engines()
    migrate.init_app(app, db, render_as_batch=True, render_item=database.render_item,
                     directory=os.path.normpath(os.path.join(app.root_path, "..", "migrations")))
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    app.extensions["keyring"] = load_keyring(app.config["SIGNING_KEY_DIR"], os.environ)


class IdConverter(IntegerConverter):
    """`<int:…>` in routes: ids from 1 to 2**31 − 1. A longer number is no page (404) instead
    of an integer the database cannot hold (a 500 on PostgreSQL)."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def register_blueprints(app: Flask) -> None:
    """Attach each feature's blueprint and the shared error handlers."""
    app.url_map.converters["int"] = IdConverter
    from app import auth, cards, errors, holder, input_guard, manage, scan, security, site, stats

    auth.init_app(app)
    app.register_blueprint(site.bp)
    app.register_blueprint(cards.bp)
    app.register_blueprint(holder.bp)
    app.register_blueprint(scan.bp)
    app.register_blueprint(scan.api)
    app.register_blueprint(manage.bp)
    app.register_blueprint(stats.bp)
    errors.init_app(app)
    security.init_app(app)
    input_guard.init_app(app)


def register_cli(app: Flask) -> None:
    """Add the flask commands of DESIGN §10."""
    from app import cli

    cli.init_app(app)
