"""Security headers on every answer, cookie flags on real responses, and request ceilings."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from app import config
from app.auth import public
from app.cards.service import new_link_token
from app.extensions import db
from app.security import PAGE_POLICY, PDF_POLICY
from tests.conftest import csrf_token
from tests.support import factories

HTTPS_BASE = "https://localhost"


def directives(policy: str) -> dict[str, list[str]]:
    """A Content-Security-Policy as {directive: sources}."""
    parsed = {}
    for part in filter(None, (p.strip() for p in policy.split(";"))):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def set_cookie(response, name: str) -> dict[str, str | bool]:
    """The attributes of the Set-Cookie header for `name` (lower-case keys)."""
    for header in response.headers.getlist("Set-Cookie"):
        first, *attributes = (part.strip() for part in header.split(";"))
        if first.split("=", 1)[0] == name:
            parsed: dict[str, str | bool] = {}
            for attribute in attributes:
                key, _, value = attribute.partition("=")
                parsed[key.lower()] = value or True
            return parsed
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.getlist('Set-Cookie')}")


def _boom():
    raise RuntimeError("a bug")


# Headers

ANSWERS = [
    ("GET", "/login", 200),
    ("GET", "/healthz", 200),
    ("GET", "/static/css/app.css", 200),
    ("GET", "/static/scan/app.js", 200),
    ("GET", "/scan/sw.js", 200),
    ("GET", "/c/sw.js", 200),
    ("GET", "/scan/manifest.webmanifest", 200),
    ("GET", "/api/openapi.json", 200),
    ("GET", "/no/such/page", 404),
    ("GET", "/c/not-a-token", 404),
    ("GET", "/scan", 302),
    ("GET", "/api/scan/venues", 401),
    ("POST", "/login", 400),
    ("POST", "/api/scan/check", 400),
    ("GET", "/probe/boom", 500),
]


@pytest.mark.parametrize(("method", "path", "status"), ANSWERS)
def test_every_answer_carries_the_security_headers(app, client, method, path, status):
    app.add_url_rule("/probe/boom", view_func=public(_boom))
    response = client.open(path, method=method)
    response.close()  # static files are streamed from an open file
    assert response.status_code == status
    headers = response.headers
    assert headers["Content-Security-Policy"] == PAGE_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] in {"same-origin", "no-referrer"}
    assert "Strict-Transport-Security" not in headers  # plain HTTP: HSTS would be ignored or wrong


def test_the_policy_allows_no_inline_script_and_no_framing(client):
    policy = directives(client.get("/login").headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'", "'wasm-unsafe-eval'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    every_source = [source for sources in policy.values() for source in sources]
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "blob:"} & set(every_source)


INLINE_IN_TEMPLATES = {
    "an inline <script>": re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.I),
    "a <style> block": re.compile(r"<style\b", re.I),
    "a style attribute": re.compile(r"\sstyle\s*=", re.I),
    "an event handler attribute": re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I),
    "a javascript: URL": re.compile(r"javascript:", re.I),
}
EVAL_IN_SCRIPTS = {
    "eval": re.compile(r"\beval\s*\("),
    "the Function constructor": re.compile(r"\bnew\s+Function\s*\("),
    "a string timer": re.compile(r"\bset(Timeout|Interval)\s*\(\s*[\"'`]"),
    "a style attribute": re.compile(r"setAttribute\(\s*[\"']style|\sstyle\s*=", re.I),
}


def test_no_template_or_script_of_ours_needs_what_the_policy_forbids(app):
    root = Path(app.root_path).parent
    found = []
    for path in sorted((root / "templates").rglob("*")):
        if path.suffix in {".html", ".svg"}:
            text = path.read_text()
            found += [f"{path.relative_to(root)}: {what}"
                      for what, pattern in INLINE_IN_TEMPLATES.items() if pattern.search(text)]
    scripts = [*(root / "static").rglob("*.js"), *(root / "templates").rglob("*.js")]
    for path in sorted(p for p in scripts if "vendor" not in p.parts):
        text = path.read_text()
        found += [f"{path.relative_to(root)}: {what}"
                  for what, pattern in EVAL_IN_SCRIPTS.items() if pattern.search(text)]
    assert found == []


def test_the_holders_private_link_keeps_its_stricter_referrer_policy(world, client):
    card = factories.card(world.a)
    token = new_link_token(card)
    db.session.commit()
    answer = client.get(f"/c/{token}")
    assert answer.status_code == 200
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["Content-Security-Policy"] == PAGE_POLICY


def test_a_card_pdf_gets_a_policy_that_lets_the_browsers_viewer_show_it(world, auth, client):
    card = factories.card(world.a, site=world.site_a)
    db.session.commit()
    auth.login("issuer-a")
    answer = client.get(f"/cards/{card.number}/card.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    policy = directives(answer.headers["Content-Security-Policy"])
    assert answer.headers["Content-Security-Policy"] == PDF_POLICY
    assert policy["frame-ancestors"] == ["'none'"] and "script-src" not in policy
    assert policy["default-src"] == ["'none'"]
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


# Behind HTTPS, and not


@dataclass
class Site:
    """A client of an app started with or without KAIKU_TRUSTED_PROXY, speaking the matching
    scheme (the proxy's HTTPS, or plain HTTP)."""

    client: object
    https: bool

    @property
    def base(self) -> str:
        """The scheme and host requests go to."""
        return HTTPS_BASE if self.https else "http://localhost"

    def login(self, username: str, remember: bool):
        """Post the login form as a browser does (over HTTPS, Flask-WTF checks the Referer)."""
        token = csrf_token(self.client, f"{self.base}/login")
        data = {"username": username, "password": factories.PASSWORD, "csrf_token": token}
        if remember:
            data["remember"] = "y"
        return self.client.post("/login", data=data, base_url=self.base,
                                headers={"Referer": f"{self.base}/login"})


@pytest.fixture(params=[False, True], ids=["http", "https"])
def site(request, monkeypatch) -> Site:
    """The app as configured from the environment, behind a trusted proxy or not."""
    if request.param:
        monkeypatch.setenv("KAIKU_TRUSTED_PROXY", "127.0.0.2")
    else:
        monkeypatch.delenv("KAIKU_TRUSTED_PROXY", raising=False)
    request.getfixturevalue("world")  # builds the app, after the environment is set
    return Site(request.getfixturevalue("client"), request.param)


def test_hsts_is_sent_only_behind_https(site):
    answer = site.client.get("/login", base_url=site.base)
    if site.https:
        assert answer.headers["Strict-Transport-Security"] == "max-age=31536000"
    else:
        assert "Strict-Transport-Security" not in answer.headers
    assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]


