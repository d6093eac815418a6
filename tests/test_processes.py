"""Several server processes on one database, and faults (DESIGN §10, issue 7).

Real waitress processes, not the test client: two of them racing for one card and for one
quota, a kill -9 in the middle of a sync burst, and a PostgreSQL that goes away for a moment.
These tests start their own PostgreSQL cluster, whichever database the rest of the suite uses.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from app.models import ScanAttempt, Visit
from tests.support import factories, pgcluster
from tests.support.servers import Staff, Waitress, halt_postgres, resume_postgres, server_env


def _pg_bin() -> str | None:
    """KAIKU_PG_BIN, or the newest /usr/lib/postgresql/*/bin that has initdb."""
    chosen = os.environ.get("KAIKU_PG_BIN")
    found = [Path(chosen)] if chosen else sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name)
        if p.parent.name.isdigit() else 0)
    usable = [p for p in found if (p / "initdb").is_file()]
    return str(usable[-1]) if usable else None


# These tests start their own servers on both databases; `make test` runs the suite twice (on
# SQLite, then with KAIKU_TEST_DB=postgresql), and once is enough for them.
pytestmark = pytest.mark.skipif(
    os.environ.get("KAIKU_TEST_DB") == "postgresql",
    reason="runs in the SQLite half of make test, where it starts both kinds of database itself")

PG_BIN = _pg_bin()
needs_postgres = pytest.mark.skipif(
    PG_BIN is None, reason="PostgreSQL binaries not found (/usr/lib/postgresql/*/bin, or "
                           "KAIKU_PG_BIN): install postgresql to run the multi-process tests")
BACKENDS = [pytest.param("postgresql", marks=needs_postgres), "sqlite"]
CONCURRENT = 100
QUOTA = 10
RATE_LIMIT = 10
SYNC_RECORDS, SYNC_BATCH, ACKS_BEFORE_KILL = 100, 5, 3
OUTAGE_BURST = 300
SAME_SYNC_RECORDS, SAME_SYNC_SENDERS = 50, 4


@dataclass
class Deployment:
    """A migrated database with a door to guard, and what the tests need to know of it."""

    backend: str
    url: str
    instance: Path
    open_event: int
    quota_event: int
    hall: int
    library: int
    cards: list[str]
    username: str = "door"
    password: str = factories.PASSWORD

    def env(self) -> dict[str, str]:
        """A server process's environment for this database (no rate limit in the way)."""
        return server_env(self.instance, self.url, KAIKU_SCAN_RATE_LIMIT="100000 per minute")

    def server(self, name: str) -> Waitress:
        """A server process (not started yet) on a port of its own."""
        return Waitress(self.env(), pgcluster.free_port(), self.instance / f"{name}.log")

    @contextmanager
    def connection(self) -> Iterator[sa.Connection]:
        """A connection of the test's own to the database the servers use."""
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    def scalar(self, query: sa.Select):
        """One value from the database."""
        with self.connection() as conn:
            return conn.scalar(query)

    def visits(self, *where) -> int:
        """How many visits match."""
        return self.scalar(sa.select(sa.func.count(Visit.id)).where(*where))

    def stored(self, nonces: list[str]) -> set[str]:
        """Which of these records' nonces have a visit."""
        with self.connection() as conn:
            return set(conn.scalars(sa.select(Visit.nonce).where(Visit.nonce.in_(nonces))))


@pytest.fixture(scope="module")
def cluster() -> Iterator[pgcluster.Cluster]:
    """A PostgreSQL cluster of this module's own: one test stops and restarts it."""
    started = pgcluster.start(PG_BIN)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def deployments(request, tmp_path_factory) -> Callable[[str], Deployment]:
    """Build each backend's deployment once for the module, when a test first asks for it."""
    built: dict[str, Deployment] = {}

    def get(backend: str) -> Deployment:
        if backend not in built:
            instance = tmp_path_factory.mktemp(f"processes-{backend}")
            url = (request.getfixturevalue("cluster").url if backend == "postgresql"
                   else f"sqlite:///{instance / 'kaikukortti.db'}")
            built[backend] = _deploy(backend, url, instance)
        return built[backend]
    return get


