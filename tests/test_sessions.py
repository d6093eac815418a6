"""Signed-in devices (issue 12, point 5): logging out, ending devices, password changes and
lifetimes end a session on the server, so a copied cookie opens nothing afterwards."""
from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.auth import load_user
from app.auth.sessions import device_label
from app.extensions import db
from app.models import AuditEvent, StaffSession, User, utcnow
from tests.conftest import Auth, ServerLikeClient, csrf_token
from tests.support.factories import PASSWORD
from tests.support.queries import statements_sent

ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.0.0 Mobile Safari/537.36")
WINDOWS_FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


@pytest.fixture
def other_device(app):
    """A second browser of its own (its own cookies), e.g. the person's phone."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def remember_login(client, username: str, user_agent: str = ANDROID_CHROME):
    """Log in with "stay signed in on this device" ticked, from a browser of that kind."""
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    return client.post("/login", data={"username": username, "password": PASSWORD,
                                       "remember": "y", "csrf_token": csrf_token(client)})


def copy_of(client, app, *names: str) -> ServerLikeClient:
    """Another browser holding copies of these cookies of `client` and nothing else."""
    thief = app.test_client()
    for name in names:
        cookie = client.get_cookie(name)
        assert cookie is not None, name
        thief.set_cookie(name, cookie.value)
    return thief


def opens_management(client) -> bool:
    """Whether the client's cookies open the management start page."""
    answer = client.get("/manage/")
    assert answer.status_code in (200, 302)
    return answer.status_code == 200


def opens_scanner(client, venue_id: int) -> bool:
    """Whether the client's cookies open the scanner page and its API."""
    page = client.get("/scan")
    api = client.get("/api/scan/today", query_string={"venue_id": venue_id})
    assert (page.status_code == 200) == (api.status_code == 200)
    if api.status_code != 200:
        assert page.headers["Location"].startswith("/login")
        assert api.status_code == 401 and api.get_json()["error"]["code"] == "login_required"
    return api.status_code == 200


def sessions_of(username: str) -> list[StaffSession]:
    """The account's session rows, oldest first, as stored."""
    db.session.rollback()
    return list(db.session.scalars(
        sa.select(StaffSession).join(User).where(User.username == username)
        .order_by(StaffSession.id)))


def move_back(username: str, **delta) -> None:
    """Let time pass for the account's sessions: their stamps go back by `delta`."""
    back = timedelta(**delta)
    for row in sessions_of(username):
        row.created_at, row.last_seen_at = row.created_at - back, row.last_seen_at - back
    db.session.commit()


