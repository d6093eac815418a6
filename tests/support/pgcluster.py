"""A throwaway PostgreSQL cluster for the test suite: started by the tests, stopped by them."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Cluster:
    """A running cluster in a temporary directory."""

    bin_dir: Path
    data_dir: Path
    port: int
    as_user: list[str]

    @property
    def url(self) -> str:
        """A psycopg SQLAlchemy URL for the test database over the cluster's own socket."""
        return f"postgresql+psycopg://postgres@/kaikukortti_test?host={self.data_dir}&port={self.port}"

    def run(self, *args: str) -> subprocess.CompletedProcess:
        """Run one of the cluster's binaries as its owner."""
        return subprocess.run([*self.as_user, str(self.bin_dir / args[0]), *args[1:]],
                              check=True, capture_output=True, text=True)

    def stop(self) -> None:
        """Stop the server and delete its files."""
        try:
            self.run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(bin_dir: str | os.PathLike) -> Cluster:
    """initdb and start a cluster; PostgreSQL refuses root, so root runs it as `postgres`."""
    root = Path(tempfile.mkdtemp(prefix="kaiku-pg-"))
    data = root / "data"
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        root.chmod(0o755)
        as_user = ["runuser", "-u", "postgres", "--"]
    cluster = Cluster(Path(bin_dir), data, free_port(), as_user)
    cluster.run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                "--no-sync", "--locale=C")
    options = (f"-p {cluster.port} -k {data} -c listen_addresses='' -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
    cluster.run("pg_ctl", "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
    deadline = time.monotonic() + 30
    while True:
        try:
            cluster.run("createdb", "-h", str(data), "-p", str(cluster.port), "-U", "postgres",
                        "kaikukortti_test")
            return cluster
        except subprocess.CalledProcessError:
            if time.monotonic() > deadline:
                cluster.stop()
                raise
            time.sleep(0.2)
