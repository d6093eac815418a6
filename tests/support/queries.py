"""How many SQL statements a piece of work sends: for tests that a page reads in a fixed number."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from app.extensions import db


@contextmanager
def statements_sent() -> Iterator[Callable[[], int]]:
    """Count the statements sent inside the block; the count is read by calling what it yields."""
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_rest) -> None:
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield lambda: len(statements)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
