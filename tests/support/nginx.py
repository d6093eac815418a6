"""A real reverse proxy for tests: Debian's nginx terminating TLS in front of a waitress process.

nginx runs in the foreground as one process (`daemon off`, `master_process off`: no workers
that switch to another user when the tests run as root) with a configuration, pid file, logs
and temporary folders of its own, on a free loopback port, and it connects to waitress from
its own loopback address (`proxy_bind`), so that address, and only it, can be the trusted proxy.
"""
from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from requests.adapters import HTTPAdapter

from tests.support.servers import ServerProcess


def nginx_binary() -> str | None:
    """Debian's nginx (in /usr/sbin, which is not on every user's PATH), or None."""
    return shutil.which("nginx") or next(
        (path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None)


def self_signed_certificate(folder: Path, host: str = "127.0.0.1") -> tuple[Path, Path]:
    """A throwaway key and a self-signed certificate for `host` (an IP address); their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "proxy.crt", folder / "proxy.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


# The part an operator copies (README, "Behind a reverse proxy"); the rest is the test's own.
CONFIG = """\
daemon off;
master_process off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {folder}/access.log;
    client_body_temp_path {folder}/temp/body;
    proxy_temp_path {folder}/temp/proxy;
    fastcgi_temp_path {folder}/temp/fastcgi;
    uwsgi_temp_path {folder}/temp/uwsgi;
    scgi_temp_path {folder}/temp/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            proxy_pass http://127.0.0.1:{upstream_port};
            proxy_bind {bind};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


@dataclass
class Nginx(ServerProcess):
    """One nginx process: HTTPS on 127.0.0.1:port, proxying to waitress on upstream_port."""

    folder: Path
    port: int
    upstream_port: int
    bind: str = "127.0.0.2"
    proc: subprocess.Popen | None = field(default=None, repr=False)
    stop_signal = signal.SIGQUIT  # nginx's graceful stop

    @property
    def url(self) -> str:
        """Where clients reach the app through the proxy."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def certificate(self) -> Path:
        """The self-signed certificate clients verify the proxy with."""
        return self.folder / "proxy.crt"

    def start(self, binary: str) -> Nginx:
        """Write the configuration and a certificate, start nginx, wait until /healthz answers."""
        (self.folder / "temp").mkdir(parents=True, exist_ok=True)
        cert, key = self_signed_certificate(self.folder)
        config = self.folder / "nginx.conf"
        config.write_text(CONFIG.format(folder=self.folder, port=self.port, cert=cert, key=key,
                                        upstream_port=self.upstream_port, bind=self.bind))
        check = subprocess.run([binary, "-t", "-p", str(self.folder), "-e",
                                str(self.folder / "error.log"), "-c", str(config)],
                               capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused its configuration:\n{check.stderr}")
        with open(self.folder / "stdout.log", "ab") as log:
            self.proc = subprocess.Popen(
                [binary, "-p", str(self.folder), "-e", str(self.folder / "error.log"),
                 "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
        return self.wait_until_healthy()

    def healthy(self) -> bool:
        """Whether /healthz answers 200 through the proxy."""
        try:
            with client("127.0.0.1", self.certificate) as session:
                return session.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def log(self) -> str:
        """nginx's error log."""
        path = self.folder / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""


class SourceAddressAdapter(HTTPAdapter):
    """Connections that leave from one loopback address (127.0.0.3, …): a client of its own."""

    def __init__(self, source: str, **kwargs) -> None:
        self.source = source
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:
        """Bind every connection of the pool to the source address."""
        kwargs["source_address"] = (self.source, 0)
        super().init_poolmanager(*args, **kwargs)


def client(source: str, certificate: Path | None = None,
           session: requests.Session | None = None) -> requests.Session:
    """A requests session whose connections come from `source`, trusting `certificate`."""
    session = session or requests.Session()
    session.trust_env = False  # no proxy from the environment between the test and its servers
    adapter = SourceAddressAdapter(source)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if certificate is not None:
        session.verify = str(certificate)
    return session
