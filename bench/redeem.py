"""Redeem throughput and server time at national scale (DESIGN §11), as a ratio to /healthz.

Run by hand from the project folder (not part of the test suite), against a database that
`flask seed-demo` and `flask seed-synthetic` have filled (see bench/README.md):

    .venv/bin/python -m bench.redeem --database-url sqlite:////tmp/bench/big.db [--seconds 30]
        [--clients 8] [--threads 8] [--cards 20000] [--record]

It serves the app with waitress in a subprocess (`--threads 8`, as `make run`), production
settings, `KAIKU_SERVER_TIMING=1` (app/timing.py) and the scan API's rate limit lifted, then:
- picks the region with the most cards in force, and an active venue of it with no event
  today (the rule is then "one use per venue per day"); creates a box-office account for that
  venue with `flask create-user` unless it exists, and logs in through /login;
- picks `--cards` random active cards of that region, valid today, not used at the venue
  today and under the region's period limit: each can be redeemed once, so every redeem of
  the run should be "ok";
- phase A: `--clients` threads send GET /healthz for `--seconds`; phase B: the same threads
  send POST /api/scan/redeem, each with a card of its own (its signed QR payload, as a camera
  reads it) and a new nonce, for `--seconds` (or until the cards run out: then all stop);
  phase C: the same redeems from one client alone, for the server time of a redeem that
  waits for no other request (with 8 clients a saturated server's time includes queueing
  for the GIL and the database: Little's law makes it about clients / throughput).
Each phase starts after `--warmup` seconds of the same requests, not counted.

The load generator is this process: one keep-alive connection per client thread, requests
made as bytes beforehand but for the nonce, answers read straight off the socket (no
http.client): about 30 µs of CPU a request, a third of http.client's, so that it takes little
from the server on two cores; the CPU it used is printed.
Server time is the `Server-Timing: app;dur=` of each answer: measured inside the server from
the WSGI call until the headers go out. Client latency is from send to the last byte read.
Percentiles are nearest-rank. The run adds its redeems to the database as real visits.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookiejar import CookieJar
from pathlib import Path

import sqlalchemy as sa

from bench import readme
from tests.support.servers import OPERATOR_SETTINGS

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS_END = "<!-- end of redeem results -->"  # new results go just above this line
WAITRESS_THREADS = 8  # as `make run`
TARGET_P95_MS = 20.0
TARGET_RATIO = 0.5
START_TIMEOUT = 60
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
HEAD_END = b"\r\n\r\n"
VERDICT_OK = b'"verdict":"ok"'
# The session is bound to the browser that logged in (Flask-Login's session protection):
# every request names the same one.
USER_AGENT = "kaiku-bench"


@dataclass(frozen=True)
class Place:
    """Where the redeems happen: a venue without events today, and the account that scans there."""

    venue_id: int
    venue_name: str
    region_code: str
    username: str
    password: str


@dataclass
class Phase:
    """What one phase measured."""

    name: str
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    refusals: Counter = field(default_factory=Counter)
    failures: int = 0  # broken connections, answers that could not be read
    server_ms: list[float] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # cores used: server, client, machine
    ran_out: bool = False

    @property
    def answered(self) -> int:
        """Answers with a 2xx status."""
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def rate(self) -> float:
        """2xx answers per second."""
        return self.answered / self.seconds if self.seconds else 0.0

    @property
    def non_2xx(self) -> int:
        """Answers with another status."""
        return sum(self.statuses.values()) - self.answered

    def merge(self, other: Phase) -> None:
        """Add one client thread's counts and samples."""
        self.statuses.update(other.statuses)
        self.refusals.update(other.refusals)
        self.failures += other.failures
        self.server_ms += other.server_ms
        self.client_ms += other.client_ms


