"""Real server processes for tests: waitress subprocesses, flask commands, staff over HTTP."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa

from tests.support.pgcluster import Cluster

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30
# What an operator's environment may hold that a test server must not inherit.
OPERATOR_SETTINGS = ("CARD_SIGNING_KEYS", "KAIKU_TRUSTED_PROXY", "KAIKU_HTTPS",
                     "KAIKU_PROXY_COUNT")


def server_env(instance: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a server process: testing mode, its own instance folder and keys."""
    env = {k: v for k, v in os.environ.items()
           if k not in OPERATOR_SETTINGS and not k.startswith("FLASK_")}
    env.update(KAIKU_ENV="testing", KAIKU_INSTANCE=str(instance),
               SECRET_KEY="process-tests-only-secret-key", SIGNING_KEY_DIR=str(instance / "keys"),
               DATABASE_URL=database_url, PYTHONUNBUFFERED="1", **extra)
    return env


@contextmanager
def own_database(postgres_url: str | None, instance: Path, name: str) -> Iterator[str]:
    """A SQLite file, or a database of its own on the test cluster (other tests drop tables)."""
    if postgres_url is None:
        yield f"sqlite:///{instance / (name + '.db')}"
        return
    url = sa.make_url(postgres_url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
            conn.execute(sa.text(f"CREATE DATABASE {name}"))
        yield url.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    finally:
        admin.dispose()


def flask(env: dict[str, str], *args: str) -> str:
    """Run one flask command; its standard output, or an error that shows its standard error."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done.stdout


class ServerProcess:
    """What the tests' server processes share: waiting until one answers, and stopping it."""

    proc: subprocess.Popen | None
    stop_signal = signal.SIGTERM

    def healthy(self) -> bool:
        """Whether the server answers its health check."""
        raise NotImplementedError

    def log(self) -> str:
        """What the server logged so far."""
        raise NotImplementedError

    def wait_until_healthy(self):
        """Wait until the server is healthy; fail with its log if it never gets there."""
        deadline = time.monotonic() + START_TIMEOUT
        while not self.healthy():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{type(self).__name__} did not start:\n{self.log()}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Stop the process with its stop signal if it still runs; kill it if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(self.stop_signal)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Waitress(ServerProcess):
    """One waitress process serving the app; start, stop, or kill it like an operator would."""

    env: dict[str, str]
    port: int
    log_path: Path
    threads: int = 8
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        """Where it listens."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Waitress:
        """Start the process and wait until /healthz answers 200."""
        return self.launch().wait_until_healthy()

    def launch(self) -> Waitress:
        """Start the process without waiting (start several, then wait for each)."""
        command = [sys.executable, "-m", "app.serve", "--host", "127.0.0.1", "--port",
                   str(self.port), "--threads", str(self.threads)]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT)
        return self

    def healthy(self) -> bool:
        """Whether /healthz answers 200."""
        try:
            return requests.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def kill(self) -> None:
        """SIGKILL: no cleanup, no answers to the requests in flight."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def log(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass(frozen=True)
class Staff:
    """A signed-in staff member's cookie and CSRF token, as the PWA holds them.

    Each call opens its own connection, so many threads can use one Staff at once.
    """

    base_url: str
    cookies: dict[str, str]
    csrf_token: str

    @classmethod
    def log_in(cls, base_url: str, username: str, password: str) -> Staff:
        """Log in through the form, then read the token from the scanner page like the PWA."""
        with requests.Session() as session:
            token = _meta_token(session.get(f"{base_url}/login", timeout=10).text)
            answer = session.post(f"{base_url}/login", timeout=10, data={
                "username": username, "password": password, "csrf_token": token})
            answer.raise_for_status()
            page = session.get(f"{base_url}/scan", timeout=10, allow_redirects=False)
            if page.status_code != 200:
                raise RuntimeError(f"{username} could not log in at {base_url}")
            return cls(base_url, session.cookies.get_dict(), _meta_token(page.text))

    def at(self, base_url: str) -> Staff:
        """The same signed-in session sent to another server (same SECRET_KEY)."""
        return Staff(base_url, self.cookies, self.csrf_token)

    def post(self, path: str, body: dict, timeout: float = 30) -> requests.Response:
        """POST JSON to the API with the session cookie and the CSRF header."""
        return requests.post(f"{self.base_url}{path}", json=body, cookies=self.cookies,
                             headers={"X-CSRFToken": self.csrf_token}, timeout=timeout)

    def get(self, path: str, timeout: float = 30, **kwargs) -> requests.Response:
        """GET a page or an API answer with the session cookie."""
        return requests.get(f"{self.base_url}{path}", cookies=self.cookies, timeout=timeout,
                            **kwargs)


def _meta_token(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def halt_postgres(cluster: Cluster) -> None:
    """Stop the cluster's server at once, as a crash or a lost host would; its files stay."""
    cluster.run("pg_ctl", "-D", str(cluster.data_dir), "-m", "immediate", "-w", "stop")


def resume_postgres(cluster: Cluster) -> None:
    """Start a halted cluster again on its own port and socket (it recovers from its WAL)."""
    options = (f"-p {cluster.port} -k {cluster.data_dir} -c listen_addresses='' -c fsync=off "
               "-c max_connections=200")
    cluster.run("pg_ctl", "-D", str(cluster.data_dir), "-o", options,
                "-l", str(cluster.data_dir.parent / "log"), "-w", "start")