def post(client, path: str, data: dict | None = None):
    """Post a form with the page's CSRF token, as a browser does."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client, "/")})


def text(response) -> str:
    """The answer as text."""
    return response.get_data(as_text=True)


# Logging out


def test_a_copied_session_cookie_opens_nothing_after_logout(world, app, auth, client):
    auth.login("coord-a")
    thief = copy_of(client, app, "session")
    assert opens_management(thief)
    auth.logout()
    assert not opens_management(thief)
    assert thief.get("/manage/").headers["Location"].startswith("/login")


def test_a_copied_session_cookie_of_the_scanner_gets_401_from_the_api_after_logout(world, app,
                                                                                   auth, client):
    auth.login("box-a")
    thief = copy_of(client, app, "session")
    assert opens_scanner(thief, world.theatre.id)
    auth.logout()
    assert not opens_scanner(thief, world.theatre.id)


def test_a_copied_remember_cookie_logs_nobody_in_after_logout(world, app, auth, client):
    remember_login(client, "box-a")
    thief = copy_of(client, app, "remember_token")
    assert opens_scanner(thief, world.theatre.id)  # the copy works while the device is signed in
    auth.logout()
    assert client.get_cookie("remember_token") is None
    assert not opens_scanner(copy_of(thief, app, "remember_token"), world.theatre.id)


def test_logout_ends_only_that_device(world, auth, client, other_device):
    auth.login("coord-a")
    Auth(other_device).login("coord-a")
    auth.logout()
    assert not opens_management(client)
    assert opens_management(other_device)
    assert [s.ended_reason for s in sessions_of("coord-a")] == ["logout", None]


def test_the_table_keeps_a_hash_of_the_token_never_the_token(world, app, client):
    remember_login(client, "box-a")
    [row] = sessions_of("box-a")
    cookie = client.get_cookie("remember_token").value
    token = cookie.split("|")[0]
    assert len(token) >= 40
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = repr([tuple(r) for r in db.session.execute(sa.select(StaffSession.__table__))])
    assert token not in stored


# The list of one's own devices


def test_the_devices_page_lists_each_signed_in_device_and_marks_this_one(world, english,
                                                                       other_device):
    remember_login(english, "box-a", ANDROID_CHROME)
    remember_login(other_device, "box-a", WINDOWS_FIREFOX)
    html = text(english.get("/account/devices"))
    assert "Chrome / Android" in html and "Firefox / Windows" in html
    assert html.count("This device") == 1
    this = re.search(r'<li class="action current-device">(.*?)</li>', html, re.S).group(1)
    assert "Chrome / Android" in this
    assert "a scanning device" in this


def test_the_menu_of_every_role_leads_to_the_devices_page(world, auth, client):
    for username in ("admin1", "coord-a", "issuer-a", "box-a"):
        auth.login(username)
        html = text(client.get("/", follow_redirects=True))
        assert 'href="/account/devices"' in html, username
        auth.logout()


def test_ending_another_device_from_the_list_signs_it_out(world, auth, english, other_device):
    auth.login("issuer-a")
    Auth(other_device).login("issuer-a")
    _, other = sessions_of("issuer-a")
    response = post(english, f"/account/devices/{other.id}/end")
    assert response.status_code == 302
    assert "The device was signed out." in text(english.get("/account/devices"))
    assert other_device.get("/cards/new").status_code == 302
    assert english.get("/cards/new").status_code == 200
    assert [s.ended_reason for s in sessions_of("issuer-a")] == [None, "ended"]


def test_ending_this_device_from_the_list_logs_out(world, auth, client):
    auth.login("issuer-a")
    [this] = sessions_of("issuer-a")
    response = post(client, f"/account/devices/{this.id}/end")
    assert response.headers["Location"] == "/login"
    assert client.get("/cards/new").status_code == 302


def test_a_device_of_another_account_cannot_be_ended_from_ones_own_list(world, auth, client,
                                                                        other_device):
    Auth(other_device).login("coord-b")
    [theirs] = sessions_of("coord-b")
    auth.login("coord-a")
    assert post(client, f"/account/devices/{theirs.id}/end").status_code == 404
    assert opens_management(other_device)


def test_signing_out_all_other_devices_keeps_this_one(world, app, auth, client):
    auth.login("coord-a")
    others = [app.test_client() for _ in range(2)]
    for device in others:
        Auth(device).login("coord-a")
    post(client, "/account/devices/end-others")
    assert opens_management(client)
    assert not any(opens_management(device) for device in others)


# A manager ends the devices of an account


def test_a_coordinator_ends_the_lost_phone_of_a_box_office_of_its_region(world, app, auth,
                                                                         english, other_device):
    remember_login(other_device, "box-a")
    phone = copy_of(other_device, app, "remember_token")
    auth.login("coord-a")
    box = world.users["boxoffice"]
    page = text(english.get(f"/manage/staff/{box.id}/edit"))
    assert "Signed-in devices" in page and "Chrome / Android" in page
    [row] = sessions_of("box-a")
    response = post(english, f"/manage/staff/{box.id}/devices/{row.id}/end")
    assert response.status_code == 302
    assert not opens_scanner(other_device, world.theatre.id)
    assert not opens_scanner(phone, world.theatre.id)
    db.session.rollback()
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "user.devices_end"))
    assert (event.actor_id, event.object_id, event.region_id) == (
        world.users["coordinator"].id, box.id, world.a.id)
    assert event.details == {"devices_ended": 1}
    assert "Signed-in devices of a staff account ended" in text(english.get("/manage/audit"))


@pytest.fixture
def phone_of_region_b(world, other_device) -> StaffSession:
    """Region B's box office, signed in on its phone for good; its session row."""
    remember_login(other_device, "box-b")
    [row] = sessions_of("box-b")
    return row


def test_a_coordinator_cannot_end_the_devices_of_another_regions_account(
        world, auth, client, other_device, phone_of_region_b):
    auth.login("coord-a")
    box_b = world.users["boxoffice_b"]
    path = f"/manage/staff/{box_b.id}/devices"
    assert post(client, f"{path}/{phone_of_region_b.id}/end").status_code == 404
    assert post(client, f"{path}/end").status_code == 404
    assert client.get(f"/manage/staff/{box_b.id}/edit").status_code == 404
    assert opens_scanner(other_device, world.hall_b.id)
    assert sessions_of("box-b")[0].ended_at is None