def _deploy(backend: str, url: str, instance: Path) -> Deployment:
    """Migrate the schema (`flask db upgrade`, in this process), then add a door and 100 cards."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SIGNING_KEY_DIR": str(instance / "keys")})
    with app.app_context():
        upgrade()
        region = factories.region("MPR")
        hall = factories.venue(region, "Konserttisali", "culture", "music")
        library = factories.venue(region, "Kirjasto", "culture", "library")
        open_event, quota_event = factories.event(hall), factories.event(hall, quota=QUOTA)
        factories.user("door", "boxoffice", region, venues=[hall, library])
        cards = [factories.card(region) for _ in range(CONCURRENT + 1)]
        db.session.commit()
        deployment = Deployment(backend, url, instance, open_event.id, quota_event.id, hall.id,
                                library.id, [c.number for c in cards])
        db.session.remove()
        db.engine.dispose()
    return deployment


@pytest.fixture(scope="module", params=BACKENDS)
def deployment(request, deployments) -> Deployment:
    """The deployment on PostgreSQL, then on one SQLite file."""
    return deployments(request.param)


@dataclass
class Door:
    """A server process and the door staff signed in on it, as a phone would be."""

    server: Waitress
    staff: Staff


@pytest.fixture(scope="module")
def pair(deployment) -> Iterator[list[Door]]:
    """Two waitress processes on the one database, and the door staff signed in on each."""
    servers = [deployment.server("first").launch(), deployment.server("second").launch()]
    try:
        for server in servers:
            server.wait_until_healthy()
        yield [Door(s, Staff.log_in(s.url, deployment.username, deployment.password))
               for s in servers]
    finally:
        for server in servers:
            server.stop()


def redeem_body(code: str, venue_id: int, event_id: int | None = None, **extra) -> dict:
    """A redeem body as the PWA sends it, with a fresh nonce."""
    return {"code": code, "venue_id": venue_id, "event_id": event_id, "adults": 1, "children": 0,
            "assistants": 0, "nonce": str(uuid.uuid4()), "source": "manual", **extra}


def offline_records(deployment: Deployment, count: int) -> list[dict]:
    """A phone's queue of records made offline at the library, the cards taken in turn."""
    now = datetime.now(UTC).isoformat()
    cards = deployment.cards
    return [redeem_body(cards[i % len(cards)], deployment.library, source="offline",
                        occurred_at=now) for i in range(count)]


