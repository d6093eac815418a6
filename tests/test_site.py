"""Pages of no feature: the base template, the language switch, error pages and /healthz."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app import create_app
from app.auth import public, roles
from app.extensions import db
from app.models import Region, User

EVIL_NEXT = ["//evil.example", "https://evil.example/", "/\\evil.example", "javascript:alert(1)",
             "\\\\evil"]
CRASH_MESSAGE = "kaboom: secret internals"


@pytest.fixture
def app(app):
    """The application with a view that fails after writing, and views for admins only."""

    def crash():
        db.session.add(Region(code="ZZZ", name_fi="Kaatuu", national_network=False))
        db.session.flush()
        raise RuntimeError(CRASH_MESSAGE)

    app.add_url_rule("/probe/crash", "crash", public(crash))
    app.add_url_rule("/api/probe/crash", "api_crash", public(lambda: crash()))
    app.add_url_rule("/probe/admins", "admins", roles("admin")(lambda: "admins"))
    app.add_url_rule("/api/probe/admins", "api_admins", roles("admin")(lambda: {"ok": True}))
    return app


def html_lang(response) -> str:
    """The language a page declares on its <html> element."""
    return re.search(r'<html lang="([^"]*)"', response.get_data(as_text=True)).group(1)


# The health check


def test_health_check_answers_200_json_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_health_check_answers_503_json_when_the_database_is_unreachable(tmp_path, monkeypatch):
    monkeypatch.setenv("KAIKU_INSTANCE", str(tmp_path))
    broken = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/x.db",
                         "SIGNING_KEY_DIR": str(tmp_path / "keys")})
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "reason": "database_unavailable"}
    with broken.app_context():
        db.engine.dispose()


# The base template


def test_pages_are_laid_out_for_phones_first(client):
    html = client.get("/login").get_data(as_text=True)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert '<meta charset="utf-8">' in html
    assert re.search(r'<link rel="stylesheet" href="/static/css/app\.css[^"]*">', html)


@pytest.mark.parametrize("path", ["/login", "/no-such-page"])
def test_pages_carry_the_csrf_token_for_scripts(client, path):
    html = client.get(path).get_data(as_text=True)
    assert re.search(r'<meta name="csrf-token" content="[^"]{20,}">', html)


def test_stylesheet_is_served_publicly(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.mimetype == "text/css"
    response.close()


def test_the_box_office_start_page_is_its_scanner(world, auth, client):
    auth.login("box-a")
    assert client.get("/").headers["Location"] == "/scan"


def test_start_page_shows_who_is_signed_in(world, auth, client):
    auth.login("coord-a")
    response = client.get("/")
    assert response.status_code == 200
    assert "coord-a" in response.get_data(as_text=True)


# Languages


def test_pages_are_in_finnish_by_default(client):
    assert html_lang(client.get("/login")) == "fi"


@pytest.mark.parametrize(("accept", "expected"), [
    ("fi", "fi"),
    ("sv", "sv"),
    ("sv-FI", "sv"),
    ("sv-FI,sv;q=0.9,en;q=0.5", "sv"),
    ("en-GB,en;q=0.8", "en"),
    ("fi;q=0.2, sv;q=0.9", "sv"),
    ("de-DE,de;q=0.9,en;q=0.5", "en"),
    ("de-DE,de;q=0.9", "fi"),
    ("*", "fi"),
])
def test_browser_language_is_honoured(client, accept, expected):
    response = client.get("/login", headers={"Accept-Language": accept})
    assert html_lang(response) == expected


def test_language_switch_remembers_the_choice_and_returns_to_next(client):
    response = client.get("/lang/en", query_string={"next": "/login"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/login"
    page = client.get("/login", headers={"Accept-Language": "sv"})
    assert html_lang(page) == "en"


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_language_switch_never_redirects_to_another_site(client, target):
    response = client.get("/lang/sv", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("code", ["de", "xx", "FI", "fi-FI", ""])
def test_unknown_language_code_is_ignored(client, code):
    client.get("/lang/sv")
    response = client.get(f"/lang/{code}", query_string={"next": "/login"})
    if code:
        assert response.headers["Location"] == "/login"
    assert html_lang(client.get("/login")) == "sv"


def test_language_switch_offers_the_other_two_languages(client):
    html = client.get("/login").get_data(as_text=True)
    links = re.findall(r'<a class="lang" lang="(\w+)"[^>]*href="([^"]+)"', html)
    assert [code for code, _ in links] == ["sv", "en"]
    assert [href for _, href in links] == ["/lang/sv?next=/login", "/lang/en?next=/login"]
    assert re.search(r'<span class="lang current" lang="fi" aria-current="true">', html)


def test_accounts_own_language_applies_until_another_is_chosen(world, auth, client):
    db.session.execute(sa.update(User).where(User.username == "coord-a").values(locale="sv"))
    db.session.commit()
    auth.login("coord-a")
    assert html_lang(client.get("/")) == "sv"
    client.get("/lang/en")
    assert html_lang(client.get("/")) == "en"


def test_language_choice_survives_logging_out(world, auth, client):
    client.get("/lang/sv")
    auth.login("box-a")
    auth.logout()
    assert html_lang(client.get("/login")) == "sv"


# Error pages


def test_unknown_page_is_a_404_page(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "404" in response.get_data(as_text=True)


@pytest.mark.parametrize(("accept", "page", "api"), [
    (None, "Sivua ei löytynyt.", "Kirjaudu sisään."),
    ("sv", "Sidan hittades inte.", "Logga in."),
    ("en", "The page was not found.", "Please log in."),
])
def test_error_messages_speak_the_language_of_the_request(app, client, accept, page, api):
    app.add_url_rule("/api/probe/members", "api_members", roles("admin")(lambda: {}))
    headers = {"Accept-Language": accept} if accept else {}
    assert f"<h1>{page}</h1>" in client.get("/nowhere", headers=headers).get_data(as_text=True)
    refused = client.get("/api/probe/members", headers=headers)
    assert refused.get_json()["error"]["message"] == api


def test_unknown_api_path_is_a_404_in_json(client):
    response = client.get("/api/no-such-thing")
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json()["error"]["code"] == "not_found"
    assert response.get_json()["error"]["message"]


@pytest.mark.parametrize(("path", "mimetype"), [("/probe/admins", "text/html"),
                                               ("/api/probe/admins", "application/json")])
def test_page_of_another_role_is_a_403(world, auth, client, path, mimetype):
    auth.login("box-a")
    response = client.get(path)
    assert response.status_code == 403
    assert response.mimetype == mimetype
    if mimetype == "application/json":
        assert response.get_json()["error"]["code"] == "forbidden"
    else:
        assert "403" in response.get_data(as_text=True)


def test_crash_shows_a_friendly_500_page_without_internals(client):
    response = client.get("/probe/crash")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert "500" in body
    assert '<html lang="fi">' in body
    assert "Traceback" not in body
    assert CRASH_MESSAGE not in body


def test_crash_under_the_api_answers_500_json_without_internals(client):
    response = client.get("/api/probe/crash")
    assert response.status_code == 500
    assert response.get_json()["error"]["code"] == "server_error"
    assert CRASH_MESSAGE not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/probe/crash", "/api/probe/crash"])
def test_crash_rolls_back_what_the_request_had_written(client, path):
    client.get(path)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Region)) == 0
    # The session is usable again for the next request.
    assert client.get("/healthz").status_code == 200


def test_wrong_method_is_a_405_page(client):
    response = client.get("/logout")
    assert response.status_code == 405
    assert response.mimetype == "text/html"


def test_a_body_over_the_size_limit_is_answered_413_with_a_reason_code(client):
    answer = client.post("/api/scan/check", data=b"x" * (3 * 1024 * 1024),
                         headers={"Content-Type": "application/json"})
    assert answer.status_code == 413
    assert answer.get_json()["error"]["code"] == "too_large"


@pytest.mark.parametrize("path", [
    "/manage/staff/99999999999999999999/edit",
    "/manage/venues/2147483648/edit",
    "/manage/staff?page=99999999999999999999",
    "/manage/events?page=-5&venue=99999999999999999999",
    "/manage/audit?page=abc",
])
def test_ids_and_pages_no_database_can_hold_are_answered_without_an_error(world, auth, client, path):
    auth.login("coord-a")
    answer = client.get(path)
    assert answer.status_code in (200, 404), (path, answer.status_code)


def test_an_error_raised_after_the_database_went_away_is_a_503_not_a_500(app):
    """The session's "rolled back after an earlier error" comes after a lost connection:
    the answer is still 503 database_unavailable, never the server's bare 500."""
    from sqlalchemy import exc as sa_exc

    @app.route("/api/lost-connection")
    @public
    def lost_connection():
        lost = sa_exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        try:
            raise lost
        except sa_exc.OperationalError as error:
            raise sa_exc.PendingRollbackError("this session's transaction was rolled back") from error

    answer = app.test_client().get("/api/lost-connection")
    assert answer.status_code == 503
    assert answer.get_json()["error"]["code"] == "database_unavailable"
