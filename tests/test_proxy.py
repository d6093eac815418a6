"""Behind a real reverse proxy (issue 12, point 1; DESIGN §7, §14).

Debian's nginx terminates TLS with a throwaway certificate in front of a real waitress process
started as an operator starts it (`python -m app.serve` with KAIKU_TRUSTED_PROXY). nginx
connects to waitress from 127.0.0.2, the trusted proxy address; each client leaves from a
loopback address of its own (127.0.0.3, …), and a client that talks straight to waitress from
127.0.0.1 is no proxy, whatever headers it sends.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
import zxingcpp
from PIL import Image

from tests.support import pgcluster
from tests.support.nginx import Nginx, client, nginx_binary
from tests.support.servers import Waitress, flask, own_database, server_env

PROXY_ADDRESS = "127.0.0.2"
LOGIN_LIMIT = 3  # login posts per client address and minute, for this server only
WRONG = "not the password"


@dataclass
class Proxied:
    """waitress behind nginx, and the demo accounts seeded into its database."""

    nginx: Nginx
    waitress: Waitress
    accounts: dict[str, dict]

    def through_proxy(self, source: str) -> requests.Session:
        """A client at `source` that reaches the app through nginx over HTTPS."""
        return client(source, self.nginx.certificate)

    def password(self, username: str) -> str:
        """A demo account's password."""
        return self.accounts[username]["password"]


@pytest.fixture(scope="module")
def nginx() -> str:
    """The nginx binary. `make test` installs it as root, so there its absence is a failure."""
    binary = nginx_binary()
    if binary is None:
        if os.geteuid() == 0:
            pytest.fail("nginx is not installed, though `make test` installs it as root "
                        "(make system-packages)", pytrace=False)
        pytest.skip("nginx is not installed (sudo apt-get install nginx)")
    return binary


@pytest.fixture(scope="module")
def proxied(nginx, postgres_url, tmp_path_factory) -> Iterator[Proxied]:
    """Migrate and seed a database, serve it with waitress, put nginx in front; stop both after."""
    folder = tmp_path_factory.mktemp("proxy")
    with own_database(postgres_url, folder, "kaikukortti_proxy") as database_url:
        env = server_env(folder, database_url, KAIKU_TRUSTED_PROXY=PROXY_ADDRESS,
                         KAIKU_LOGIN_RATE_LIMIT=f"{LOGIN_LIMIT} per minute")
        flask(env, "db", "upgrade")
        proxy = Nginx(folder / "nginx", pgcluster.free_port(), pgcluster.free_port(),
                      bind=PROXY_ADDRESS)
        demo = json.loads(flask(env, "seed-demo", "--json", "--base-url", proxy.url))
        server = Waitress(env, proxy.upstream_port, folder / "waitress.log").start()
        try:
            proxy.start(nginx)
            try:
                yield Proxied(proxy, server, {a["username"]: a for a in demo["accounts"]})
            finally:
                proxy.stop()
        finally:
            server.stop()


class Script(requests.Session):
    """A client that sends back every cookie it got, Secure ones over plain HTTP too (the app
    marks its cookies Secure whatever the scheme of the request; a browser would keep them)."""

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """The request with a Cookie header of all the cookies held."""
        prepared = super().prepare_request(request)
        if len(self.cookies):
            prepared.headers["Cookie"] = "; ".join(f"{c.name}={c.value}" for c in self.cookies)
        return prepared


def straight_to_waitress(source: str) -> requests.Session:
    """A client at `source` that is not the proxy and talks plain HTTP to waitress itself."""
    return client(source, session=Script())


def log_in(session: requests.Session, base: str, username: str, password: str,
           remember: bool = False, headers: dict[str, str] | None = None) -> requests.Response:
    """Post the login form as a browser does: its CSRF token, and the Referer that Flask-WTF
    checks on HTTPS posts."""
    token = meta_token(session.get(f"{base}/login", headers=headers, timeout=10).text)
    data = {"username": username, "password": password, "csrf_token": token}
    if remember:
        data["remember"] = "y"
    return session.post(f"{base}/login", data=data, allow_redirects=False, timeout=10,
                        headers={"Referer": f"{base}/login", **(headers or {})})