def at_once(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Run every call on a thread of its own, all released together."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], requests.Response]) -> requests.Response:
        start.wait()
        return call()
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def verdicts(answers: list[requests.Response]) -> Counter:
    """(status, verdict, reason) of each answer, counted."""
    return Counter((a.status_code, a.json().get("verdict"), a.json().get("reason"))
                   for a in answers)


# Several processes, one database


def test_one_card_redeemed_a_hundred_times_at_once_on_two_processes_is_one_visit(pair, deployment):
    card, event = deployment.cards[0], deployment.open_event
    calls = [lambda door=pair[i % 2]: door.staff.post(
        "/api/scan/redeem", redeem_body(card, deployment.hall, event)) for i in range(CONCURRENT)]
    answers = at_once(calls)
    assert verdicts(answers) == {(200, "ok", "ok"): 1,
                                 (200, "refused", "already_used"): CONCURRENT - 1}
    assert deployment.visits(Visit.event_id == event, Visit.status == "ok") == 1


def test_a_quota_of_ten_under_a_hundred_cards_at_once_on_two_processes_admits_ten(pair, deployment):
    event = deployment.quota_event
    calls = [lambda door=pair[i % 2], card=card: door.staff.post(
        "/api/scan/redeem", redeem_body(card, deployment.hall, event))
        for i, card in enumerate(deployment.cards[1:])]
    answers = at_once(calls)
    assert verdicts(answers) == {(200, "ok", "ok"): QUOTA,
                                 (200, "refused", "event_full"): CONCURRENT - QUOTA}
    persons = deployment.scalar(
        sa.select(sa.func.sum(Visit.adults + Visit.children + Visit.assistants))
        .where(Visit.event_id == event, Visit.status == "ok"))
    assert persons == QUOTA


def test_two_processes_share_one_rate_limit_of_ten_a_minute_not_ten_each(deployment):
    limited = server_env(deployment.instance, deployment.url, KAIKU_SCAN_RATE_LIMIT=
                         f"{RATE_LIMIT} per minute")
    servers = [Waitress(limited, pgcluster.free_port(), deployment.instance / f"limited-{n}.log")
               .launch() for n in (1, 2)]
    try:
        for server in servers:
            server.wait_until_healthy()
        first = Staff.log_in(servers[0].url, deployment.username, deployment.password)
        doors = [first, first.at(servers[1].url)]
        statuses = Counter(doors[i % 2].get("/api/scan/venues").status_code
                           for i in range(2 * RATE_LIMIT))
        assert statuses == {200: RATE_LIMIT, 429: RATE_LIMIT}
        assert doors[1].get("/api/scan/venues").json()["error"]["code"] == "rate_limited"
    finally:
        for server in servers:
            server.stop()


def test_four_identical_syncs_at_once_on_two_processes_answer_alike_and_store_each_record_once(
        pair, deployment):
    records = offline_records(deployment, SAME_SYNC_RECORDS)
    nonces = [r["nonce"] for r in records]
    impossible = {**offline_records(deployment, 1)[0], "children": 101}  # refused for good
    answers = at_once([lambda door=pair[i % 2]: door.staff.post(
        "/api/scan/sync", {"visits": [*records, impossible]}) for i in range(SAME_SYNC_SENDERS)])
    assert [a.status_code for a in answers] == [200] * SAME_SYNC_SENDERS, answers[0].text
    first = answers[0].json()["results"]
    assert all(a.json()["results"] == first for a in answers)
    assert [(r["nonce"], r["verdict"], r["final"]) for r in first[:-1]] == [
        (n, "ok", True) for n in nonces]
    assert (first[-1]["error"]["code"], first[-1]["final"]) == ("invalid_tickets", True)
    assert deployment.visits(Visit.nonce.in_(nonces)) == SAME_SYNC_RECORDS
    assert deployment.scalar(sa.select(sa.func.count(ScanAttempt.id)).where(
        ScanAttempt.nonce == impossible["nonce"])) == 1


# Faults


def sync_burst(staff: Staff, batches: list[list[dict]], acknowledged_one: Callable[[], None],
               senders: int = 4) -> dict[str, int]:
    """Send the batches from a few threads; the visit id of each acknowledged record, by nonce.

    A record counts as acknowledged only when its batch's whole answer came with a 2xx status;
    a batch whose request failed stays in the phone's queue, as offline.js keeps it.
    """
    todo = iter(batches)
    lock = threading.Lock()
    acknowledged: dict[str, int] = {}

    def send() -> None:
        while True:
            with lock:
                batch = next(todo, None)
            if batch is None:
                return
            try:
                answer = staff.post("/api/scan/sync", {"visits": batch}, timeout=10)
            except requests.RequestException:
                continue
            if answer.ok:
                with lock:
                    acknowledged.update((r["nonce"], r["visit_id"])
                                        for r in answer.json()["results"])
                acknowledged_one()
    threads = [threading.Thread(target=send) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return acknowledged


def sync_all(staff: Staff, batches: list[list[dict]]) -> dict[str, int]:
    """Send the whole queue again, batch after batch; every batch must be answered."""
    stored = {}
    for batch in batches:
        answer = staff.post("/api/scan/sync", {"visits": batch})
        assert answer.status_code == 200, answer.text
        stored.update((r["nonce"], r["visit_id"]) for r in answer.json()["results"])
    return stored


def kill_after(server: Waitress, acknowledgements: threading.Semaphore, count: int) -> None:
    """kill -9 the server as soon as `count` batches have been acknowledged."""
    for _ in range(count):
        acknowledgements.acquire()
    server.kill()


def test_kill_9_in_a_sync_burst_keeps_every_acknowledged_visit_and_a_resync_adds_each_once(
        pair, deployment):
    door = pair[0]
    records = offline_records(deployment, SYNC_RECORDS)
    nonces = [r["nonce"] for r in records]
    batches = [records[i:i + SYNC_BATCH] for i in range(0, len(records), SYNC_BATCH)]
    acks = threading.Semaphore(0)
    killer = threading.Thread(target=kill_after, args=(door.server, acks, ACKS_BEFORE_KILL))
    killer.start()
    acknowledged = sync_burst(door.staff, batches, acks.release)
    killer.join()
    assert len(acknowledged) >= ACKS_BEFORE_KILL * SYNC_BATCH
    assert len(acknowledged) < SYNC_RECORDS, "the kill came after the burst: nothing was tested"

    door.server.start()  # same port, database and key: the phone's session still holds
    stored = deployment.stored(nonces)
    assert set(acknowledged) <= stored
    assert deployment.visits(Visit.nonce.in_(nonces)) == len(stored)

    again = sync_all(door.staff, batches)
    assert deployment.visits(Visit.nonce.in_(nonces)) == SYNC_RECORDS  # only the unstored added
    assert {n: again[n] for n in acknowledged} == acknowledged  # answered with the same visits
    assert sync_all(door.staff, batches) == again
    assert deployment.visits(Visit.nonce.in_(nonces)) == SYNC_RECORDS


def halt_during(cluster: pgcluster.Cluster, deployment: Deployment, nonces: list[str]) -> int:
    """Halt PostgreSQL once the first of these records is stored; how many were stored then."""
    deadline = time.monotonic() + 30
    while not (stored := len(deployment.stored(nonces))) and time.monotonic() < deadline:
        time.sleep(0.01)
    halt_postgres(cluster)
    return stored


@needs_postgres
def test_an_unreachable_database_answers_503_with_a_reason_and_the_server_recovers(
        deployments, cluster):
    deployment = deployments("postgresql")
    server = deployment.server("outage").start()
    try:
        staff = Staff.log_in(server.url, deployment.username, deployment.password)
        card = deployment.cards[-1]
        burst = offline_records(deployment, OUTAGE_BURST)
        nonces = [r["nonce"] for r in burst]
        with ThreadPoolExecutor(1) as pool:
            sending = pool.submit(staff.post, "/api/scan/sync", {"visits": burst})
            try:
                stored_at_halt = halt_during(cluster, deployment, nonces)
                answers = {
                    "sync in flight": sending.result(),
                    "check": staff.post("/api/scan/check", redeem_body(card, deployment.library)),
                    "redeem": staff.post("/api/scan/redeem", redeem_body(card, deployment.library)),
                    "sync": staff.post("/api/scan/sync", {"visits": burst[:1]}),
                    "venues": staff.get("/api/scan/venues"),
                }
                page, health = staff.get("/scan"), staff.get("/healthz")
            finally:
                resume_postgres(cluster)
        assert 0 < stored_at_halt < OUTAGE_BURST, "the database went away outside the burst"
        for name, answer in answers.items():
            assert answer.status_code == 503, (name, answer.text)
            assert answer.headers["Content-Type"] == "application/json", name
            assert answer.headers["Retry-After"].isdigit(), name
            error = answer.json()["error"]
            assert error["code"] == "database_unavailable" and error["message"], name
        assert page.status_code == 503 and page.headers["Content-Type"].startswith("text/html")
        assert "<h1>" in page.text and "Traceback" not in page.text
        assert health.status_code == 503
        assert "Traceback" not in server.log()  # one warning line per failed request

        # The same process, not restarted, once the database is back.
        recovered = staff.post("/api/scan/check", redeem_body(card, deployment.library))
        assert recovered.json().get("reason") == "ok", (recovered.status_code, recovered.text)
        again = sync_all(staff, [burst])
        assert deployment.visits(Visit.nonce.in_(nonces)) == OUTAGE_BURST
        assert sync_all(staff, [burst]) == again
        assert deployment.visits(Visit.nonce.in_(nonces)) == OUTAGE_BURST
    finally:
        server.stop()