def test_a_session_id_of_another_account_is_no_device_of_this_one(
        world, auth, client, other_device, phone_of_region_b):
    auth.login("coord-a")
    box_a = world.users["boxoffice"]
    assert post(client, f"/manage/staff/{box_a.id}/devices/{phone_of_region_b.id}/end"
                ).status_code == 404
    assert opens_scanner(other_device, world.hall_b.id)


def test_an_admin_ends_every_device_of_any_account(world, app, auth, client):
    devices = [app.test_client() for _ in range(2)]
    for device in devices:
        Auth(device).login("coord-b")
    auth.login("admin1")
    post(client, f"/manage/staff/{world.users['coordinator_b'].id}/devices/end")
    assert not any(opens_management(device) for device in devices)
    assert [s.ended_reason for s in sessions_of("coord-b")] == ["ended_by_manager"] * 2


def test_staff_other_than_managers_cannot_end_others_devices(world, auth, client, other_device):
    remember_login(other_device, "box-a")
    [row] = sessions_of("box-a")
    auth.login("issuer-a")
    box = world.users["boxoffice"]
    assert post(client, f"/manage/staff/{box.id}/devices/{row.id}/end").status_code == 403
    assert opens_scanner(other_device, world.theatre.id)


# Changes to the account


def test_a_password_reset_by_the_coordinator_ends_every_device_of_the_account(world, app, auth,
                                                                             client, other_device):
    remember_login(other_device, "box-a")
    phone = copy_of(other_device, app, "remember_token")
    auth.login("coord-a")
    response = post(client, f"/manage/staff/{world.users['boxoffice'].id}/password",
                    {"password": "a brand new password"})
    assert response.status_code == 302
    assert not opens_scanner(other_device, world.theatre.id)
    assert not opens_scanner(phone, world.theatre.id)
    assert opens_management(client)
    assert Auth(other_device).login("box-a", "a brand new password").status_code == 302


def test_a_coordinator_resetting_their_own_password_stays_signed_in_here_only(world, app, auth,
                                                                             client):
    elsewhere = app.test_client()
    Auth(elsewhere).login("coord-a")
    auth.login("coord-a")
    post(client, f"/manage/staff/{world.users['coordinator'].id}/password",
         {"password": "a brand new password"})
    assert opens_management(client)
    assert not opens_management(elsewhere)


def test_deactivating_an_account_ends_its_sessions_and_reactivating_revives_none(
        world, auth, client, other_device):
    Auth(other_device).login("issuer-a")
    auth.login("coord-a")
    issuer = world.users["issuer"]
    post(client, f"/manage/staff/{issuer.id}/active", {"active": "0", "confirmed": "1"})
    assert [s.ended_reason for s in sessions_of("issuer-a")] == ["deactivated"]
    post(client, f"/manage/staff/{issuer.id}/active", {"active": "1"})
    assert other_device.get("/cards/new").status_code == 302


def test_a_new_role_ends_the_sessions_but_a_new_venue_does_not(world, auth, client, other_device):
    remember_login(other_device, "box-a")
    auth.login("coord-a")
    box = world.users["boxoffice"]
    scope = {"username": "box-a", "region": world.a.id, "issuing_site": ""}
    post(client, f"/manage/staff/{box.id}/edit",
         {**scope, "role": "boxoffice", "venues": [str(world.theatre.id)]})
    assert opens_scanner(other_device, world.theatre.id)
    post(client, f"/manage/staff/{box.id}/edit",
         {**scope, "role": "issuer", "issuing_site": world.site_a.id, "venues": []})
    assert [s.ended_reason for s in sessions_of("box-a")] == ["role"]
    assert other_device.get("/").headers["Location"].startswith("/login")


# Lifetimes


def test_a_staff_session_ends_after_the_idle_time(world, app, auth, client):
    assert app.config["IDLE_MINUTES"] == 60
    auth.login("coord-a")
    move_back("coord-a", minutes=59)
    assert opens_management(client)
    move_back("coord-a", minutes=61)
    assert not opens_management(client)


def test_using_a_page_keeps_a_staff_session_open_beyond_the_idle_time(world, auth, client):
    auth.login("coord-a")
    for _ in range(3):  # three hours of work, a page every 40 minutes
        move_back("coord-a", minutes=40)
        assert opens_management(client)


def test_the_idle_time_comes_from_the_configuration(world, app, auth, client):
    app.config["IDLE_MINUTES"] = 10
    auth.login("coord-a")
    move_back("coord-a", minutes=11)
    assert not opens_management(client)


