"""Staff accounts: hashed passwords, login and logout, throttling, CSRF and the default-deny gate."""
from __future__ import annotations

import re
import threading
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from babel.dates import format_datetime
from flask import request
from werkzeug.routing import FloatConverter, IntegerConverter, UUIDConverter

from app.auth import public, roles
from app.auth import service as auth_service
from app.auth import views as auth_views
from app.auth.service import throttle_keys
from app.extensions import db
from app.manage.staff_service import reset_password
from app.models import ROLES, LoginThrottle, User, utcnow
from tests.conftest import ServerLikeClient, csrf_token
from tests.support.factories import PASSWORD

USERNAMES = {"admin": "admin1", "coordinator": "coord-a", "issuer": "issuer-a",
             "boxoffice": "box-a"}
EVIL_NEXT = [
    "//evil.example",
    "//evil.example/login",
    "https://evil.example/",
    "http:evil.example",
    "/\\evil.example",
    "\\\\evil",
    "javascript:alert(1)",
    "evil.example",
    "/\t/evil.example",
    "/\r\nSet-Cookie: stolen=1",
]
# Endpoints anyone may open: the login page, the language switch, the health check, and the
# holder's digital card (DESIGN §5), which lives in its own blueprint.
# The scanner's manifest and service worker hold no data: browsers fetch manifests without
# cookies, and the worker must load on a device whose session has run out.
PUBLIC_ENDPOINTS = {"auth.login", "site.set_language", "site.healthz", "static",
                    "scan_api.openapi_document", "scan.manifest", "scan.service_worker"}
PUBLIC_BLUEPRINTS = {"holder"}


def _probe(name: str):
    def view():
        return {"probe": name}
    view.__name__ = name
    return view


@pytest.fixture
def app(app):
    """The application with probe views that show how the gate treats each kind of view."""
    app.add_url_rule("/probe/unmarked", view_func=_probe("unmarked"))
    app.add_url_rule("/api/probe/unmarked", view_func=_probe("api_unmarked"))
    for role in ROLES:
        app.add_url_rule(f"/probe/only-{role}", view_func=roles(role)(_probe(f"only_{role}")))
    app.add_url_rule("/probe/admin-or-coordinator",
                     view_func=roles("admin", "coordinator")(_probe("admin_or_coordinator")))

    @roles(*ROLES)
    def api_echo():
        return {"echo": request.get_json()}

    app.add_url_rule("/api/probe/echo", view_func=api_echo, methods=["POST"])
    return app


@pytest.fixture
def english(client):
    """Ask for English, so that messages can be compared to their source text."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def flashes(response) -> list[str]:
    """The flash messages shown on a page."""
    return re.findall(r'<p class="flash flash-\w+"[^>]*>(.*?)</p>', response.get_data(as_text=True))


def signed_in(client) -> bool:
    """Whether the client's session opens the start page (the box office's is its scanner)."""
    return client.get("/", follow_redirects=True).request.path in {"/", "/scan"}


def fail_login(auth, username: str, address: str):
    """One wrong password from an address."""
    return auth.login(username, "wrong password", environ_base={"REMOTE_ADDR": address})


class Clock:
    """The time login throttling reads: it stands still until a test moves it on, so a wait
    of one second is still running however slowly the machine answers."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now


@pytest.fixture(autouse=True)
def clock(monkeypatch) -> Clock:
    """Login throttling on a clock of the test's own."""
    stopped = Clock()
    monkeypatch.setattr(auth_service, "utcnow", stopped)
    monkeypatch.setattr(auth_views, "utcnow", stopped)
    return stopped


def lift_locks() -> None:
    """Move every lock into the past, as if its time had run out."""
    now = auth_service.utcnow()
    db.session.execute(sa.update(LoginThrottle).values(locked_until=now - timedelta(seconds=1)))
    db.session.commit()


# Passwords


def test_passwords_are_stored_as_salted_hashes_not_as_typed(app):
    # Two accounts with the same password (the factories share one hash for speed).
    first, second = User(username="first", role="admin"), User(username="second", role="admin")
    first.set_password(PASSWORD)
    second.set_password(PASSWORD)
    db.session.add_all([first, second])
    db.session.commit()
    stored = db.session.scalars(sa.select(User.password_hash).order_by(User.id)).all()
    assert stored[0] != stored[1]
    for value in stored:
        assert PASSWORD not in value
        assert value.startswith(("scrypt:", "pbkdf2:"))


