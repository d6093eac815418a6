"""Request limits counted in the database (app/ratelimit.py): one counter for every process."""
from __future__ import annotations

import time

import sqlalchemy as sa

from app.extensions import db, limiter
from app.models import RateLimitCounter
from app.ratelimit import DatabaseStorage


def storage() -> DatabaseStorage:
    """The limiter's storage of the test's app."""
    found = limiter._storage
    assert isinstance(found, DatabaseStorage)
    return found


def stored(key: str) -> RateLimitCounter | None:
    """A counter as another process would read it: from the database, not from this request."""
    db.session.rollback()
    return db.session.get(RateLimitCounter, key)


def test_hits_are_counted_in_the_database_in_one_window(app):
    started = time.time()
    assert [storage().incr("k", expiry=60) for _ in range(3)] == [1, 2, 3]
    row = stored("k")
    assert row.hits == 3
    assert started + 60 <= row.expires_at <= time.time() + 60
    assert storage().get("k") == 3


def test_a_counter_whose_window_ended_counts_again_from_one(app):
    storage().incr("k", expiry=60, amount=7)
    db.session.execute(sa.update(RateLimitCounter).values(expires_at=time.time() - 1))
    db.session.commit()
    assert storage().get("k") == 0
    assert storage().incr("k", expiry=60) == 1
    assert stored("k").expires_at > time.time()


def test_counters_whose_window_ended_are_swept_away(app):
    ended = time.time() - 1
    db.session.add_all([RateLimitCounter(key=f"old-{n}", hits=5, expires_at=ended)
                        for n in range(5)])
    db.session.commit()
    storage().incr("live", expiry=60)  # the first hit of the process sweeps
    assert db.session.scalars(sa.select(RateLimitCounter.key)).all() == ["live"]
    db.session.add(RateLimitCounter(key="old-again", hits=1, expires_at=ended))
    db.session.commit()
    storage().incr("live", expiry=60)  # within the minute: no sweep
    assert stored("old-again") is not None
    storage().next_sweep = 0.0  # a minute later
    storage().incr("live", expiry=60)
    assert stored("old-again") is None
    assert stored("live").hits == 3


def test_a_hit_is_committed_on_its_own_whatever_the_session_does(app):
    db.session.execute(sa.select(1))  # the request's transaction is open
    storage().incr("k", expiry=60)
    db.session.rollback()
    assert stored("k").hits == 1


def test_a_limited_request_counts_with_one_statement_and_tells_what_is_left(world, auth, client,
                                                                          app):
    app.config["SCAN_RATE_LIMIT"] = "5 per minute"
    auth.login("box-a")
    client.get("/api/scan/venues")
    counting: list[str] = []

    def note(_conn, _cursor, statement, *_rest) -> None:
        if "rate_limit_counters" in statement:
            counting.append(statement.split()[0])

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        answer = client.get("/api/scan/venues")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)
    assert answer.status_code == 200
    assert answer.headers["X-RateLimit-Remaining"] == "3"  # read back from the hit itself
    assert counting == ["INSERT"]
    [counter] = [c for c in db.session.scalars(sa.select(RateLimitCounter)) if "user:" in c.key]
    assert counter.hits == 2


def test_the_storage_is_chosen_by_its_uri(app):
    assert app.config["RATELIMIT_STORAGE_URI"] == "kaiku-db://"
    assert storage().check()