def test_use_is_noted_at_most_every_few_minutes_not_on_every_request(world, auth, client):
    auth.login("coord-a")
    move_back("coord-a", minutes=2)
    before = sessions_of("coord-a")[0].last_seen_at
    assert opens_management(client)
    assert sessions_of("coord-a")[0].last_seen_at == before
    move_back("coord-a", minutes=4)
    assert opens_management(client)
    assert sessions_of("coord-a")[0].last_seen_at > utcnow() - timedelta(minutes=1)


def test_finding_the_signed_in_account_costs_what_loading_it_by_id_did(world, app, client):
    remember_login(client, "box-a")
    token = client.get_cookie("remember_token").value.split("|")[0]
    box_id = world.users["boxoffice"].id
    db.session.rollback()
    db.session.expunge_all()
    with statements_sent() as by_id:  # what loading the account by its id alone costs
        db.session.get(User, box_id)
    db.session.rollback()
    db.session.expunge_all()
    with statements_sent() as count:
        user = load_user(token)
    assert user.username == "box-a"
    assert count() == by_id()
    move_back("box-a", minutes=6)
    with statements_sent() as count:
        load_user(token)
    assert count() > 1  # the time of use is noted now and then, in a transaction of its own


def test_a_remembered_scanning_device_outlives_the_idle_time(world, app, client):
    remember_login(client, "box-a")
    move_back("box-a", days=3)  # three days offline at a festival
    assert opens_scanner(client, world.theatre.id)
    assert opens_scanner(copy_of(client, app, "remember_token"), world.theatre.id)


def test_a_remembered_scanning_device_ends_after_the_remember_lifetime(world, app, client):
    assert app.config["REMEMBER_DAYS"] == 30
    remember_login(client, "box-a")
    move_back("box-a", days=29)
    assert opens_scanner(client, world.theatre.id)
    move_back("box-a", days=2)
    assert not opens_scanner(client, world.theatre.id)


def test_a_box_office_that_did_not_stay_signed_in_has_the_idle_time(world, auth, client):
    auth.login("box-a")
    move_back("box-a", minutes=61)
    assert not opens_scanner(client, world.theatre.id)


@pytest.mark.parametrize("username", ["admin1", "coord-a", "issuer-a"])
def test_only_scanning_accounts_are_remembered(world, app, client, username):
    remember_login(client, username)
    assert client.get_cookie("remember_token") is None
    assert [s.remember for s in sessions_of(username)] == [False]
    move_back(username, minutes=61)
    assert client.get("/").status_code == 302


def test_lifetimes_are_read_from_the_environment(monkeypatch, tmp_path):
    from app.config import from_environment
    settings = from_environment(str(tmp_path), {"SECRET_KEY": "x", "KAIKU_IDLE_MINUTES": "20",
                                                "KAIKU_REMEMBER_DAYS": "14"})
    assert (settings["IDLE_MINUTES"], settings["REMEMBER_DAYS"]) == (20, 14)
    assert settings["REMEMBER_COOKIE_DURATION"] == timedelta(days=14)


@pytest.mark.parametrize("value", ["0", "-5", "soon", "1.5"])
def test_a_lifetime_that_is_not_a_whole_number_stops_the_start(tmp_path, value):
    from app.config import ConfigError, from_environment
    with pytest.raises(ConfigError, match="KAIKU_IDLE_MINUTES"):
        from_environment(str(tmp_path), {"SECRET_KEY": "x", "KAIKU_IDLE_MINUTES": value})


# Rotation at login


def test_a_csrf_token_planted_before_login_is_refused_after_login(world, client):
    planted = csrf_token(client)
    response = client.post("/login", data={"username": "coord-a", "password": PASSWORD,
                                           "csrf_token": planted})
    assert response.status_code == 302
    assert client.post("/logout", data={"csrf_token": planted}).status_code == 400
    assert opens_management(client)
    fresh = csrf_token(client, "/")
    assert fresh != planted
    assert client.post("/logout", data={"csrf_token": fresh}).status_code == 302


def test_the_chosen_language_survives_the_login(world, client):
    client.get("/lang/sv")
    client.post("/login", data={"username": "coord-a", "password": PASSWORD,
                                "csrf_token": csrf_token(client)})
    assert 'lang="sv"' in text(client.get("/manage/"))


@pytest.mark.parametrize(("agent", "label"), [
    (ANDROID_CHROME, "Chrome / Android"),
    (WINDOWS_FIREFOX, "Firefox / Windows"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari / iOS"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge / Windows"),
    ("Mozilla/5.0 (Linux; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) "
     "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", "Samsung Internet / Android"),
    ("curl/8.5.0", None),
    ("", None),
    (None, None),
])
def test_a_device_is_named_by_its_browser_and_system(agent, label):
    assert device_label(agent) == label