def test_stored_hash_accepts_the_password_and_nothing_else(world):
    user = db.session.scalar(sa.select(User).where(User.username == "admin1"))
    assert user.check_password(PASSWORD)
    assert not user.check_password(PASSWORD.upper())
    assert not user.check_password("")


# Signing in


def test_login_page_is_a_form_with_username_password_and_csrf_token(client):
    html = client.get("/login").get_data(as_text=True)
    for name in ("username", "password", "csrf_token"):
        assert f'name="{name}"' in html
    assert 'type="password"' in html


@pytest.mark.parametrize("role", ROLES)
def test_right_password_signs_in_and_goes_to_the_start_page(world, auth, client, role):
    response = auth.login(USERNAMES[role])
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert signed_in(client)


@pytest.mark.parametrize("target", ["/probe/only-admin", "/probe/only-admin?tab=2", "/login"])
def test_login_goes_on_to_a_local_next_path(world, auth, client, target):
    response = auth.login("admin1", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == target


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_login_never_redirects_to_another_site(world, auth, client, target):
    response = auth.login("admin1", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert signed_in(client)


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_signed_in_person_opening_the_login_page_is_sent_home_not_away(world, auth, client,
                                                                        target):
    auth.login("admin1")
    response = client.get("/login", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_anonymous_visitor_is_sent_to_login_and_then_back_to_the_page(world, auth, client):
    response = client.get("/probe/only-admin?tab=2")
    assert response.status_code == 302
    login_url = response.headers["Location"]
    assert login_url.startswith("/login?next=")
    token = csrf_token(client)
    back = client.post(login_url, data={"username": "admin1", "password": PASSWORD,
                                        "csrf_token": token})
    assert back.headers["Location"] == "/probe/only-admin?tab=2"
    assert client.get("/probe/only-admin?tab=2").get_json() == {"probe": "only_admin"}


def test_wrong_password_is_refused_with_401_and_a_message(world, auth, english):
    response = auth.login("admin1", "not the password")
    assert response.status_code == 401
    assert flashes(response) == ["Wrong username or password."]
    assert 'role="alert"' in response.get_data(as_text=True)
    assert not signed_in(english)


@pytest.mark.parametrize(("accept", "message"), [
    (None, "Väärä käyttäjätunnus tai salasana."),
    ("sv", "Fel användarnamn eller lösenord."),
    ("en", "Wrong username or password."),
])
def test_refusal_is_said_in_the_language_of_the_page(world, auth, client, accept, message):
    if accept:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept
    assert flashes(auth.login("admin1", "not the password")) == [message]


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(world, auth):
    wrong_password = auth.login("admin1", "not the password")
    unknown_user = auth.login("nobody-here", "not the password")
    assert unknown_user.status_code == wrong_password.status_code == 401
    assert flashes(unknown_user) == flashes(wrong_password) != []


def test_empty_form_is_refused_with_400_and_stays_on_the_login_page(world, client):
    response = client.post("/login", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert not signed_in(client)


def test_inactive_account_cannot_log_in(world, auth, client):
    refused_for_password = flashes(auth.login("issuer-a", "not the password"))
    db.session.execute(sa.update(User).where(User.username == "issuer-a").values(active=False))
    db.session.commit()
    response = auth.login("issuer-a")
    assert response.status_code == 401
    assert flashes(response) == refused_for_password
    assert not signed_in(client)


def test_account_deactivated_while_signed_in_is_signed_out_on_its_next_request(world, auth,
                                                                               client):
    auth.login("issuer-a")
    assert signed_in(client)
    db.session.execute(sa.update(User).where(User.username == "issuer-a").values(active=False))
    db.session.commit()
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    # The same device can still be used by a colleague.
    assert auth.login("box-a").headers["Location"] == "/"
    assert signed_in(client)


# Throttling (README, "Login throttling")

OFFICE, HOME = "203.0.113.7", "198.51.100.200"


def login_from(auth, username: str, address: str, password: str = PASSWORD):
    """One login attempt from an address."""
    return auth.login(username, password, environ_base={"REMOTE_ADDR": address})


def time_passes(seconds: float) -> None:
    """Move login throttling's clock on (and end the test's own snapshot of the database)."""
    auth_service.utcnow.now += timedelta(seconds=seconds)
    db.session.commit()


def wait_told(response) -> int:
    """The seconds the login form says to wait, from its English message."""
    assert response.status_code == 429
    found = re.fullmatch(r"Too many failed attempts\. Try again in (\d+) seconds?\.",
                         flashes(response)[0])
    assert found, flashes(response)
    return int(found.group(1))


def pair_row(app, username: str, address: str) -> LoginThrottle:
    """The throttle row of one account at one address."""
    return db.session.get(LoginThrottle,
                          throttle_keys(username, address, app.config["SECRET_KEY"]).pair)


def test_five_typos_by_one_colleague_do_not_stop_a_colleague_at_the_same_address(world, auth,
                                                                                 client):
    for _ in range(5):
        assert fail_login(auth, "coord-a", OFFICE).status_code == 401
    colleague = login_from(auth, "issuer-a", OFFICE)
    assert colleague.headers["Location"] == "/"
    assert signed_in(client)


def test_five_typos_lock_the_account_at_that_address_only_and_slow_it_elsewhere(world, auth,
                                                                                english):
    for _ in range(5):
        fail_login(auth, "coord-a", OFFICE)
    assert login_from(auth, "coord-a", OFFICE).status_code == 429
    assert wait_told(login_from(auth, "coord-a", HOME)) == 1
    time_passes(1)
    assert login_from(auth, "coord-a", HOME).headers["Location"] == "/"
    assert signed_in(english)


def test_an_attacker_at_one_address_holds_the_owner_elsewhere_no_longer_than_the_delay(
        world, auth, english):
    attacker = "192.0.2.66"
    for _ in range(5):
        fail_login(auth, "coord-a", attacker)
    for _ in range(10):  # held back at once: neither checked nor counted
        assert fail_login(auth, "coord-a", attacker).status_code == 429
    assert wait_told(login_from(auth, "coord-a", HOME)) == 1
    time_passes(1)
    assert fail_login(auth, "coord-a", attacker).status_code == 429  # that pair is locked
    assert login_from(auth, "coord-a", HOME).headers["Location"] == "/"
    assert signed_in(english)


def test_the_accounts_delay_doubles_from_one_second_up_to_its_cap(world, auth, english, app):
    addresses = (f"198.51.100.{n}" for n in range(100))  # a new address each time: no pair lock
    for _ in range(4):
        assert fail_login(auth, "coord-a", next(addresses)).status_code == 401
    waits = []
    for _ in range(9):
        assert fail_login(auth, "coord-a", next(addresses)).status_code == 401
        waits.append(wait_told(fail_login(auth, "coord-a", next(addresses))))
        time_passes(waits[-1])
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert app.config["LOGIN_MAX_DELAY_SECONDS"] == 60
    assert login_from(auth, "coord-a", next(addresses)).headers["Location"] == "/"


def test_a_right_password_during_the_delay_is_not_checked_nor_the_attempt_counted(world, auth,
                                                                                  english):
    for n in range(5):
        fail_login(auth, "coord-a", f"198.51.100.{n}")
    right = login_from(auth, "coord-a", HOME)
    wrong = fail_login(auth, "coord-a", HOME)
    assert right.status_code == wrong.status_code == 429
    assert flashes(right) == flashes(wrong)
    assert not signed_in(english)
    time_passes(1)
    assert login_from(auth, "coord-a", HOME).headers["Location"] == "/"


def test_a_right_password_clears_the_failures_of_that_account_at_that_address(world, auth,
                                                                              client):
    for _ in range(4):
        fail_login(auth, "coord-a", OFFICE)
    assert login_from(auth, "coord-a", OFFICE).headers["Location"] == "/"
    auth.logout()
    for _ in range(4):
        assert fail_login(auth, "coord-a", OFFICE).status_code == 401
    assert login_from(auth, "coord-a", OFFICE).headers["Location"] == "/"


def test_four_wrong_passwords_do_not_slow_the_account(world, auth, client):
    for n in range(4):
        fail_login(auth, "coord-a", f"198.51.100.{n}")
    assert auth.login("coord-a").headers["Location"] == "/"


def test_right_password_clears_the_accounts_failure_count(world, auth, client):
    for n in range(4):
        fail_login(auth, "coord-a", f"198.51.100.{n}")
    auth.login("coord-a")
    auth.logout()
    for n in range(4):
        fail_login(auth, "coord-a", f"198.51.100.{n + 10}")
    assert auth.login("coord-a").headers["Location"] == "/"


def test_spraying_many_accounts_from_one_address_slows_that_address_only(world, auth, app,
                                                                         english):
    app.config["LOGIN_ADDRESS_MAX_FAILURES"] = 8
    for n in range(8):
        assert fail_login(auth, f"guess-{n}", OFFICE).status_code == 401
    assert wait_told(login_from(auth, "coord-a", OFFICE)) == 1
    assert login_from(auth, "coord-a", HOME).headers["Location"] == "/"
    time_passes(1)
    auth.logout()
    assert fail_login(auth, "guess-x", OFFICE).status_code == 401
    assert wait_told(login_from(auth, "coord-a", OFFICE)) == 2  # a success elsewhere clears
    # nothing of the address's count, and neither does one at the address itself:
    time_passes(2)
    assert login_from(auth, "coord-a", OFFICE).headers["Location"] == "/"
    auth.logout()
    assert fail_login(auth, "guess-y", OFFICE).status_code == 401
    assert wait_told(login_from(auth, "issuer-a", OFFICE)) == 4


def drop_session_cookies(client, response) -> None:
    """Forget the cookies that end with the browser (no Expires or Max-Age), as a phone's
    browser does when it is closed; the long-lived ones stay."""
    for header in response.headers.getlist("Set-Cookie"):
        name, attributes = header.split("=", 1)[0], header.lower()
        if "expires=" not in attributes and "max-age=" not in attributes:
            client.delete_cookie(name)


# Only box-office accounts are remembered (the scanning phones; see tests/test_sessions.py).
@pytest.mark.parametrize(("username", "page"), [("box-a", "/scan"), ("box-a", "/api/scan/venues")])
def test_a_device_that_stays_signed_in_gets_in_while_an_attacker_slows_the_account(
        world, app, auth, client, username, page):
    device = app.test_client()
    token = csrf_token(device)
    login = device.post("/login", data={"username": username, "password": PASSWORD,
                                        "remember": "y", "csrf_token": token})
    assert login.status_code == 302
    drop_session_cookies(device, login)
    for n in range(12):  # an attacker from many addresses, each wait sat out: slowed for 60 s
        lift_locks()
        assert fail_login(auth, username, f"192.0.2.{n}").status_code == 401
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert wait_told(login_from(auth, username, HOME)) == 60
    answer = device.get(page)
    assert answer.status_code == 200
    assert answer.request.path == page


def test_locked_out_person_is_told_the_finnish_time_the_lock_ends(world, auth, english, app):
    app.config["LOGIN_LOCK_SECONDS"] = 300  # a wait of two minutes or more is told as a time
    for _ in range(5):
        fail_login(auth, "coord-a", OFFICE)
    time_passes(1)  # the account's short delay is over; the pair's lock holds
    response = login_from(auth, "coord-a", OFFICE)
    until = pair_row(app, "coord-a", OFFICE).locked_until
    local_time = format_datetime(until, "short", tzinfo=ZoneInfo("Europe/Helsinki"), locale="en_FI")
    assert flashes(response) == [f"Too many failed attempts. Try again after {local_time}."]


def test_simultaneous_first_failures_for_one_name_all_get_a_plain_refusal(world, app):
    token_clients = []
    for _ in range(8):
        c = ServerLikeClient(app, app.response_class, use_cookies=True)
        token_clients.append((c, csrf_token(c)))
    barrier = threading.Barrier(len(token_clients))
    statuses: list[int] = []

    def attempt(c, token) -> None:
        barrier.wait()
        response = c.post("/login", data={"username": "nobody-yet", "password": "x",
                                          "csrf_token": token})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=pair) for pair in token_clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    db.session.rollback()
    assert sorted(statuses) == [401] * 5 + [429] * 3  # each counted once, in turn
    assert db.session.get(LoginThrottle, "user:nobody-yet").failures == 5


def test_lock_runs_out_and_the_right_password_then_works(world, auth, client):
    for _ in range(5):
        fail_login(auth, "coord-a", OFFICE)
    assert login_from(auth, "coord-a", OFFICE).status_code == 429
    lift_locks()
    response = login_from(auth, "coord-a", OFFICE)
    assert response.headers["Location"] == "/"
    assert signed_in(client)


def test_lock_holds_for_the_configured_time(world, auth, app, clock):
    for _ in range(5):
        fail_login(auth, "coord-a", OFFICE)
    lock = timedelta(seconds=app.config["LOGIN_LOCK_SECONDS"])
    assert pair_row(app, "coord-a", OFFICE).locked_until == clock.now + lock
    time_passes(lock.total_seconds() - 1)
    assert login_from(auth, "coord-a", OFFICE).status_code == 429
    time_passes(1)
    assert login_from(auth, "coord-a", OFFICE).headers["Location"] == "/"


def test_failures_older_than_the_window_are_forgotten(world, auth, app, client):
    for n in range(4):
        fail_login(auth, "coord-a", f"198.51.100.{n}")
    time_passes(app.config["LOGIN_FAILURE_WINDOW_SECONDS"] + 1)
    fail_login(auth, "coord-a", "198.51.100.50")
    assert auth.login("coord-a").headers["Location"] == "/"


def test_throttle_never_stores_an_address_in_plain(world, auth):
    fail_login(auth, "coord-a", OFFICE)
    keys = db.session.scalars(sa.select(LoginThrottle.key)).all()
    assert "user:coord-a" in keys
    assert len(keys) == 3  # the account, the account at the address, the address
    assert not any("203.0.113" in key for key in keys)


def test_rows_that_hold_nothing_any_more_are_swept_away(world, auth, app, monkeypatch):
    for n in range(3):
        fail_login(auth, "coord-a", f"198.51.100.{n}")
    assert len(db.session.scalars(sa.select(LoginThrottle.key)).all()) == 7
    time_passes(app.config["LOGIN_FAILURE_WINDOW_SECONDS"] + 1)
    monkeypatch.setattr(auth_service, "_next_sweep", 0.0)
    fail_login(auth, "issuer-a", OFFICE)
    keys = db.session.scalars(sa.select(LoginThrottle.key)).all()
    assert sorted(keys) == sorted(throttle_keys("issuer-a", OFFICE, app.config["SECRET_KEY"]).all())


# Logging out


def test_logout_with_its_csrf_token_ends_the_session(world, auth, client):
    auth.login("box-a")
    response = auth.logout()
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    home = client.get("/")
    assert home.status_code == 302
    assert home.headers["Location"].startswith("/login")


def test_logout_by_get_is_not_allowed_and_keeps_the_session(world, auth, client):
    auth.login("box-a")
    assert client.get("/logout").status_code == 405
    assert signed_in(client)


def test_logout_without_csrf_token_is_refused_and_keeps_the_session(world, auth, client):
    auth.login("box-a")
    assert client.post("/logout").status_code == 400
    assert signed_in(client)


def test_start_page_offers_logout_as_a_form_with_a_csrf_token(world, auth, client):
    auth.login("coord-a")
    html = client.get("/").get_data(as_text=True)
    form = re.search(r'<form[^>]*action="/logout".*?</form>', html, re.S).group(0)
    assert 'method="post"' in form
    assert 'name="csrf_token"' in form


# CSRF


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_login_post_without_a_valid_csrf_token_is_refused_with_a_400_page(world, english, token):
    english.get("/login")
    data = {"username": "admin1", "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = english.post("/login", data=data)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    assert "The form had expired. Reload the page and try again." in response.get_data(as_text=True)
    assert not signed_in(english)


@pytest.mark.parametrize("headers", [{}, {"X-CSRFToken": ""}, {"X-CSRFToken": "forged"}])
def test_api_post_without_a_valid_csrf_header_is_refused_in_json(world, auth, client, headers):
    auth.login("box-a")
    response = client.post("/api/probe/echo", json={"n": 1}, headers=headers)
    assert response.status_code == 400
    assert response.is_json
    assert response.get_json()["error"]["code"] == "csrf_failed"
    assert response.get_json()["error"]["message"]


def test_api_post_with_the_pages_csrf_token_in_the_header_is_accepted(world, auth, client):
    auth.login("box-a")
    token = csrf_token(client, "/")
    response = client.post("/api/probe/echo", json={"n": 1}, headers={"X-CSRFToken": token})
    assert response.status_code == 200
    assert response.get_json() == {"echo": {"n": 1}}


def test_csrf_token_of_another_session_is_refused(world, app, auth, client):
    other = app.test_client()
    foreign = csrf_token(other)
    auth.login("box-a")
    response = client.post("/api/probe/echo", json={"n": 1}, headers={"X-CSRFToken": foreign})
    assert response.status_code == 400


# Deny by default


@pytest.mark.parametrize("role", ROLES)
def test_view_without_roles_is_forbidden_to_every_signed_in_role(world, auth, client, role):
    auth.login(USERNAMES[role])
    assert client.get("/probe/unmarked").status_code == 403
    api = client.get("/api/probe/unmarked")
    assert api.status_code == 403
    assert api.get_json()["error"]["code"] == "forbidden"


def test_view_without_roles_sends_an_anonymous_visitor_to_login(world, client):
    response = client.get("/probe/unmarked")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/probe/unmarked"


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/probe/unmarked"),
                                            ("POST", "/api/probe/echo")])
def test_api_view_answers_401_json_to_an_anonymous_caller(world, client, method, path):
    response = client.open(path, method=method, json={"n": 1},
                           headers={"X-CSRFToken": csrf_token(client)})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "login_required"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("admitted", [(r,) for r in ROLES] + [("admin", "coordinator")])
def test_roles_admit_exactly_the_listed_roles(world, auth, client, role, admitted):
    path = "/probe/only-" + admitted[0] if len(admitted) == 1 else "/probe/admin-or-coordinator"
    auth.login(USERNAMES[role])
    assert client.get(path).status_code == (200 if role in admitted else 403)


def test_only_login_language_health_and_holder_link_are_public(app):
    public_endpoints = {endpoint for endpoint, view in app.view_functions.items()
                        if getattr(view, "is_public", False)}
    unexpected = {e for e in public_endpoints - PUBLIC_ENDPOINTS
                  if e.split(".")[0] not in PUBLIC_BLUEPRINTS}
    assert unexpected == set()
    assert {"auth.login", "site.healthz"} <= public_endpoints


def _example_url(rule) -> str:
    """A URL for a rule, with a plausible value for each of its arguments."""
    examples = {IntegerConverter: 1, FloatConverter: 1.0, UUIDConverter: uuid.UUID(int=1)}
    values = {arg: next((value for kind, value in examples.items()
                         if isinstance(rule._converters[arg], kind)), "x") for arg in rule.arguments}
    return rule.build(values)[1]


def test_every_other_page_sends_an_anonymous_visitor_to_login(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, "is_public", False) or rule.endpoint == "static" \
                or "GET" not in rule.methods:
            continue
        url = _example_url(rule)
        response = client.get(url)
        if url.startswith("/api/"):
            assert response.status_code == 401, url
        else:
            assert response.status_code == 302, url
            assert response.headers["Location"].startswith("/login?next="), url
        checked += 1
    assert checked >= 3


def test_public_decorator_admits_anonymous_visitors(app, client):
    app.add_url_rule("/probe/open", view_func=public(_probe("open")))
    assert client.get("/probe/open").get_json() == {"probe": "open"}


def test_staying_signed_in_on_the_device_sets_a_long_lived_remember_cookie(world, client):
    token = csrf_token(client)
    client.post("/login", data={"username": "box-a", "password": PASSWORD, "remember": "y",
                                "csrf_token": token})
    cookie = client.get_cookie("remember_token")
    assert cookie is not None and cookie.http_only
    assert cookie.expires is not None


def test_without_staying_signed_in_no_remember_cookie_is_set(world, auth, client):
    auth.login("box-a")
    assert client.get_cookie("remember_token") is None


def test_the_login_form_offers_to_stay_signed_in_checked_by_default(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'name="remember"' in html and "checked" in html


def test_a_new_password_ends_the_accounts_open_sessions(world, auth, client):
    auth.login("coord-a")
    assert signed_in(client)
    user = db.session.scalar(sa.select(User).where(User.username == "coord-a"))
    reset_password(world.users["admin"], user, "a brand new password")
    assert not signed_in(client)
    assert auth.login("coord-a", "a brand new password").status_code == 302