def test_the_session_cookie_is_http_only_same_site_lax_and_secure_behind_https(site):
    cookie = set_cookie(site.client.get("/login", base_url=site.base), "session")
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie.get("secure", False) is site.https


def test_the_remember_cookie_is_http_only_same_site_lax_and_secure_behind_https(site):
    answer = site.login("box-a", remember=True)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    for name in ("session", "remember_token"):
        cookie = set_cookie(answer, name)
        assert cookie["httponly"] is True, name
        assert cookie["samesite"] == "Lax", name
        assert cookie.get("secure", False) is site.https, name
    assert "expires" in set_cookie(answer, "remember_token")


# Request ceilings


WRONG = "not the password"


def _post_login(client, address: str = "127.0.0.1", password: str = WRONG):
    token = csrf_token(client)
    return client.post("/login", data={"username": "box-a", "password": password,
                                       "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def test_login_posts_have_a_per_address_ceiling_and_the_page_still_opens(world, app, client):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    app.config["LOGIN_MAX_FAILURES"] = 100  # the failure throttle is tested in test_auth
    assert [_post_login(client).status_code for _ in range(4)] == [401, 401, 401, 429]
    refused = _post_login(client, password=factories.PASSWORD)
    assert refused.status_code == 429  # even the right password waits: nothing is tried
    assert client.get("/login").status_code == 200
    assert _post_login(client, address="192.0.2.7").status_code == 401  # another address


def test_the_login_ceiling_is_configurable_from_the_environment(tmp_path):
    environ = {"KAIKU_ENV": "testing", "SECRET_KEY": "s"}
    assert config.from_environment(str(tmp_path), environ)["LOGIN_RATE_LIMIT"] == "30 per minute"
    environ["KAIKU_LOGIN_RATE_LIMIT"] = "10 per minute"
    assert config.from_environment(str(tmp_path), environ)["LOGIN_RATE_LIMIT"] == "10 per minute"


SCAN_CALLS = [
    ("POST", "/api/scan/check"), ("POST", "/api/scan/redeem"), ("POST", "/api/scan/annul"),
    ("POST", "/api/scan/sync"), ("GET", "/api/scan/venues"), ("GET", "/api/scan/today"),
    ("GET", "/api/scan/offline-bundle"),
]


def test_every_scan_endpoint_is_limited_per_account_with_a_reason_code(world, app, auth, client):
    app.config["SCAN_RATE_LIMIT"] = "2 per minute"
    auth.login("box-a")
    token = csrf_token(client, "/")
    api_rules = {r.rule for r in app.url_map.iter_rules() if r.rule.startswith("/api/scan/")}
    assert api_rules == {path for _, path in SCAN_CALLS}
    for method, path in SCAN_CALLS:
        answers = [client.open(path, method=method, json={}, headers={"X-CSRFToken": token},
                               query_string={"venue_id": world.theatre.id})
                   for _ in range(3)]
        assert [a.status_code == 429 for a in answers] == [False, False, True], path
        limited = answers[-1]
        assert limited.get_json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["Retry-After"]) > 0
        assert limited.headers["Content-Security-Policy"] == PAGE_POLICY


@pytest.mark.parametrize("username", ["box-a\x00", "\x00", "box\x00-a' OR 1=1 --"])
def test_a_username_with_a_nul_byte_is_a_plain_refusal_not_a_server_error(world, client, username):
    token = csrf_token(client)
    answer = client.post("/login", data={"username": username, "password": factories.PASSWORD,
                                         "csrf_token": token}, headers={"Accept-Language": "en"})
    # Refused before the login view, like a NUL anywhere (app/input_guard.py).
    assert answer.status_code == 400
    assert "not allowed (NUL)" in answer.get_data(as_text=True)
    assert client.get("/api/scan/venues").status_code == 401  # not signed in
