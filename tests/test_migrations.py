"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from app.extensions import db


def drop_everything() -> None:
    """Leave the database empty: the models' tables and alembic's version table."""
    db.drop_all()
    with db.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture
def empty(app):
    """An empty database, emptied again afterwards (PostgreSQL's is shared by the run)."""
    drop_everything()
    yield
    drop_everything()


def schema_differences() -> list:
    """What alembic would still have to change to make the database match the models."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "compare_server_default": True})
        return compare_metadata(context, db.metadata)


def tables() -> set[str]:
    """The tables in the database, less alembic's bookkeeping."""
    return set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_head_gives_exactly_the_models_schema(empty):
    upgrade()
    assert tables() == set(db.metadata.tables)
    assert schema_differences() == []


def test_the_models_schema_differs_from_an_empty_database_so_the_comparison_can_fail(empty):
    differences = schema_differences()
    assert {d[1].name for d in differences if d[0] == "add_table"} == set(db.metadata.tables)


def test_downgrade_to_base_removes_every_table_and_upgrade_rebuilds_them(empty):
    upgrade()
    downgrade(revision="base")
    assert tables() == set()
    upgrade()
    assert schema_differences() == []


def test_the_migrated_database_keeps_the_constraints_that_protect_the_data(empty):
    upgrade()
    inspector = sa.inspect(db.engine)
    unique_cards = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("cards")}
    unique_visits = {tuple(u["column_names"]) for u in inspector.get_unique_constraints("visits")}
    checks = {c["name"] for c in inspector.get_check_constraints("visits")}
    assert ("number",) in unique_cards
    assert ("nonce",) in unique_visits
    assert {"ck_visits_adults_range", "ck_visits_at_least_one_person"} <= checks
    assert {fk["referred_table"] for fk in inspector.get_foreign_keys("visits")} >= {
        "cards", "venues", "events", "users"}


def test_every_check_constraint_of_the_models_is_in_the_migrated_database(empty):
    upgrade()
    inspector = sa.inspect(db.engine)
    for table in db.metadata.sorted_tables:
        wanted = {c.name for c in table.constraints if isinstance(c, sa.CheckConstraint)}
        found = {c["name"] for c in inspector.get_check_constraints(table.name)}
        assert wanted <= found, (table.name, wanted - found)