def percentile(samples: list[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1)."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else float("nan")


# ---- the database, read in this process before the server starts -------------------------

def server_env(database_url: str, instance: Path) -> dict[str, str]:
    """The server's environment: production settings, timing on, the scan rate limit lifted."""
    env = {k: v for k, v in os.environ.items()
           if k not in OPERATOR_SETTINGS and not k.startswith("FLASK_")}
    env.update(KAIKU_ENV="production", KAIKU_INSTANCE=str(instance), DATABASE_URL=database_url,
               SECRET_KEY=secrets.token_hex(32), SIGNING_KEY_DIR=str(instance / "keys"),
               KAIKU_SERVER_TIMING="1", KAIKU_SCAN_RATE_LIMIT="1000000 per minute",
               PYTHONUNBUFFERED="1")
    return env


def open_app(env: dict[str, str]):
    """The app in this process, on the same database and signing keys as the server."""
    os.environ.update(env)
    from app import create_app

    return create_app()


def describe_database() -> dict[str, str]:
    """Engine, its durability settings, sizes: what the figures depend on."""
    from app.extensions import db
    from app.models import Card, Visit

    count = lambda model: db.session.scalar(sa.select(sa.func.count()).select_from(model))  # noqa: E731
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        version = db.session.scalar(sa.text("SELECT sqlite_version()"))
        mode = db.session.scalar(sa.text("PRAGMA journal_mode"))
        size = Path(url.database).stat().st_size
        engine = f"SQLite {version} ({mode}, synchronous=NORMAL)"
    else:
        version = db.session.scalar(sa.text("SHOW server_version"))
        settings = ", ".join(f"{name}={db.session.scalar(sa.text(f'SHOW {name}'))}"
                             for name in ("fsync", "synchronous_commit", "shared_buffers"))
        size = db.session.scalar(sa.text("SELECT pg_database_size(current_database())"))
        engine = f"PostgreSQL {version.split()[0]} ({settings})"
    facts = {"engine": engine, "cards": f"{count(Card):,}", "visits": f"{count(Visit):,}",
             "size": f"{size / 2**30:.2f} GiB"}
    db.session.rollback()
    return facts


def choose_venue() -> tuple:
    """The region with the most cards in force, and an active venue of it without events today."""
    from app import rules
    from app.extensions import db
    from app.models import Card, Event, Region, Venue, utcnow

    now = utcnow()
    today = rules.local_date(now)
    start, end = rules.local_day_bounds(today)
    in_force = (sa.select(Card.region_id, sa.func.count().label("cards"))
                .where(Card.status == "active", Card.valid_until >= today)
                .group_by(Card.region_id).order_by(sa.desc("cards")))
    events_today = sa.select(Event.id).where(Event.venue_id == Venue.id, Event.starts_at >= start,
                                             Event.starts_at < end).exists()
    any_events = sa.select(Event.id).where(Event.venue_id == Venue.id).exists()
    for region_id, _cards in db.session.execute(in_force):
        venue = db.session.scalar(
            sa.select(Venue).where(Venue.region_id == region_id, Venue.active, ~events_today)
            .order_by(any_events, Venue.id).limit(1))
        if venue is not None:
            return db.session.get(Region, region_id), venue
    sys.exit("no region has both cards in force and an active venue without events today")


def redeemable_cards(region, venue, wanted: int) -> list[str]:
    """Signed QR payloads of random cards that the venue can admit today, once each."""
    from app import rules
    from app.cards.service import qr_payload
    from app.extensions import db
    from app.models import Card, Visit, utcnow

    now = utcnow()
    today = rules.local_date(now)
    start, end = rules.local_day_bounds(today)
    ok_visits = sa.select(Visit.id).where(Visit.card_id == Card.id, Visit.status == "ok")
    used_here_today = ok_visits.where(Visit.venue_id == venue.id, Visit.occurred_at >= start,
                                      Visit.occurred_at < end).exists()
    conditions = [Card.region_id == region.id, Card.status == "active", Card.valid_until >= today,
                  ~used_here_today]
    if region.period_limit is not None:
        since = rules.history_since(region.rules(), now)
        uses = (sa.select(sa.func.count(Visit.id))
                .where(Visit.card_id == Card.id, Visit.status == "ok", Visit.occurred_at >= since)
                .scalar_subquery())
        conditions.append(uses < region.period_limit)
    cards = db.session.scalars(sa.select(Card).where(*conditions)
                               .order_by(sa.func.random()).limit(wanted)).all()
    payloads = [qr_payload(card) for card in cards]
    db.session.rollback()
    return payloads


def ensure_account(env: dict[str, str], venue) -> tuple[str, str]:
    """A box-office account for the venue with a new password: made with `flask create-user`
    the first time, given a new password on later runs."""
    from app.extensions import db
    from app.models import User

    username, password = f"bench-door-{venue.id}", secrets.token_urlsafe(16)
    user = db.session.scalar(sa.select(User).where(User.username == username))
    if user is None:
        subprocess.run([sys.executable, "-m", "flask", "--app", "app", "create-user",  # noqa: S603
                        "--username", username, "--password", password, "--role", "boxoffice",
                        "--venue", str(venue.id)], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=120)
    else:
        user.set_password(password)
    db.session.commit()
    return username, password


# ---- the server ---------------------------------------------------------------------------

@contextmanager
def serve(env: dict[str, str], port: int, threads: int, call: str, log_path: Path) -> Iterator[int]:
    """Serve the app with waitress until the block ends; yields the server's pid."""
    command = [sys.executable, "-m", "waitress", "--host", "127.0.0.1", "--port", str(port),
               "--threads", str(threads), "--call", call]
    with open(log_path, "wb") as log, subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT) as proc:
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not _healthy(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"waitress did not start:\n{log_path.read_text()}")
                time.sleep(0.2)
            yield proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def log_in(base: str, username: str, password: str) -> tuple[str, str]:
    """Sign in through /login as a browser does; the Cookie header and the CSRF token."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(f"{base}/login").read().decode()
    form = urllib.parse.urlencode({"username": username, "password": password,
                                   "csrf_token": CSRF_META.search(page).group(1)}).encode()
    scanner = opener.open(f"{base}/login?next=/scan", data=form)
    if urllib.parse.urlsplit(scanner.url).path != "/scan":
        sys.exit(f"could not log in as {username} (landed on {scanner.url})")
    token = CSRF_META.search(scanner.read().decode()).group(1)
    return "; ".join(f"{c.name}={c.value}" for c in jar), token


# ---- the load generator ---------------------------------------------------------------------

class Connection:
    """One keep-alive HTTP/1.1 connection; answers read straight off the socket."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.rest = b""

    def exchange(self, request: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
        """Send one request; its status, headers (lower-case names) and body."""
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.rest = b""
        self.sock.sendall(request)
        data = self.rest
        while HEAD_END not in data:
            data += self._read()
        head, _, data = data.partition(HEAD_END)
        lines = head.split(b"\r\n")
        headers = dict(line.split(b": ", 1) for line in lines[1:])
        headers = {name.lower(): value for name, value in headers.items()}
        length = int(headers[b"content-length"])
        while len(data) < length:
            data += self._read()
        self.rest = data[length:]
        if headers.get(b"connection") == b"close":
            self.close()
        return int(lines[0].split(b" ", 2)[1]), headers, data[:length]

    def _read(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def close(self) -> None:
        """Drop the connection; the next exchange opens a new one."""
        if self.sock is not None:
            self.sock.close()
        self.sock = None


def healthz_requests(host: str) -> Iterator[bytes]:
    """GET /healthz, for ever."""
    request = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\n\r\n".encode()
    while True:
        yield request


def redeem_requests(host: str, cookie: str, token: str, venue_id: int,
                    payloads: Iterator[str]) -> Iterator[bytes]:
    """POST /api/scan/redeem once for each card, with a new nonce each time."""
    head = (f"POST /api/scan/redeem HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {USER_AGENT}\r\n"
            f"Cookie: {cookie}\r\n"
            f"X-CSRFToken: {token}\r\nContent-Type: application/json\r\n"
            "Accept: application/json\r\n")
    for payload in payloads:
        body = json.dumps({"code": payload, "venue_id": venue_id, "adults": 1, "children": 0,
                           "assistants": 0, "nonce": str(uuid.uuid4()), "source": "camera",
                           "occurred_at": datetime.now(UTC).isoformat()}).encode()
        yield head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def client(port: int, requests: Iterator[bytes], until: float, stop: threading.Event,
           out: Phase) -> None:
    """Send requests one after another until the time is up, the requests end or `stop`."""
    connection = Connection(port)
    try:
        for request in requests:
            if stop.is_set() or time.perf_counter() >= until:
                return
            began = time.perf_counter()
            try:
                status, headers, body = connection.exchange(request)
            except (OSError, ValueError, KeyError, IndexError):
                out.failures += 1
                connection.close()
                continue
            out.client_ms.append((time.perf_counter() - began) * 1000)
            out.statuses[status] += 1
            timing = headers.get(b"server-timing", b"")
            if b"dur=" in timing:
                out.server_ms.append(float(timing.split(b"dur=", 1)[1].split(b";")[0]))
            if request.startswith(b"POST") and status == 200 and VERDICT_OK not in body:
                out.refusals[json.loads(body).get("reason") or "?"] += 1
        out.ran_out = True
        stop.set()  # one client out of cards: stop all, so the concurrency stays the same
    finally:
        connection.close()


def cpu_now(server_pid: int) -> dict[str, float]:
    """CPU seconds so far: the server process, this process, and the whole machine (busy)."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{server_pid}/stat").read_text().rsplit(")", 1)[1].split()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    total = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = total[3] + total[4]  # idle + iowait
    return {"server": (int(fields[11]) + int(fields[12])) / tick,
            "client": usage.ru_utime + usage.ru_stime, "machine": (sum(total) - idle) / tick}


def run_phase(name: str, port: int, streams: list[Iterator[bytes]], seconds: float,
              warmup: float, server_pid: int) -> Phase:
    """Warm up, then run one client thread per request stream for `seconds`."""
    if warmup > 0:
        _drive(name, port, streams, warmup)
    before, began = cpu_now(server_pid), time.perf_counter()
    phase = _drive(name, port, streams, seconds)
    phase.seconds = time.perf_counter() - began
    after = cpu_now(server_pid)
    phase.cpu = {key: (after[key] - before[key]) / phase.seconds for key in after}
    return phase


def _drive(name: str, port: int, streams: list[Iterator[bytes]], seconds: float) -> Phase:
    stop = threading.Event()
    until = time.perf_counter() + seconds
    parts = [Phase(name) for _ in streams]
    threads = [threading.Thread(target=client, args=(port, stream, until, stop, part))
               for stream, part in zip(streams, parts, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase = Phase(name, ran_out=stop.is_set())
    for part in parts:
        phase.merge(part)
    return phase


# ---- the report -----------------------------------------------------------------------------

def report(facts: dict[str, str], place: Place, phases: list[Phase], args) -> str:
    """The results as a small Markdown table and the figures against their targets."""
    lines = ["| phase | 2xx answers | per second | server time median / p95 / p99 (ms) "
             "| client latency p50 / p95 (ms) | non-2xx / failed / refused "
             "| CPU cores: server / client / machine |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for phase in phases:
        refused = sum(phase.refusals.values())
        lines.append(
            f"| {phase.name} | {phase.answered:,} | {phase.rate:,.0f} "
            f"| {_ms(phase.server_ms, 0.5)} / {_ms(phase.server_ms, 0.95)} / {_ms(phase.server_ms, 0.99)} "
            f"| {_ms(phase.client_ms, 0.5)} / {_ms(phase.client_ms, 0.95)} "
            f"| {phase.non_2xx} / {phase.failures} / {refused} "
            f"| {phase.cpu['server']:.2f} / {phase.cpu['client']:.2f} / {phase.cpu['machine']:.2f} |")
    healthz, redeem, alone = phases
    ratio = redeem.rate / healthz.rate if healthz.rate else float("nan")
    lines += [
        "",
        f"Redeem / healthz: **{ratio:.0%}** (target ≥ {TARGET_RATIO:.0%}); redeem server time "
        f"p95 **{_ms(redeem.server_ms, 0.95)} ms** with {args.clients} clients, "
        f"**{_ms(alone.server_ms, 0.95)} ms** with one (target ≤ {TARGET_P95_MS:.0f} ms).",
        "",
        f"{facts['engine']}; {facts['cards']} cards, {facts['visits']} visits before the run, "
        f"{facts['size']}. Venue {place.venue_name} ({place.region_code}) as `{place.username}`; "
        f"waitress {args.threads} threads; {args.clients} keep-alive client connections; "
        f"{args.seconds:g} s per phase after {args.warmup:g} s of warm-up.",
    ]
    notes = [f"{phase.name} ran out of cards after {phase.seconds:.1f} s (give more with --cards)"
             for phase in (redeem, alone) if phase.ran_out]
    for phase in phases:
        if phase.non_2xx or phase.failures:
            notes.append(f"{phase.name}: statuses {dict(phase.statuses)}, {phase.failures} failed")
        if phase.refusals:
            notes.append(f"{phase.name} refused: {dict(phase.refusals)}")
    if notes:
        lines += ["", "Note: " + "; ".join(notes) + "."]
    return "\n".join(lines)


def _ms(samples: list[float], share: float) -> str:
    value = percentile(samples, share)
    return "–" if math.isnan(value) else f"{value:.1f}"


def record(table: str, command: str) -> None:
    """Add the results, the command and the date to bench/README.md, newest last."""
    readme.record(RESULTS_END, table, command)


# ---- main -----------------------------------------------------------------------------------

def prepare(env: dict[str, str], wanted: int) -> tuple[dict[str, str], Place, list[str]]:
    """Read the database: its size, the venue, the account and the cards to redeem."""
    app = open_app(env)
    with app.test_request_context():
        from app.extensions import db

        facts = describe_database()
        region, venue = choose_venue()
        place = Place(venue.id, venue.name, region.code, *ensure_account(env, venue))
        payloads = redeemable_cards(region, venue, wanted)
        db.engine.dispose()
    return facts, place, payloads


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="the filled database (default: $DATABASE_URL)")
    parser.add_argument("--seconds", type=float, default=30, help="length of each phase")
    parser.add_argument("--warmup", type=float, default=3, help="uncounted seconds before each phase")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client connections")
    parser.add_argument("--threads", type=int, default=WAITRESS_THREADS, help="waitress threads")
    parser.add_argument("--cards", type=int, default=20_000, help="cards to pick for the redeems")
    parser.add_argument("--call", default="app:create_app", help="the WSGI app factory to serve")
    parser.add_argument("--record", action="store_true", help="append the results to bench/README.md")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or set DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="kaiku-bench-") as folder:
        env = server_env(args.database_url, Path(folder))
        facts, place, payloads = prepare(env, args.cards)
        if len(payloads) < args.clients:
            sys.exit(f"only {len(payloads)} redeemable cards at {place.venue_name}")
        print(f"{facts['engine']}: {facts['cards']} cards, {facts['visits']} visits; "
              f"{len(payloads):,} cards to redeem at {place.venue_name} ({place.region_code})",
              file=sys.stderr)
        port = _free_port()
        host, base = f"127.0.0.1:{port}", f"http://127.0.0.1:{port}"
        with serve(env, port, args.threads, args.call, Path(folder) / "waitress.log") as pid:
            _require_timing(port)
            cookie, token = log_in(base, place.username, place.password)
            healthz = run_phase("GET /healthz", port,
                                [healthz_requests(host) for _ in range(args.clients)],
                                args.seconds, args.warmup, pid)
            cards = iter(payloads)  # one stream of cards, shared by the clients
            lock = threading.Lock()

            def streams(count: int) -> list[Iterator[bytes]]:
                return [redeem_requests(host, cookie, token, place.venue_id, _shared(cards, lock))
                        for _ in range(count)]

            redeem = run_phase("POST /api/scan/redeem", port, streams(args.clients), args.seconds,
                               args.warmup, pid)
            alone = run_phase("POST /api/scan/redeem, 1 client", port, streams(1), args.seconds,
                              args.warmup, pid)
    table = report(facts, place, [healthz, redeem, alone], args)
    print(table)
    if args.record:
        options = [arg for arg in (sys.argv[1:] if argv is None else argv) if arg != "--record"]
        record(table, " ".join([".venv/bin/python -m bench.redeem", *options]))


def _shared(cards: Iterator[str], lock: threading.Lock) -> Iterator[str]:
    """Cards from a stream that several client threads share, one at a time."""
    while True:
        with lock:
            card = next(cards, None)
        if card is None:
            return
        yield card


def _require_timing(port: int) -> None:
    connection = Connection(port)
    try:
        _, headers, _ = connection.exchange(b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n")
    finally:
        connection.close()
    if b"server-timing" not in headers:
        sys.exit("the server sends no Server-Timing header: create_app() must call "
                 "timing.init_app(app) (app/timing.py)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if __name__ == "__main__":
    main()