def meta_token(html: str) -> str:
    """The CSRF token of a page's meta tag."""
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def holder_link(session: requests.Session, base: str, headers: dict[str, str] | None = None) -> str:
    """Register a card as the signed-in issuer; the digital-card link its hand-over page shows
    (read from the QR code, as the holder's phone reads it)."""
    form = session.get(f"{base}/cards/new", headers=headers, timeout=10).text
    municipality = re.search(r'<select[^>]*name="municipality".*?<option value="(\d+)"', form,
                             re.S).group(1)
    registered = session.post(f"{base}/cards/new", timeout=30, allow_redirects=False, headers={
        "Referer": f"{base}/cards/new", **(headers or {})}, data={
        "csrf_token": meta_token(form), "municipality": municipality, "postcode": "33100",
        "birth_year": "1980", "children": "0", "kind": "personal", "gender": "not_given",
        "life_situation": "not_given", "preprinted_number": ""})
    assert registered.status_code == 302, registered.text[:500]
    assert registered.headers["Location"].endswith("/handover"), registered.headers["Location"]
    answer = session.get(f"{base}{registered.headers['Location']}", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text[:500]
    box = re.search(r'<div class="qr-box">(.*?)</div>', answer.text, re.S).group(1)
    return decode_qr_svg(box)


def decode_qr_svg(svg: str) -> str:
    """The text of a QR symbol drawn by app/printing/qr.py (one path of 1-module-high runs)."""
    size = int(re.search(r'viewBox="0 0 (\d+) \d+"', svg).group(1))
    scale, quiet = 8, 4
    image = Image.new("L", ((size + 2 * quiet) * scale,) * 2, 255)
    for x, y, width in re.findall(r"M(\d+) (\d+)h(\d+)", svg):
        left, top = (int(x) + quiet) * scale, (int(y) + quiet) * scale
        image.paste(0, (left, top, left + int(width) * scale, top + scale))
    [found] = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return found.text


def test_through_the_proxy_each_client_is_throttled_by_its_own_address(proxied):
    """Client A's fourth login post is refused (429); client B, behind the same proxy, still
    gets in. A also claims to be B in X-Forwarded-For: nginx adds A's real address after it,
    and waitress believes only that last hop."""
    a, b = proxied.through_proxy("127.0.0.3"), proxied.through_proxy("127.0.0.4")
    url = proxied.nginx.url
    answers = [log_in(a, url, f"nobody-{n}", WRONG,
                      headers={"X-Forwarded-For": "127.0.0.4"}).status_code
               for n in range(LOGIN_LIMIT + 1)]
    assert answers == [401] * LOGIN_LIMIT + [429]
    signed_in = log_in(b, url, "coordinator", proxied.password("coordinator"))
    assert signed_in.status_code == 302, signed_in.text[:500]
    assert b.get(f"{url}/manage/", timeout=10, allow_redirects=False).status_code == 200


def test_through_the_proxy_cookies_are_secure_and_answers_carry_hsts(proxied):
    c = proxied.through_proxy("127.0.0.5")
    url = proxied.nginx.url
    page = c.get(f"{url}/login", timeout=10)
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    answer = log_in(c, url, "boxoffice", proxied.password("boxoffice"), remember=True)
    assert answer.status_code == 302, answer.text[:500]
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
    cookies = {cookie.name: cookie for cookie in c.cookies}
    assert set(cookies) >= {"session", "remember_token"}
    assert all(cookies[name].secure for name in ("session", "remember_token")), cookies
    assert c.get(f"{url}/scan", timeout=10, allow_redirects=False).status_code == 200


def test_through_the_proxy_the_digital_card_link_is_https(proxied):
    d = proxied.through_proxy("127.0.0.6")
    url = proxied.nginx.url
    assert log_in(d, url, "issuer", proxied.password("issuer")).status_code == 302
    link = holder_link(d, url)
    assert link.startswith(f"{url}/c/"), link
    holder_page = d.get(link, timeout=10)
    assert holder_page.status_code == 200


def test_forwarded_headers_sent_straight_to_waitress_are_ignored(proxied):
    """127.0.0.1 is not the proxy: its X-Forwarded-For and X-Forwarded-Proto count for nothing.
    Each post claims another address, yet the fourth is refused (all are 127.0.0.1's), and
    the link it is given is http:// (waitress speaks plain HTTP)."""
    direct = straight_to_waitress("127.0.0.1")
    url = proxied.waitress.url
    answers = [log_in(direct, url, f"nobody-{n}", WRONG, headers={
        "X-Forwarded-For": f"203.0.113.{n}", "X-Forwarded-Proto": "https"}).status_code
        for n in range(LOGIN_LIMIT + 1)]
    assert answers == [401] * LOGIN_LIMIT + [429]

    forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    issuer = straight_to_waitress("127.0.0.7")
    assert log_in(issuer, url, "issuer", proxied.password("issuer"),
                  headers=forged).status_code == 302
    link = holder_link(issuer, url, headers=forged)
    assert link.startswith(f"{url}/c/"), link  # http://127.0.0.1:<waitress>/c/…
